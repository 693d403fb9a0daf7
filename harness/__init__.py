"""skybench: the benchmark and telemetry harness for the sky_rs Rust port of 12 SkyPilot functions."""

__all__: list[str] = []
