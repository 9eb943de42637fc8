"""The string options of the builders, without Keras: the command line lists them in `--help`.

Cells and merge modes are `wiring.CELLS` / `wiring.MERGE_MODES` (also free of Keras); the
names here belong to a builder each and are re-read by it from this module.
"""

POOLINGS = ("last", "mean", "max")  # build_sequence_classifier's `pooling`
CHAR_FEATURES = ("cnn", "lstm")  # build_ner_tagger's `char_features` (CharacterEncoder)
ENCODERS = ("rnn", "cnn")  # build_ner_tagger's `encoder`: recurrent layers or dilated convolutions
