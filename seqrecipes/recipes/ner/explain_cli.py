"""`seqrecipes ner explain RUN [SENTENCE ...]`: flags onto `ner.explain`.

No logic beyond reading the sentences and writing what was asked for; TensorFlow is imported
only when the command runs (never for `--help`).
"""

from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.engine.explain_flags import add_attribution_flags, options

KEYS = ("text", "tags", "explained", "score", "baseline_score", "tokens", "completeness_error",
        "steps", "baseline")


def add_explain_parser(commands):
    parser = commands.add_parser(
        "explain", help="which words made each entity or tag (integrated gradients)",
        description="One JSON line per predicted entity (or per sentence with --token): each "
        "token, its attribution to the entity's span score (the sum of its tokens' tag "
        "scores) and the completeness error. Sentences come from the arguments, else from "
        "--file FILE, else from standard input.",
    )
    _cli.add_predict_arguments(parser, what="sentences", metavar="SENTENCE")  # as `predict`
    parser.add_argument("--tokenized", action="store_true",
                        help="each sentence is a JSON list of tokens")
    parser.add_argument("--entity", type=int, default=None, metavar="K",
                        help="explain only the K-th entity of each sentence (0: the first)")
    parser.add_argument("--token", type=int, default=None, metavar="I",
                        help="explain the tag of the I-th token (0: the first) instead")
    parser.add_argument("--tag", default=None,
                        help="with --token: the tag to explain (default: the predicted one)")
    add_attribution_flags(parser, what="sentences")
    parser.set_defaults(func=_explain)
    return parser


def _explain(args):
    from seqrecipes.recipes import ner
    from seqrecipes.recipes.engine import explanations as _views
    from seqrecipes.recipes.ner.sentences import read_sentences

    sentences = read_sentences(args)
    rows = ner.explain(args.run_dir, sentences, entity=args.entity, token=args.token,
                       tag=args.tag, **options(args))
    _views.print_json_lines(rows, KEYS)
    if args.html:
        _views.write_html(args.html, rows, title=f"NER explanations: {args.run_dir}")
    if args.png:
        _views.write_png(args.png, rows)
    return 0
