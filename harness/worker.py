"""``python -m harness.worker``: the timing worker's entry point (docs/interfaces.md, section 4).

The worker lives in ``harness.measure.worker``; this name stays because it is part of the protocol: the gate
starts ``python -m harness.worker`` in the tree of every build it compares, older commits included, and
checks a base commit for this file (``harness.gate.build.WORKER_MODULE_PATH``).
"""

from harness.measure.worker import main

if __name__ == "__main__":
    raise SystemExit(main())
