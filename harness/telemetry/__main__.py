"""``python -m harness.telemetry publish RUN_DIR``."""

import sys

from harness.telemetry.cli import main

sys.exit(main())
