"""`seqrecipes vectors train | predict`: flags onto `vectors.train` (its signature holds the
defaults) and `vectors.predict`."""

import argparse
import sys

from seqrecipes.recipes import vectors
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.vectors import data as _data


def add_parser(subparsers):
    """Declares `seqrecipes vectors train` and `predict`."""
    parser = subparsers.add_parser(
        "vectors", help="word2vec / fastText word vectors on your own text, for --word-vectors",
        description=vectors.__doc__.split("\n\n")[0],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _train_parser(commands)
    predict = commands.add_parser(
        "predict", help="the nearest words of each WORD, by cosine similarity",
        description="Print each WORD's nearest words: WORD, then `neighbour similarity` "
        "pairs, tab-separated. A word is looked up as given, then lower-cased; a fastText run "
        "also answers for words it never saw (from their character n-grams).")
    _cli.add_predict_arguments(predict, what="words", metavar="WORD")
    predict.add_argument("--topn", type=int, default=10, help="neighbours per word")
    _cli.add_quiet_flag(predict)
    predict.set_defaults(func=_predict, serving_backend=None)  # gensim: no Keras to choose for
    return parser


def _train_parser(commands):
    train = commands.add_parser(
        "train", help="train vectors on unlabelled text and write a run directory",
        description=vectors.train.__doc__.split("\n\n")[0])
    data = train.add_argument_group("data")
    data.add_argument("--data", nargs="+", default=None, metavar="FILE",
                      help="unlabelled text, concatenated in order: plain text (one text per "
                      "line), CSV/TSV with a header, or CoNLL column files; compressed files "
                      "and glob patterns too (none: the embedded sentiment sample of "
                      "--language)")
    data.add_argument("--format", choices=_data.FORMATS,
                      help="auto: per file, from its name (.csv, .tsv, .conll), else its first "
                      "line (-DOCSTART-: CoNLL; a header naming a text column: a table), else "
                      "plain text; the summary says which")
    data.add_argument("--text-column", default=None,
                      help="tables: the text column (none: text, document, sentence or "
                      "review, as sentiment train); labels are never read")
    data.add_argument("--token-column", type=int, default=None,
                      help="CoNLL files: the token column (none: 0)")
    _cli.add_delimiter_flag(data, default_help="whitespace (CoNLL files)")
    tokens = train.add_argument_group("tokens (as the recipes make them)")
    tokens.add_argument("--language", choices=_data.LANGUAGES,
                        help="the sentiment tokenizers of this language")
    tokens.add_argument("--tokenizer", default=None,
                        help="text and tables: a sentiment tokenizer, so the words are the "
                        "sentiment vocabulary's. en: words; ko: syllables, scripts, morphemes, "
                        "morpheme_tags, syllables_and_morphemes (none: sentiment's default, "
                        "words / syllables_and_morphemes, or syllables without kiwipiepy)")
    tokens.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=None,
                        help="CoNLL files: lower-case the tokens, as ner train does by default "
                        "(its --lowercase); none: lower-case")
    model = train.add_argument_group("vectors (gensim)")
    model.add_argument("--algorithm", choices=vectors.ALGORITHMS,
                       help="word2vec: a vector per word; fasttext: also character n-grams, "
                       "which give any word a vector (vectors.bin)")
    model.add_argument("--architecture", choices=vectors.ARCHITECTURES,
                       help="skipgram: better for rare words; cbow: faster")
    model.add_argument("--embedding-dim", "--dim", dest="embedding_dim", type=int,
                       help="dimensions per vector: give the same --embedding-dim to the "
                       "recipe that reads them")
    model.add_argument("--window", type=int, help="context words on each side")
    model.add_argument("--min-count", type=int,
                       help="words seen fewer times get no vector of their own")
    model.add_argument("--min-n", type=int, default=None,
                       help="fasttext: shortest character n-gram (none: 3)")
    model.add_argument("--max-n", type=int, default=None,
                       help="fasttext: longest character n-gram (none: 6)")
    model.add_argument("--buckets", type=int, default=None,
                       help="fasttext: hash buckets of the character n-grams; vectors.bin "
                       "holds buckets x --embedding-dim floats (none: 2,000,000, fastText's: "
                       "800 MB at 100 dimensions)")
    model.add_argument("--workers", type=int,
                       help="gensim threads; only 1 gives the same vectors for the same seed")
    run = train.add_argument_group("run")
    run.add_argument("--run-dir", help="where the run is written")
    run.add_argument("--overwrite", action="store_true",
                     help="replace a complete run already in --run-dir")
    run.add_argument("--epochs", type=int, help="passes over the corpus")
    run.add_argument("--seed", type=int, help="seeds gensim: same seed (one worker), same vectors")
    run.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                     help="0 and 1: the summary; 2: gensim's log too")
    _cli.add_quiet_flag(run)
    _cli.bind(train, vectors.train)


def _predict(args):
    with _cli.quiet_if(args.quiet):
        words, source = _cli.read_texts(args, what="words")
        _cli.require_texts(words, source, what="words")
        results = vectors.predict(args.run_dir, words, topn=args.topn)
        for result in results:
            print("\t".join([result.word, *(f"{other} {similarity:.3f}"
                                           for other, similarity in result.neighbours)]))
    missing = [result.word for result in results if result.key is None]
    built = [result.word for result in results if result.from_subwords]
    if built:
        print(f"{len(built)} of {len(results)} words are not in the vocabulary; their vectors "
              f"come from character n-grams: {', '.join(map(repr, built[:10]))}",
              file=sys.stderr)
    if missing:
        print(f"{len(missing)} of {len(results)} words have no vector (not in the vocabulary, "
              f"as given or lower-cased; a fastText run would build one): "
              f"{', '.join(map(repr, missing[:10]))}", file=sys.stderr)
    return 0
