"""`python -m seqrecipes` is the `seqrecipes` command."""

import sys

from seqrecipes.cli import main

sys.exit(main())
