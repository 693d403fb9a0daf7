"""Change points across runs: ``series`` (the sources), ``changes`` (the steps), ``outputs``, ``cli``."""
