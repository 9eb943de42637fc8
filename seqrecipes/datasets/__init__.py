"""Readers, vocabularies, input pipelines and the embedded sample datasets.

Every name below is imported from its module when first used (`seqrecipes._lazy`), so that
importing a TensorFlow-free module such as `seqrecipes.datasets.tabular` does not import
TensorFlow.
"""

from seqrecipes import _lazy

__getattr__, __dir__, __all__ = _lazy.attach(__name__, {
    "_samples": ["sample_names", "sample_path"],
    "conll": ["TaggedSentences", "load_conll"],
    "tabular": ["LabelledTexts", "load_table"],
    "text": ["load_series", "load_text", "split_text"],
    "series": ["chronological_split", "regime_sequences", "sliding_windows"],
    "bucketing": ["bucket_boundaries"],
    "encoding": [
        "encode_characters", "encode_sentences", "encode_tags", "encode_texts", "encode_tokens",
    ],
    "korean": [
        "KOREAN_TOKENIZERS", "KOREAN_VECTORIZER_OPTIONS", "pretokenize_korean", "tokenize_korean",
    ],
    "pipeline": [
        "classification_dataset", "language_model_dataset", "predict_in_order", "tagging_dataset",
    ],
    "streaming": [
        "StreamScan", "iter_labelled_texts", "scan_labelled_files",
        "stream_classification_dataset",
    ],
    "string_input": ["CharacterIds", "Lowercase", "with_text_input", "with_token_input"],
    "vocab": [
        "OOV_ID", "OOV_TOKEN", "PAD_ID", "PAD_TOKEN", "build_char_lookup", "build_tag_lookup",
        "build_text_vectorizer", "build_token_lookup", "decode_tags", "lower_and_split_scripts",
        "text_vectorizer_from_file",
    ],
    "word_vectors": [
        "WordVectors", "check_dimension", "coverage_line", "load_word_vectors", "token_counts",
        "vectors_for_vocabulary",
    ],
})
