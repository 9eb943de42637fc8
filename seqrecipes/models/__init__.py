"""Model builders (wired by `seqrecipes.models.wiring`) and tools to look inside them."""

from seqrecipes.models.bag import build_bag_classifier
from seqrecipes.models.nbsvm import build_nbsvm_classifier, log_count_ratios
from seqrecipes.models.conv import build_conv_classifier
from seqrecipes.models.recurrent import (
    build_recurrent_encoder,
    build_sequence_classifier,
    build_sequence_regressor,
    build_sequence_tagger,
    input_layers,
    recurrent_layer,
    recurrent_stack,
)
from seqrecipes.models.params import diagnose_wiring, explain_build_error, parameter_table
from seqrecipes.models.crf import CRF
from seqrecipes.models.crf_model import CRFModel
from seqrecipes.models.tagger import build_ner_tagger
from seqrecipes.models.seq2seq import (
    build_seq2seq,
    build_vector_decoder,
    greedy_decode,
    inference_models,
)
from seqrecipes.models.tag_decoding import CRFDecoder, SoftmaxDecoder
from seqrecipes.models.language import build_language_model
from seqrecipes.models.bilm import BiLMFeatures, build_bilm
from seqrecipes.models.stepping import run_recurrent, sample_ids, sequence_loss
from seqrecipes.models.embedding import Embedding
from seqrecipes.models.lazy_adam import LazyAdam
