"""Where results go: the run folder (``run_folder``), report.md and report.html (``report*``), charts,
baselines and the shared number formats (``formatting``). Telemetry (Prometheus, StatsD) is
``harness.telemetry``, one layer below: the run folder hands it the run."""
