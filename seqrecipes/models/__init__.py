"""Model builders (wired by `seqrecipes.models.wiring`) and tools to look inside them.

Every name below is imported from its module when first used (`seqrecipes._lazy`), so that
importing a TensorFlow-free module such as `seqrecipes.models.wiring` does not import Keras.
"""

from seqrecipes import _lazy

__getattr__, __dir__, __all__ = _lazy.attach(__name__, {
    "bag": ["build_bag_classifier"],
    "nbsvm": ["build_nbsvm_classifier", "log_count_ratios"],
    "conv": ["build_conv_classifier", "dilated_conv_stack"],
    "recurrent": [
        "build_recurrent_encoder",
        "build_sequence_classifier",
        "build_sequence_regressor",
        "build_sequence_tagger",
        "input_layers",
        "recurrent_layer",
        "recurrent_stack",
    ],
    "params": ["diagnose_wiring", "explain_build_error", "parameter_table"],
    "crf": ["CRF"],
    "crf_model": ["CRFModel"],
    "tagger": ["build_ner_tagger"],
    "seq2seq": ["build_seq2seq", "build_vector_decoder", "greedy_decode", "inference_models"],
    "tag_decoding": ["CRFDecoder", "SoftmaxDecoder"],
    "language": ["build_language_model"],
    "bilm": ["BiLMFeatures", "build_bilm"],
    "stepping": ["run_recurrent", "sample_ids", "sequence_loss"],
    "embedding": ["Embedding", "token_embedding"],
    "lazy_adam": ["LazyAdam"],
})
