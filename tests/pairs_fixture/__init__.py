"""A stand-in 13th pair, registered from the test suite: ``--pairs tests.pairs_fixture.pairs``."""
