"""harness.functions.registry and the pairs' workloads: every mode covered, stable ids, deterministic data."""

from __future__ import annotations

import hashlib
import json
import random
import socket
from pathlib import Path

import pytest

from harness.functions.pairs.io_utils import occupy_ports_ahead
from harness.functions.pairs.workload_types import (
    ALL_MODES,
    GENERATOR_VERSION,
    NOOP_FUNCTION,
    NOOP_WORKLOAD,
    DataItem,
    Mode,
    batch_rng,
    ensure_data,
    generated_item,
    prepare,
)
from harness.functions.reference import find_free_port
from harness.functions.registry import (
    FUNCTIONS,
    UnknownNameError,
    all_workloads,
    build_registry,
    find_workload,
    resolve_callable,
    validate_functions,
)
from harness.results import Impl


@pytest.mark.parametrize("mode", list(Mode))
def test_every_function_has_a_workload_in_every_mode(mode: Mode) -> None:
    registry = build_registry()
    assert list(registry) == list(FUNCTIONS)
    for pair in registry.values():
        assert pair.workloads_for(mode), f"{pair.function} has no workload in {mode}"


def test_workload_ids_are_unique_per_function() -> None:
    keys = [(workload.function, workload.id) for workload in all_workloads()]
    assert len(keys) == len(set(keys))


def test_workload_ids_are_stable() -> None:
    # Baselines and the gate key results by these ids: renaming one silently orphans its history.
    ids = {f"{workload.function}[{workload.id}]" for workload in all_workloads()}
    expected_subset = {
        "read_last_n_lines[100MB-n10000]",
        "read_last_n_lines[1MB-crlf-n1000]",
        "read_last_n_lines[1MB-invalid-utf8-n1000]",
        "hash_file[sha256-256MiB]",
        "hash_file[md5-tree-2000]",
        "find_free_port[occupied-100]",
        "base36_encode[md5-hex]",
        "format_float[mixed-p1]",
        "format_float[mixed-p0]",
        "format_float[ints-p1]",
        "format_float[whole-p0]",
        "truncate_long_string[regions-middle-25]",
        "get_parallel_threads[kubernetes]",
        "is_process_alive[dead-pid]",
        "estimate_fd_for_directory[dir-100000]",
        "get_max_workers_for_file_mounts[dir-10000]",
    }
    assert expected_subset <= ids


def test_largest_workloads_run_in_full_mode_only() -> None:
    for workload in all_workloads():
        if workload.size_unit == "bytes" and workload.size is not None and workload.size >= 1_000_000_000:
            assert workload.modes == {Mode.FULL}, workload.id


def test_quick_mode_has_no_large_workload() -> None:
    assert not [w.id for w in all_workloads() if Mode.QUICK in w.modes and w.large]


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(UnknownNameError, match="choose from"):
        validate_functions(["base36_encode", "nope"])
    with pytest.raises(UnknownNameError, match="md5-hex"):
        find_workload("base36_encode", "nope")
    with pytest.raises(UnknownNameError):
        find_workload("nope", "md5-hex")
    assert find_workload(NOOP_FUNCTION, "call").function == NOOP_FUNCTION


def test_resolve_callable_names_the_missing_module_function() -> None:
    assert resolve_callable("base36_encode", Impl.PYTHON)("ff") == "73"
    with pytest.raises(AttributeError, match="json"):
        resolve_callable("base36_encode", Impl.RUST, {Impl.RUST: "json", Impl.PYTHON: "json"})


def _counting_item(calls: list[int]) -> DataItem:
    def generate(path: Path, rng: object) -> None:
        calls.append(1)
        path.write_bytes(rng.randbytes(64))  # type: ignore[attr-defined]

    return DataItem(name="sample.bin", params=(("size_bytes", 64),), generate=generate)


def test_data_is_seeded_and_reused(tmp_path: Path) -> None:
    calls: list[int] = []
    item = _counting_item(calls)
    first = ensure_data(item, tmp_path / "a", seed=1).read_bytes()
    ensure_data(item, tmp_path / "a", seed=1)
    assert len(calls) == 1, "an up-to-date item must be reused, not regenerated"
    assert ensure_data(item, tmp_path / "b", seed=1).read_bytes() == first, "same seed, same bytes"
    assert ensure_data(item, tmp_path / "a", seed=2).read_bytes() != first, "a new seed regenerates"
    marker = (tmp_path / "a" / "data" / "sample.bin.marker.json").read_text()
    assert f'"generator_version": {GENERATOR_VERSION}' in marker


def test_a_generated_items_marker_records_the_arguments_it_was_written_with(tmp_path: Path) -> None:
    written: list[int] = []

    def write(path: Path, rng: random.Random, size_bytes: int) -> None:
        written.append(size_bytes)
        path.write_bytes(rng.randbytes(size_bytes))

    small = ensure_data(generated_item("sample.bin", write, size_bytes=8), tmp_path, seed=0)
    marker = json.loads((tmp_path / "data" / "sample.bin.marker.json").read_text())
    assert marker["params"] == [["size_bytes", 8]] and small.stat().st_size == 8
    larger = ensure_data(generated_item("sample.bin", write, size_bytes=16), tmp_path, seed=0)
    assert larger.stat().st_size == 16
    assert written == [8, 16], "a changed argument must rebuild the item"


def test_an_item_and_a_batch_of_the_same_name_and_seed_draw_the_same_numbers(tmp_path: Path) -> None:
    item = _counting_item([])
    assert ensure_data(item, tmp_path, seed=3).read_bytes() == batch_rng(3, "sample.bin").randbytes(64)


