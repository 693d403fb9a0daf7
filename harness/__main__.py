"""``python -m harness``: the skybench command line."""

import sys

from harness.cli import main

sys.exit(main())
