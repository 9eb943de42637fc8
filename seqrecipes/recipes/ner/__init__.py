"""Named-entity recognition: CoNLL files -> BiLSTM-CRF tagger -> entity F1 -> entity spans.

    seqrecipes ner train      [--train FILE --dev FILE --test FILE] [model and training flags]
    seqrecipes ner evaluate   RUN DATA
    seqrecipes ner predict    RUN "Ada Lovelace visited Paris ."   (no text: standard input)
    seqrecipes ner export     RUN DIR [--overwrite] [--format savedmodel|onnx|litert]

The package's files, one role each: `training` (read, build, fit, evaluate, save: `train`),
`data` (CoNLL files, dev split, vocabularies), `documents` (sentences of a document read
together), `entities` (seqeval metrics; sentences to tokens and tags to entity spans come
from `seqrecipes.portable.ner_spans`, shared with the portable reader), `seen` (the scores of
the entities seen and unseen in training), `tagger` (the string-in, tags-out model a run
holds, and its split for ONNX / LiteRT), `serve` (`evaluate`, `predict`, `export` on a run
directory), `cli` (flags).
"""

from seqrecipes.recipes.ner.serve import DEFAULT_RUN_DIR, RECIPE, evaluate, export, predict
from seqrecipes.recipes.ner.training import run



def explain(run_dir, sentences, **options):
    """Which words made each entity or tag: see `seqrecipes.recipes.ner.explanation.explain`."""
    from seqrecipes.recipes.ner import explanation as _explanation

    return _explanation.explain(run_dir, sentences, **options)


train = run  # every recipe's training entry point is `train`; `run` is kept as its alias

__all__ = ["DEFAULT_RUN_DIR", "RECIPE", "evaluate", "explain", "export", "predict", "run", "train"]