def test_the_call_floor_is_one_call_without_arguments_in_every_mode(tmp_path: Path) -> None:
    assert (NOOP_WORKLOAD.function, NOOP_WORKLOAD.id, NOOP_WORKLOAD.data) == (NOOP_FUNCTION, "call", ())
    assert NOOP_WORKLOAD.modes == ALL_MODES and NOOP_WORKLOAD.size is None
    assert prepare(NOOP_WORKLOAD, tmp_path, seed=5).batch == ((),)


@pytest.mark.parametrize(
    ("function", "workload", "params"),
    [
        ("read_last_n_lines", "1MB-crlf-n1000", (("size_bytes", 1_000_000), ("style", "crlf"))),
        ("hash_file", "md5-4KiB", (("size_bytes", 4096),)),
        ("hash_file", "md5-tree-2000", (("file_count", 2000),)),
        ("estimate_fd_for_directory", "dir-10", (("entry_count", 10),)),
    ],
)
def test_data_markers_keep_their_parameters(function: str, workload: str, params: tuple[object, ...]) -> None:
    # A marker that changed would rebuild every machine's scratch data (up to 1 GB) for nothing.
    assert find_workload(function, workload).data[0].params == params


def test_real_generators_are_deterministic(tmp_path: Path) -> None:
    workload = find_workload("read_last_n_lines", "1MB-n10")
    item = workload.data[0]
    assert (
        ensure_data(item, tmp_path / "a", 0).read_bytes() == ensure_data(item, tmp_path / "b", 0).read_bytes()
    )
    data = ensure_data(item, tmp_path / "a", 0).read_bytes()
    assert len(data) == 1_000_000
    assert data.endswith(b"\n")
    assert max(len(line) for line in data.split(b"\n")) > 8192, "some lines must exceed the 8 KiB scan block"


# sha256 of repr(batch) for seed 0, computed before the per-shape format_float workloads were added: baselines
# of the mixed workloads stay comparable only while their values do.
MIXED_FORMAT_FLOAT_SHA256 = {
    "mixed-p1": "415511ac6d10896897bcafe07318d66ad0ba3033395e074db50dd1300616519b",
    "mixed-p0": "5ac3920de9b20539eff1e45fe245e5819ef27fd75b7d1b0a7a33d9d42211916b",
}


def _format_float_batch(workload_id: str, tmp_path: Path, seed: int = 0) -> tuple[tuple[object, ...], ...]:
    return prepare(find_workload("format_float", workload_id), tmp_path, seed).batch


@pytest.mark.parametrize("workload_id", sorted(MIXED_FORMAT_FLOAT_SHA256))
def test_the_mixed_format_float_batches_are_unchanged(workload_id: str, tmp_path: Path) -> None:
    batch = _format_float_batch(workload_id, tmp_path)
    assert hashlib.sha256(repr(batch).encode()).hexdigest() == MIXED_FORMAT_FLOAT_SHA256[workload_id]


@pytest.mark.parametrize(("workload_id", "kind", "precision"), [("ints-p1", int, 1), ("whole-p0", float, 0)])
def test_the_per_shape_format_float_batches_hold_one_kind_of_the_mix(
    workload_id: str, kind: type, precision: int, tmp_path: Path
) -> None:
    batch = _format_float_batch(workload_id, tmp_path)
    mixed = _format_float_batch("mixed-p1", tmp_path)
    assert len(batch) == len(mixed) == 1000
    assert {type(value) for value, _ in batch} == {kind}, "one type only (no bool among the ints)"
    assert {given for _, given in batch} == {precision}
    if kind is float:
        assert all(isinstance(value, float) and value.is_integer() for value, _ in batch)
    # The same value set as the mix's kind (index 0 for the ints, 1 for the whole floats), drawn on its own.
    offset = 0 if kind is int else 1
    shape_of_mix = {value for value, _ in mixed[offset::4]}
    assert {value for value, _ in batch} == shape_of_mix
    assert batch != _format_float_batch(workload_id, tmp_path, seed=1), "the seed draws the values"


def test_occupied_ports_block_the_wildcard_bind() -> None:
    start, held = occupy_ports_ahead(3)
    try:
        assert [sock.getsockname() for sock in held] == [("127.0.0.1", start + i) for i in range(3)]
        for port in range(start, start + 3):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            with pytest.raises(OSError), probe:
                probe.bind(("", port))
    finally:
        for sock in held:
            sock.close()


def test_windows_held_at_once_do_not_run_into_each_other() -> None:
    """The gate's two workers hold their windows at the same time: each search must stop after its own."""
    first_start, first_held = occupy_ports_ahead(10)
    second_start, second_held = occupy_ports_ahead(10)
    try:
        assert second_start > first_start + 10  # the first window's stop port stays free
        assert find_free_port(first_start) == first_start + 10
        assert find_free_port(second_start) == second_start + 10
    finally:
        for sock in (*first_held, *second_held):
            sock.close()


def test_a_window_of_no_held_ports_keeps_its_start_port_free_from_later_windows() -> None:
    """The floor inputs and a gate worker prepare occupied-0 and occupied-10 in one process: the second
    window held the first's start port, so occupied-0's search ran through 10 held ports (its floor read
    47 us where the Rust call took 4.5 us)."""
    empty = prepare(find_workload("find_free_port", "occupied-0"), Path("."), 0)
    ten = prepare(find_workload("find_free_port", "occupied-10"), Path("."), 0)
    try:
        [(empty_start,)] = empty.batch
        [(ten_start,)] = ten.batch
        assert find_free_port(empty_start) == empty_start
        assert find_free_port(ten_start) == ten_start + 10
    finally:
        empty.close()
        ten.close()
    again = prepare(find_workload("find_free_port", "occupied-0"), Path("."), 0)
    try:
        assert again.batch == empty.batch  # closing the workloads freed their reservations
    finally:
        again.close()
