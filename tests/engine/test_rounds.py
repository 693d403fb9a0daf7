"""The round scheduler with fake workers: order of sides, warm-ups, fresh processes, calibration, stop."""

from __future__ import annotations

import itertools
import os
from contextlib import ExitStack

import pytest

from harness.measure.engine import Matchup, MeasurePlan, Side, WorkerPool, measure_rounds
from harness.measure.engine.plans import RoundStatistic, SideOrder
from harness.results import Impl

from .fake_workers import FakeSource, Request, timed

RUST, PYTHON = Side("tree", Impl.RUST), Side("tree", Impl.PYTHON)
BASE, CANDIDATE = Side("base", Impl.RUST), Side("candidate", Impl.RUST)
PAIR = Matchup("f", "w", (RUST, PYTHON), stop_on=((PYTHON, RUST),))


def _plan(rounds: int, **fields: object) -> MeasurePlan:
    return MeasurePlan(min_rounds=rounds, max_rounds=rounds, warmups=1, **fields)  # type: ignore[arg-type]


def _pool(stack: ExitStack, *sources: FakeSource, processes: int = 1) -> WorkerPool:  # type: ignore[type-arg]
    return WorkerPool({source.name: source for source in sources}, processes, stack)


def test_sides_alternate_within_each_process_over_the_rotation() -> None:
    log: list[Request] = []
    with ExitStack() as stack:
        pool = _pool(stack, FakeSource("tree", log), processes=2)
        [result] = measure_rounds(pool, [PAIR], _plan(4, processes=2))
    order = [(request.slot, request.impl) for request in timed(log)]
    # Rounds go to slots 0, 1, 0, 1; each slot sees A B, then B A on its next round.
    assert order == [
        (0, Impl.RUST), (0, Impl.PYTHON), (1, Impl.RUST), (1, Impl.PYTHON),
        (0, Impl.PYTHON), (0, Impl.RUST), (1, Impl.PYTHON), (1, Impl.RUST),
    ]  # fmt: skip
    assert result.orders == ((RUST, PYTHON), (RUST, PYTHON), (PYTHON, RUST), (PYTHON, RUST))


def test_the_first_side_alternates_between_matchups_of_a_round_and_between_rounds() -> None:
    log: list[Request] = []
    matchups = [Matchup(f, "w", (BASE, CANDIDATE)) for f in ("f", "g")]
    with ExitStack() as stack:
        pool = _pool(stack, FakeSource("base", log), FakeSource("candidate", log))
        measure_rounds(pool, matchups, _plan(2))
    order = [(request.function, request.source) for request in timed(log)]
    assert order == [
        ("f", "base"), ("f", "candidate"), ("g", "candidate"), ("g", "base"),
        ("f", "candidate"), ("f", "base"), ("g", "base"), ("g", "candidate"),
    ]  # fmt: skip


def test_warm_ups_precede_only_the_first_request_of_a_side_in_a_process() -> None:
    log: list[Request] = []
    plan = MeasurePlan(min_rounds=4, max_rounds=4, processes=2, warmups=2)
    with ExitStack() as stack:
        pool = _pool(stack, FakeSource("tree", log), processes=2)
        measure_rounds(pool, [PAIR], plan)
        first_call = len(log)
        measure_rounds(pool, [Matchup("g", "w", (RUST, PYTHON))], plan)
    warmups = {(r.slot, r.impl, r.function): [] for r in timed(log)}  # type: ignore[var-annotated]
    for request in timed(log):
        warmups[request.slot, request.impl, request.function].append(request.warmups)
    # Slot 0 calibrated both sides (calibrations warm, with no warm-ups of their own), slot 1 did not.
    assert warmups[0, Impl.RUST, "f"] == warmups[0, Impl.PYTHON, "f"] == [0, 0]
    assert warmups[1, Impl.RUST, "f"] == warmups[1, Impl.PYTHON, "f"] == [2, 0]
    assert all(request.warmups == 0 for request in log[:first_call] if request.loops is None)
    # Another target ran in between: each side's first request in each process warms up again.
    assert warmups[1, Impl.RUST, "g"] == [2, 0]


