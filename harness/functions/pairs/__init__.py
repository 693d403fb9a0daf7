"""Pair declarations: one module per function group of ``harness.functions.reference``, each with ``PAIRS``.

``declaration`` holds the declaration types, ``workload_types`` what a workload is and its scratch data;
``harness.functions.registry`` collects the pairs (docs/pairs.md: declaring a pair of your own).
"""
