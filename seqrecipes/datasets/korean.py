"""Korean tokenisation for the readers and vocabularies: `seqrecipes.portable.korean`.

The kiwipiepy morphemes run before the model at training and at serving time alike, so they
live with the TensorFlow-free reader of exports (`seqrecipes.portable`, the package's bottom
layer) and are re-exported here, where training code has always found them.
"""

from seqrecipes.portable.korean import (  # noqa: F401 (re-exported)
    KOREAN_INSTALL,
    KOREAN_TOKENIZERS,
    KOREAN_VECTORIZER_OPTIONS,
    MORPHEME_TOKENIZERS,
    SPACE_TOKEN,
    characters_and_morphemes,
    import_kiwipiepy,
    kiwipiepy_installed,
    pretokenize_korean,
    tokenize_korean,
)
