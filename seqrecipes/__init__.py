"""seqrecipes: Keras 3 recurrent and convolutional sequence models, wired right.

Builders return ready Keras models (`build_sequence_classifier`, `build_sequence_tagger`,
`build_conv_classifier`, `build_recurrent_encoder`, ...); recipes take a text file to a trained,
evaluated, saved and servable model (`seqrecipes <recipe> --help`).
"""

__version__ = "0.1.0"

import os  # noqa: E402

# TensorFlow's C++ start-up notices (oneDNN, CUDA probing) are noise for our users; set before
# TensorFlow is first imported, and only if the user has not chosen a level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from seqrecipes.errors import (  # noqa: E402
    DataError,
    DataFileNotFoundError,
    InvalidArgumentError,
    MissingDependencyError,
    RunDirectoryError,
    SeqrecipesError,
)
from seqrecipes.models import (  # noqa: E402
    build_bag_classifier,
    build_conv_classifier,
    build_nbsvm_classifier,
    build_recurrent_encoder,
    build_sequence_classifier,
    build_sequence_regressor,
    build_sequence_tagger,
    diagnose_wiring,
    parameter_table,
)
