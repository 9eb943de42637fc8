"""The flags every recipe's `explain` command shares (integrated gradients, --html, --png)."""


def add_attribution_flags(parser, *, what):
    """--baseline --steps --max-steps --tolerance --html --png: shared by every `explain`."""
    group = parser.add_argument_group("integrated gradients")
    group.add_argument("--baseline", default="padding",
                       help="padding (the padding embedding at every position) or zeros")
    group.add_argument("--steps", type=int, default=32,
                       help="path steps to start with; doubled while the completeness error "
                       "is over --tolerance")
    group.add_argument("--max-steps", type=int, default=1024)
    group.add_argument("--tolerance", type=float, default=0.01,
                       help="completeness error to reach: |sum of attributions - (F(x) - "
                       "F(baseline))| / |F(x) - F(baseline)|")
    output = parser.add_argument_group("output")
    output.add_argument("--html", default=None, metavar="FILE",
                        help=f"also write a page with the {what} coloured by attribution")
    output.add_argument("--png", default=None, metavar="FILE",
                        help=f"also write a picture of the {what} (with --top: a bar chart)")
    return group


def options(args):
    """The `explain` keyword arguments of the shared flags."""
    return dict(baseline=args.baseline, steps=args.steps, max_steps=args.max_steps,
                tolerance=args.tolerance)
