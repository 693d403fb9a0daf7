"""How it is measured: parity before timing (``parity``), the timing worker (``worker``, ``worker_client``),
the one measurement engine (``engine/``), memory (``memory``), physical references and floors
(``physical``, ``floors``), Criterion (``criterion``), the machine (``environment``) and the bench run that
puts them together (``bench``), and the noisy neighbour (``neighbour``). Everything here returns values of
``harness.results``; nothing writes reports."""