def test_interleaved_targets_warm_up_every_request_in_a_long_lived_process() -> None:
    log: list[Request] = []
    matchups = [Matchup(f, "w", (BASE, CANDIDATE)) for f in ("f", "g")]
    with ExitStack() as stack:
        pool = _pool(stack, FakeSource("base", log), FakeSource("candidate", log))
        measure_rounds(pool, matchups, _plan(3))
    assert [request.warmups for request in timed(log)] == [1] * 12


@pytest.mark.parametrize(("every", "rounds", "starts"), [(1, 3, 3), (2, 5, 3), (0, 5, 1)])
def test_fresh_processes_every_n_rounds(every: int, rounds: int, starts: int) -> None:
    log: list[Request] = []
    sources = FakeSource("base", log), FakeSource("candidate", log)
    with ExitStack() as stack:
        pool = _pool(stack, *sources)
        measure_rounds(
            pool, [Matchup("f", "w", (BASE, CANDIDATE))], _plan(rounds, fresh_processes_every=every)
        )
    assert [source.starts for source in sources] == [starts, starts]
    generations = [request.generation for request in timed(log) if request.source == "base"]
    assert generations == [1 + (index // every if every else 0) for index in range(rounds)]


def test_every_side_is_calibrated_twice_and_one_implementation_shares_the_largest_count() -> None:
    log: list[Request] = []
    base = FakeSource("base", log, calibrated_loops={Impl.RUST: [8, 4]})
    candidate = FakeSource("candidate", log, calibrated_loops={Impl.RUST: [2, 16]})
    with ExitStack() as stack:
        [result] = measure_rounds(
            _pool(stack, base, candidate), [Matchup("f", "w", (BASE, CANDIDATE))], _plan(2)
        )
    calibrations = [request.source for request in log if request.loops is None]
    assert calibrations == ["base", "candidate", "base", "candidate"]
    assert result.loops == {Impl.RUST: 16}
    assert {request.loops for request in timed(log)} == {16}


def test_the_sides_of_a_bench_pair_keep_loop_counts_of_their_own() -> None:
    log: list[Request] = []
    source = FakeSource("tree", log, calibrated_loops={Impl.RUST: [100, 200], Impl.PYTHON: [10, 5]})
    with ExitStack() as stack:
        [result] = measure_rounds(_pool(stack, source), [PAIR], _plan(2))
    assert result.loops == {Impl.RUST: 200, Impl.PYTHON: 10}
    assert {(request.impl, request.loops) for request in timed(log)} == {(Impl.RUST, 200), (Impl.PYTHON, 10)}


def _noisy_ns(impl: Impl, index: int) -> float:
    """Ratios of 2 and 4 in turn: an interval that never narrows."""
    return 1_000.0 if impl is Impl.RUST else (2_000.0 if index % 2 else 4_000.0)


def test_adaptive_rounds_stop_at_the_first_cycle_end_once_precise() -> None:
    plan = MeasurePlan(min_rounds=4, max_rounds=30, processes=3)
    with ExitStack() as stack:
        [result] = measure_rounds(_pool(stack, FakeSource("tree", []), processes=3), [PAIR], plan)
    assert len(result.orders) == 6  # min_rounds rounded up to a whole cycle over the 3 processes
    assert result.ratios[PYTHON, RUST].value == pytest.approx(3.0)


def test_adaptive_rounds_stop_at_the_cap_when_never_precise() -> None:
    plan = MeasurePlan(min_rounds=4, max_rounds=10, processes=2)
    with ExitStack() as stack:
        [result] = measure_rounds(
            _pool(stack, FakeSource("tree", [], value_ns=_noisy_ns), processes=2), [PAIR], plan
        )
    assert len(result.orders) == len(result.values_ns[RUST]) == 10
    assert result.ratios[PYTHON, RUST].relative_reach > plan.target_relative_reach


def test_adaptive_rounds_stop_once_the_budget_is_spent() -> None:
    ticks = itertools.count()  # one second per reading of the clock
    plan = MeasurePlan(min_rounds=2, max_rounds=50, pair_budget_s=2.5)
    with ExitStack() as stack:
        pool = _pool(stack, FakeSource("tree", [], value_ns=_noisy_ns))
        [result] = measure_rounds(pool, [PAIR], plan, clock=lambda: float(next(ticks)))
    assert len(result.orders) == 4  # checks after rounds 2, 3, 4 read 1, 2, 3 s


def test_a_failing_side_ends_its_matchup_only_and_keeps_the_rounds_paired() -> None:
    log: list[Request] = []
    candidate = FakeSource(
        "candidate",
        log,
        fails=lambda r: (
            r.function == "f" and r.loops is not None and r.generation == 1 and len(timed(log)) > 6
        ),
    )
    matchups = [Matchup(f, "w", (BASE, CANDIDATE)) for f in ("f", "g")]
    with ExitStack() as stack:
        failed, other = measure_rounds(_pool(stack, FakeSource("base", log), candidate), matchups, _plan(4))
    assert failed.failure is not None and failed.failure.side == CANDIDATE
    assert "failed on purpose" in str(failed.failure.error)
    # It failed in round 3, after that round's base value: the two complete rounds are kept, paired.
    assert len(failed.values_ns[BASE]) == len(failed.values_ns[CANDIDATE]) == len(failed.orders) == 2
    assert other.failure is None and len(other.values_ns[CANDIDATE]) == 4
    assert candidate.starts == 2  # the dead worker was replaced so "g" could go on


def test_random_order_is_drawn_from_the_seed_recorded_and_not_the_alternation() -> None:
    sides = (BASE, CANDIDATE, Side("fallback", Impl.RUST))

    def run(seed: int) -> tuple[tuple[Side, ...], ...]:
        log: list[Request] = []
        sources = [FakeSource(name, log) for name in ("base", "candidate", "fallback")]
        with ExitStack() as stack:
            [result] = measure_rounds(
                _pool(stack, *sources), [Matchup("f", "w", sides)], _plan(12, side_order=SideOrder.RANDOM),
                seed=seed,
            )  # fmt: skip
        executed = [request.source for request in timed(log)]
        assert executed == [side.source for order in result.orders for side in order]  # recorded as run
        return result.orders

    first = run(seed=7)
    assert first == run(seed=7)  # the same seed draws the same orders
    assert first != run(seed=8)
    assert len(set(first)) > 2  # not the two orders of the alternation
    assert all(sorted(order, key=str) == sorted(sides, key=str) for order in first)


@pytest.mark.parametrize(
    ("statistic", "expected_ns"), [(RoundStatistic.MEDIAN, 5.0), (RoundStatistic.MIN, 1.0)]
)
def test_the_round_statistic_picks_a_rounds_value(statistic: RoundStatistic, expected_ns: float) -> None:
    log: list[Request] = []
    spiky = FakeSource("tree", log, value_ns=lambda impl, index: (1.0, 5.0, 90.0)[index % 3])
    with ExitStack() as stack:
        [result] = measure_rounds(
            _pool(stack, spiky), [PAIR], _plan(2, values_per_round=3, round_statistic=statistic)
        )
    assert result.values_ns[RUST] == (expected_ns, expected_ns)


def test_affinity_pins_each_source_to_a_processor_of_its_own_and_swaps_them_every_round() -> None:
    log: list[Request] = []
    pinned: list[tuple[int, set[int]]] = []
    processors = sorted(os.sched_getaffinity(0))
    with ExitStack() as stack:
        sources = {name: FakeSource(name, log) for name in ("base", "candidate")}
        pool = WorkerPool(sources, 1, stack, set_affinity=lambda pid, cpus: pinned.append((pid, cpus)))
        measure_rounds(pool, [Matchup("f", "w", (BASE, CANDIDATE))], _plan(3, affinity=True))
    assert len(pinned) == 6  # both sources, every round
    by_round = [(pinned[2 * r][1], pinned[2 * r + 1][1]) for r in range(3)]
    first, second = {processors[0]}, {processors[1 % len(processors)]}
    assert by_round == [(first, second), (second, first), (first, second)]


def test_no_affinity_unless_asked() -> None:
    pinned: list[tuple[int, set[int]]] = []
    with ExitStack() as stack:
        pool = WorkerPool(
            {"tree": FakeSource("tree", [])},
            1,
            stack,
            set_affinity=lambda pid, cpus: pinned.append((pid, cpus)),
        )
        measure_rounds(pool, [PAIR], _plan(2))
    assert pinned == []
