"""Allocation counting sees Python's and C's allocators; peak RSS is measured in a fresh process."""

from __future__ import annotations

import hashlib
import mmap
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.measure.memory import (
    MemoryMeasurementError,
    frame_artefact,
    measure_allocations,
    measure_peak_rss,
    peak_rss_growth,
    tally_allocations,
)
from harness.results import Impl

MIB = 1 << 20


@pytest.fixture
def sqlite_connection() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    yield connection
    connection.close()


def test_python_allocation_of_one_mib_is_seen() -> None:
    bytes_per_call, allocations_per_call = measure_allocations(lambda: bytearray(MIB), calls=20)
    assert MIB <= bytes_per_call < 1.1 * MIB
    assert allocations_per_call >= 1


def test_empty_call_costs_nothing_after_subtracting_the_empty_loop() -> None:
    bytes_per_call, allocations_per_call = measure_allocations(lambda: None, calls=1000)
    assert bytes_per_call < 16
    assert allocations_per_call < 0.1


def test_a_one_off_allocation_during_one_tally_is_not_charged_to_the_call() -> None:
    """Another thread allocating, or a table growing once, while the tracker runs: not the call's cost."""
    kept: list[bytearray] = []
    invocations = 0

    def call() -> None:
        nonlocal invocations
        invocations += 1
        if invocations == 3:  # the first call of the first tally (after the warm-up and the frame count)
            kept.append(bytearray(MIB))

    bytes_per_call, _ = measure_allocations(call, calls=100)
    assert len(kept) == 1  # the one-off did happen inside a tally
    assert bytes_per_call < 16  # the single-tally version charged it: MIB / 100 per call


def _leaf() -> None:
    pass


def _ten_python_calls() -> None:
    # Spelled out: a loop over range() would allocate its iterator, a real allocation.
    _leaf()
    _leaf()
    _leaf()
    _leaf()
    _leaf()
    _leaf()
    _leaf()
    _leaf()
    _leaf()
    _leaf()


def test_python_function_calls_are_not_charged_for_the_trackers_frame_objects() -> None:
    """Under memray each Python call materialises a frame object: the tracker's cost, not the call's."""
    artefact = frame_artefact(_ten_python_calls)
    assert artefact.frames == 11  # the function itself and ten calls of _leaf
    assert artefact.bytes > 11 * 64
    # Untouched, the tally shows the frames...
    assert tally_allocations(_ten_python_calls, calls=100).python_allocations >= 100 * 11
    # ...measure_allocations does not.
    bytes_per_call, allocations_per_call = measure_allocations(_ten_python_calls, calls=100)
    assert bytes_per_call < 16
    assert allocations_per_call < 0.1


def test_a_generator_frame_is_counted_once() -> None:
    def numbers() -> Iterator[int]:
        yield from range(50)

    assert frame_artefact(lambda: sum(numbers())).frames == 2  # the lambda and the generator


def test_c_library_malloc_is_seen(sqlite_connection: sqlite3.Connection) -> None:
    """sqlite allocates its 1 MiB blob with the C allocator; tracemalloc would miss it, we must not."""

    def call() -> object:
        return sqlite_connection.execute("select randomblob(1048576)").fetchone()

    tally = tally_allocations(call, calls=10)
    assert tally.native_bytes >= 10 * MIB
    # The blob exists twice: once in sqlite (C), once as the Python bytes object returned.
    bytes_per_call, _ = measure_allocations(call, calls=10)
    assert bytes_per_call >= 2 * MIB


def test_rust_allocations_inside_sky_rs_are_seen(tmp_path: Path) -> None:
    sky_rs = pytest.importorskip("sky_rs")
    if not hasattr(sky_rs, "hash_file"):
        pytest.skip("this sky_rs build has no hash_file yet")
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * MIB)
    tally = tally_allocations(lambda: sky_rs.hash_file(str(path), "sha256"), calls=5)
    # hash_file reads through a buffer that Rust allocates on every call.
    assert tally.native_allocations >= 5
    assert tally.native_bytes >= 5 * 4096


def test_hashlib_openssl_allocations_are_counted_as_native(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"y" * 4096)

    def call() -> object:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256")

    assert tally_allocations(call, calls=10).native_allocations >= 10


def test_calls_must_be_positive() -> None:
    with pytest.raises(ValueError, match="calls must be >= 1"):
        measure_allocations(lambda: None, calls=0)


def test_peak_rss_growth_sees_a_large_temporary() -> None:
    growth_bytes = peak_rss_growth(lambda: b"x" * (64 * MIB), calls=2)  # written, so resident
    assert growth_bytes >= 60 * MIB


class _SliceToucher:
    """Each call touches the next 8 MiB slice of a mapping, so the measured call faults in fresh pages (the
    unmeasured first call takes the first slice)."""

    def __init__(self, mapping: mmap.mmap) -> None:
        self.mapping = mapping
        self.calls = 0

    def __call__(self) -> int:
        start = self.calls * 8 * MIB
        self.calls += 1
        return sum(self.mapping[offset] for offset in range(start, start + 8 * MIB, 4096))


def test_peak_rss_growth_leaves_out_code_pages_a_call_faults_in(tmp_path: Path) -> None:
    """Faulting in 8 MiB of executable file pages (what a call into new code of an extension does, at a
    larger scale) is not memory the call uses; the same pages mapped as data are."""
    image = tmp_path / "code.bin"
    image.write_bytes(b"\xc3" * (16 * MIB))
    with image.open("rb") as handle:
        try:
            code = mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ | mmap.PROT_EXEC)
        except OSError:
            pytest.skip("this folder cannot be mapped executable (noexec)")
        data = mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ, offset=0)
    with code, data:
        assert peak_rss_growth(_SliceToucher(code), calls=1) < 2 * MIB
        assert peak_rss_growth(_SliceToucher(data), calls=1) >= 7 * MIB


def test_peak_rss_growth_does_not_charge_what_only_the_first_call_maps() -> None:
    """A first call maps code and builds lazy state once per process; later calls reuse them."""
    kept: list[bytes] = []

    def first_call_keeps_memory() -> None:
        if not kept:
            kept.append(b"x" * (64 * MIB))  # written, so resident, and held for good

    assert peak_rss_growth(first_call_keeps_memory, calls=2) < 16 * MIB


@pytest.mark.slow
def test_measure_peak_rss_runs_a_registry_workload_in_a_fresh_process(tmp_path: Path) -> None:
    growth_bytes = measure_peak_rss(
        Path(sys.executable), "read_last_n_lines", Impl.PYTHON, "1KB-n1000", tmp_path / "scratch"
    )
    assert isinstance(growth_bytes, int)
    assert 0 <= growth_bytes < 256 * MIB


def test_measure_peak_rss_uses_the_given_module(tmp_path: Path) -> None:
    with pytest.raises(MemoryMeasurementError, match="no_such_module"):
        measure_peak_rss(
            Path(sys.executable),
            "read_last_n_lines",
            Impl.RUST,
            "1KB-n1000",
            tmp_path / "scratch",
            module="no_such_module",
        )


def test_measure_peak_rss_reports_an_unknown_workload(tmp_path: Path) -> None:
    with pytest.raises(MemoryMeasurementError, match="unknown workload 'no-such-workload'"):
        measure_peak_rss(Path(sys.executable), "hash_file", Impl.PYTHON, "no-such-workload", tmp_path)
