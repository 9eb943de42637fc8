"""`seqrecipes sentiment explain RUN [TEXT ...]`: flags onto `explain` and `top_tokens`.

No logic beyond reading the texts and writing what was asked for; TensorFlow is imported
only when the command runs (never for `--help`).
"""

from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.engine.explain_flags import add_attribution_flags, options

KEYS = ("text", "label", "probability", "explained", "explained_probability",
        "baseline_probability", "tokens", "ngrams", "completeness_error", "steps", "baseline")


def add_explain_parser(commands):
    parser = commands.add_parser(
        "explain", help="which words made each prediction (integrated gradients)",
        description="One JSON line per text: each token, its attribution to the probability "
        "of the predicted class, and the completeness error. Texts come from the arguments, "
        "else from --file, else from stdin, one per line. With --top N: the n-grams or words "
        "with the largest mean attribution per class over a sample of the training texts "
        "(or over the texts given).",
    )
    _cli.add_predict_arguments(parser)  # RUN_DIR [TEXT ...] [--file F], as `predict`
    parser.add_argument("--target", default=None,
                        help="the class to explain (default: each text's predicted class)")
    parser.add_argument("--top", type=int, default=None, metavar="N",
                        help="global view: the N tokens with the largest mean attribution "
                        "per class")
    parser.add_argument("--sample", type=int, default=200,
                        help="--top without texts: training texts drawn to average over")
    add_attribution_flags(parser, what="texts")
    parser.set_defaults(func=_explain)
    return parser


def _explain(args):
    from seqrecipes.errors import DataError
    from seqrecipes.recipes import sentiment as api
    from seqrecipes.recipes.engine import explanations as _views
    from seqrecipes.recipes.sentiment import explanation as _explanation

    run = api.load(args.run_dir)
    if args.top is not None:
        texts = None
        if args.texts or args.file is not None:
            texts, _ = _cli.read_texts(args)
        table, _ = _explanation.top_tokens(run, args.top, texts=texts, sample=args.sample,
                                             **options(args))
        print(_views.top_table_text(table))
        if args.png:
            _views.write_top_png(args.png, table)
        return 0
    texts, source = _cli.read_texts(args)
    if not texts:
        raise DataError(f"No texts to explain: {source} held none. Give texts as arguments, "
                        "with `file`, or on standard input, one per line.")
    rows = run.explain(texts, target=args.target, **options(args))
    _views.print_json_lines(rows, KEYS)
    if args.html:
        _views.write_html(args.html, rows, title=f"Sentiment explanations: {args.run_dir}")
    if args.png:
        _views.write_png(args.png, rows)
    return 0
