"""The bench times the fallback as a third side, in the same rounds as Rust and Python."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import harness.measure.bench
import harness.measure.engine
from harness.functions import fallback
from harness.functions.registry import DEFAULT_MODULES
from harness.measure.bench import (
    FALLBACK_SIDE,
    PRODUCTION_SPEEDUP_RATIO,
    PYTHON_SIDE,
    RUST_SIDE,
    SPEEDUP_RATIO,
    run_bench,
)
from harness.measure.engine import Matchup, MatchupMemory, SideAllocations
from harness.results import Impl, MemorySample
from harness.stats import paired_difference_ns, paired_speedup

from .conftest import TINY_PLAN, tiny_options


def test_a_routed_pair_has_three_sides_paired_by_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sky_rs")
    seen: list[Matchup] = []
    real = harness.measure.engine.measure_rounds

    def recording(pool, matchups, plan, seed=0):  # type: ignore[no-untyped-def]
        seen.extend(matchups)
        return real(pool, matchups, plan, seed=seed)

    monkeypatch.setattr(harness.measure.bench, "measure_rounds", recording)
    options = replace(tiny_options(tmp_path, only=("format_float",)), modules=dict(DEFAULT_MODULES))
    run = run_bench(options)
    assert run.pairs, run.not_comparable
    pair_matchups = [matchup for matchup in seen if matchup.function == "format_float"]
    assert all(matchup.sides == (RUST_SIDE, PYTHON_SIDE, FALLBACK_SIDE) for matchup in pair_matchups)
    assert all(matchup.stop_on == (SPEEDUP_RATIO, PRODUCTION_SPEEDUP_RATIO) for matchup in pair_matchups)
    # the call floor has no fallback: two sides only
    assert all(len(matchup.sides) == 2 for matchup in seen if matchup.function == "_noop")
    for pair in run.pairs:
        assert pair.fallback is not None and pair.fallback.impl is Impl.FALLBACK
        assert len(pair.fallback.values_ns) == len(pair.rust.values_ns) == TINY_PLAN.max_rounds
        resamples = TINY_PLAN.bootstrap_resamples
        expected = paired_speedup(pair.python.values_ns, pair.fallback.values_ns, options.seed, resamples)
        assert pair.production_speedup == expected
        overhead = paired_difference_ns(pair.fallback.values_ns, pair.rust.values_ns, options.seed, resamples)
        assert pair.dispatch_overhead == overhead


def test_no_fallback_side_when_told_not_to(tmp_path: Path) -> None:
    options = replace(tiny_options(tmp_path, only=("format_float",)), fallback=False)
    run = run_bench(options)
    assert run.pairs
    assert all(pair.fallback is None and pair.production_speedup is None for pair in run.pairs)


def _fake_memory(pool, matchups, plan, *, peak_rss=False):  # type: ignore[no-untyped-def]
    """Every side its own figures (Rust 100, Python 900, fallback 140 bytes): a copy shows as a mismatch."""
    figures = {Impl.RUST: 100.0, Impl.PYTHON: 900.0, Impl.FALLBACK: 140.0}
    return [
        MatchupMemory(
            matchup,
            {
                side: SideAllocations(
                    (figures[side.impl],), (figures[side.impl] / 50,), 4096 if peak_rss else None
                )
                for side in matchup.sides
            },
        )
        for matchup in matchups
    ]


def test_the_fallback_has_a_memory_pass_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.measure.bench, "measure_memory", _fake_memory)
    options = replace(tiny_options(tmp_path, only=("format_float",)), memory=True)
    run = run_bench(options)
    assert run.pairs, run.not_comparable
    for pair in run.pairs:
        memory = pair.fallback_memory
        assert memory is not None, "the fallback's memory is missing"
        assert memory.impl is Impl.FALLBACK and memory.workload == pair.workload
        assert memory.alloc_bytes_per_call == 140.0 and memory.allocs_per_call == 2.8  # not Rust's 100
        assert pair.rust_memory is not None and pair.rust_memory.alloc_bytes_per_call == 100.0


def test_no_fallback_memory_without_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.measure.bench, "measure_memory", _fake_memory)
    options = replace(tiny_options(tmp_path, only=("format_float",)), memory=True, fallback=False)
    run = run_bench(options)
    assert run.pairs and all(pair.fallback_memory is None for pair in run.pairs)
    assert all(pair.rust_memory is not None for pair in run.pairs)


def _measured_memory(tmp_path: Path) -> list[tuple[MemorySample, MemorySample, MemorySample]]:
    """(Rust, Python, fallback) memory of each base36_encode pair of a tiny real bench with memray."""
    options = replace(
        tiny_options(tmp_path, only=("base36_encode",)), modules=dict(DEFAULT_MODULES), memory=True
    )
    run = run_bench(options)
    assert run.pairs, run.not_comparable
    measured = []
    for pair in run.pairs:
        rust, python, routed = pair.rust_memory, pair.python_memory, pair.fallback_memory
        assert rust is not None and python is not None and routed is not None, pair
        measured.append((rust, python, routed))
    return measured


def test_the_fallback_allocates_about_what_rust_does(tmp_path: Path) -> None:
    # Measured for real (memray in the worker): the fallback runs Rust for these exact argument types, so it
    # allocates Rust's bytes plus its dispatch's, far from Python's; a copy of Rust's figures would be equal.
    pytest.importorskip("sky_rs")
    for rust, python, routed in _measured_memory(tmp_path):
        assert routed.impl is Impl.FALLBACK
        assert routed.alloc_bytes_per_call < python.alloc_bytes_per_call / 2, (rust, python, routed)
        assert abs(routed.alloc_bytes_per_call - rust.alloc_bytes_per_call) < 256, (rust, routed)


def test_a_fallback_workload_call_is_built_for_the_peak_rss_process(tmp_path: Path) -> None:
    # The peak-RSS child builds its call through build_workload_call: the fallback side must resolve there.
    from harness.measure.memory import build_workload_call  # noqa: PLC0415  (memray)

    call, close = build_workload_call("format_float", Impl.FALLBACK, "mixed-p1", tmp_path, seed=0)
    try:
        call()
    finally:
        close()


def test_the_fallback_forced_to_python_allocates_what_python_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers inherit the force switch: the fallback's own pass must then see Python's allocations
    # (plus the routing's), which Rust's figures copied onto it would not show.
    pytest.importorskip("sky_rs")
    monkeypatch.setenv(fallback.FORCE_PYTHON_ENV, "1")
    for rust, python, routed in _measured_memory(tmp_path):
        assert routed.alloc_bytes_per_call >= 0.9 * python.alloc_bytes_per_call > rust.alloc_bytes_per_call
