"""What every recipe shares: resumable training (`training`; its Keras callbacks, the progress
bar among them, in `callbacks`), run directories written atomically (`artifacts`),
tf.distribute strategies and Keras's distribution on JAX (`strategy`), the Keras backend of a
command (`backend`), the flags every subcommand spells the same way
(`flags`), figures (`plots`), text-classification splits and metrics (`classification`),
`word_vectors` files in a recipe (`word_vectors`) and greedy decoding for the generating
recipes (`decoding`)."""
