"""seqrecipes: Keras 3 recurrent and convolutional sequence models, wired right.

Builders return ready Keras models (`build_sequence_classifier`, `build_sequence_tagger`,
`build_conv_classifier`, `build_recurrent_encoder`, ...); recipes take a text file to a trained,
evaluated, saved and servable model (`seqrecipes <recipe> --help`).

The names below are imported when first used (`seqrecipes._lazy`): `import seqrecipes` and
`seqrecipes --help` do not import TensorFlow.
"""

__version__ = "0.1.0"

import os  # noqa: E402

from seqrecipes import _lazy  # noqa: E402

# TensorFlow's C++ start-up notices (oneDNN, CUDA probing) are noise for our users; set before
# TensorFlow is first imported, and only if the user has not chosen a level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__getattr__, __dir__, __all__ = _lazy.attach(__name__, {
    "errors": [
        "DataError",
        "DataFileNotFoundError",
        "InvalidArgumentError",
        "MissingDependencyError",
        "RunDirectoryError",
        "SeqrecipesError",
    ],
    "models": [
        "build_bag_classifier",
        "build_conv_classifier",
        "build_nbsvm_classifier",
        "build_recurrent_encoder",
        "build_sequence_classifier",
        "build_sequence_regressor",
        "build_sequence_tagger",
        "diagnose_wiring",
        "parameter_table",
    ],
})
