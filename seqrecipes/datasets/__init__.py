"""Readers, vocabularies, input pipelines and the embedded sample datasets."""

from seqrecipes.datasets._samples import sample_names, sample_path
from seqrecipes.datasets.conll import TaggedSentences, load_conll
from seqrecipes.datasets.tabular import LabelledTexts, load_table
from seqrecipes.datasets.text import load_series, load_text, split_text
from seqrecipes.datasets.series import chronological_split, regime_sequences, sliding_windows
from seqrecipes.datasets.bucketing import bucket_boundaries
from seqrecipes.datasets.encoding import (
    encode_characters,
    encode_sentences,
    encode_tags,
    encode_texts,
    encode_tokens,
)
from seqrecipes.datasets.korean import (
    KOREAN_TOKENIZERS,
    KOREAN_VECTORIZER_OPTIONS,
    pretokenize_korean,
    tokenize_korean,
)
from seqrecipes.datasets.pipeline import (
    classification_dataset,
    language_model_dataset,
    predict_in_order,
    tagging_dataset,
)
from seqrecipes.datasets.streaming import (
    StreamScan,
    iter_labelled_texts,
    scan_labelled_files,
    stream_classification_dataset,
)
from seqrecipes.datasets.string_input import (
    CharacterIds,
    Lowercase,
    with_text_input,
    with_token_input,
)
from seqrecipes.datasets.vocab import (
    OOV_ID,
    OOV_TOKEN,
    PAD_ID,
    PAD_TOKEN,
    build_char_lookup,
    build_tag_lookup,
    build_text_vectorizer,
    build_token_lookup,
    decode_tags,
    lower_and_split_scripts,
    text_vectorizer_from_file,
)
