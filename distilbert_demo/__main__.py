"""`python -m distilbert_demo ...`: see distilbert_demo/cli.py."""

import sys

from .cli import main

sys.exit(main())
