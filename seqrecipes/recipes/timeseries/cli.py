"""`seqrecipes timeseries train | export`: flags onto `timeseries.train` (its signature holds the
defaults) and `timeseries.export`."""

from seqrecipes.models import wiring
from seqrecipes.recipes import timeseries
from seqrecipes.recipes.engine import flags as _cli


def add_parser(subparsers):
    """Declares `seqrecipes timeseries train` and `export`."""
    parser = subparsers.add_parser(
        "timeseries", help="next-value regression on a CSV column, or frame labelling",
        description=timeseries.__doc__.split("\n\n")[0],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train = commands.add_parser("train", help="train, evaluate on the test part, write a run",
                                description=timeseries.run.__doc__.split("\n\n")[0])
    group = train.add_argument_group("task, data and model")
    group.add_argument("--task", default="regression", choices=timeseries.TASKS)
    group.add_argument("--data", default=None,
                       help="regression: CSV/TSV with a header (default: the embedded daily series)")
    group.add_argument("--column", default=None,
                       help="regression: the numeric column (default: value)")
    group.add_argument("--format", default=None, choices=timeseries.FORMATS,
                       help="regression; auto (the default): the dialect from the file's name "
                       "(.csv, .tsv), else its header")
    group.add_argument("--window", type=int, default=None,
                       help="regression: values per input window (default: 30)")
    group.add_argument("--horizon", type=int, default=None,
                       help="regression: steps ahead (default: 1, the next value)")
    group.add_argument("--validation-fraction", type=float, default=None,
                       help="regression (default: 0.15)")
    group.add_argument("--test-fraction", type=float, default=None,
                       help="regression (default: 0.15)")
    group.add_argument("--train-sequences", type=int, default=None,
                       help="labelling (default: 800)")
    group.add_argument("--validation-sequences", type=int, default=None,
                       help="labelling (default: 100)")
    group.add_argument("--test-sequences", type=int, default=None,
                       help="labelling (default: 100)")
    group.add_argument("--sequence-steps", type=int, default=None,
                       help="labelling (default: 100)")
    group.add_argument("--cell", default="lstm", choices=wiring.CELLS)
    group.add_argument("--units", type=int, nargs="+", default=[32])
    group.add_argument("--dropout", type=float, default=0.0)
    _cli.add_training_flags(train, default_run_dir="runs/timeseries", epochs=30,
                            batch_size=32, learning_rate=0.003, patience=5,
                            backend=_cli.DEFAULT_BACKENDS["timeseries"])

    _cli.bind(train, timeseries.train)

    export = commands.add_parser(
        "export", help="raw values in, the series' units out: a SavedModel, or an ONNX / "
        "LiteRT graph for seqrecipes.portable (--format)")
    _cli.add_export_arguments(export)
    export.set_defaults(func=_export)
    return parser


def _export(args):
    path = timeseries.export(args.run_dir, args.export_dir, overwrite=args.overwrite,
                             format=args.format)
    if args.format == "savedmodel":
        print(f"SavedModel written to {path}; serve() takes raw float values. Load it with "
              f"tf.saved_model.load({str(path)!r}).serve(tf.constant([[...]])).")
    else:
        print(f"{args.format} export written to {path}; serve raw values without TensorFlow "
              f"with seqrecipes.portable.load({str(path)!r}).predict([[...]]).")
    return 0
