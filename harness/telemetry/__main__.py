"""``python -m harness.telemetry publish RUN_DIR``: an entry point, like ``python -m harness``."""

import sys

from harness.commands.publish import main

sys.exit(main())
