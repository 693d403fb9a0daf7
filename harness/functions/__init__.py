"""What is measured: the Python reference (``reference/``), the dispatching wrapper SkyPilot calls
(``fallback``), the pair declarations with their workloads and parity rules (``pairs/``), the registry that
collects them (``registry``) and the claims (``claims``, ``data/claims.csv``)."""
