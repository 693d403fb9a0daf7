"""``experiment``: does the gate catch a known slowdown, and does it stay quiet on identical builds?

A scratch worktree of HEAD gets a delay inserted at the top of each target function, on the Python
reference (N lines of ``_n = _n``: no call, no allocation) or in the Rust ``#[pyfunction]`` (a ``black_box``
countdown). N is sized by measuring: a first guess from one step's cost is built, timed against the clean
build and corrected until the target's measured change is within 10% of the aim (``size_iterations``).
All targets (default: a ~1 us and a ~100 us function) are slowed in the same build, so every run gives one
detection sample per target. The gate's own measurement and statistics then compare the clean build (base)
with the patched one (candidate), exactly as ``gate --against`` would:

* A/A runs (clean against clean) count false alarms: runs where any timing comparison regressed; they also
  make a calibration (``calibration.json``, what ``calibrate`` would write from the same runs);
* injected runs count detections (the target comparison regressed) and false alarms elsewhere (a function
  that was not patched regressed; a patched function's other workloads are slower for real).

``--instructions`` runs the instruction-count version: two callgrind counts of the clean build (A/A: must
agree), then a patch sized to add ``--instruction-change`` (default 2%) to the target's instructions.

Results go to ``reports/experiments/<UTC time>/``: ``results.csv``, ``results.md`` and ``runs.jsonl``.

The package by job: ``options`` (what to run, the result rows), ``patch`` (the injected slowdown),
``sizing`` (how many loop steps make the aimed slowdown), ``runs`` (A/A and injected runs, the
instruction-count version in ``instructions``) and ``outputs`` (results.csv, results.md, runs.jsonl). The
command line is ``harness.commands.experiment``.
"""
