"""Readers, vocabularies, input pipelines and the embedded sample datasets."""

from seqrecipes.datasets.bucketing import bucket_boundaries  # noqa: E402
from seqrecipes.datasets.encoding import (  # noqa: E402
    encode_characters,
    encode_sentences,
    encode_tags,
    encode_texts,
    encode_tokens,
)
from seqrecipes.datasets.korean import (  # noqa: E402
    KOREAN_TOKENIZERS,
    KOREAN_VECTORIZER_OPTIONS,
    pretokenize_korean,
    tokenize_korean,
)
from seqrecipes.datasets.pipeline import (  # noqa: E402
    classification_dataset,
    language_model_dataset,
    predict_in_order,
    tagging_dataset,
)
from seqrecipes.datasets.streaming import (  # noqa: E402
    iter_labelled_texts,
    stream_classification_dataset,
)
from seqrecipes.datasets.string_input import (  # noqa: E402
    CharacterIds,
    with_text_input,
    with_token_input,
)
from seqrecipes.datasets.vocab import (  # noqa: E402
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
)
