"""The timing worker (docs/interfaces.md section 4); ``harness.measure.worker_client`` drives it.

``python -m harness.worker --scratch DIR`` answers line-delimited JSON requests on stdin/stdout: ``time``,
``memory``, ``parity`` (both sides on one workload, compared as in ``harness.measure.parity``), ``overhead``
(the timing loop with no call in it), ``objects`` (the result objects' floor: the Rust side's results of a
workload created anew by ``sky_rs._build_result_objects``, per call) and ``quit``. Any failure is answered
with ``{"ok": false, ...}`` and the worker stays usable. The gate starts one worker per build with that
build's Python, so this module imports only what it needs: no numpy, no pyperf, and memray only when a
``memory`` request comes.

Timing follows pyperf: one value is the mean time of one call over ``loops`` passes of the workload's batch;
``loops: null`` calibrates by doubling ``loops`` until one value takes at least ``min_time_s``; warm-up values
are measured first and returned apart.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from harness.functions.pairs.workload_types import (
    DEFAULT_SCRATCH,
    NOOP_FUNCTION,
    NOOP_WORKLOAD,
    PreparedWorkload,
    prepare,
)
from harness.functions.registry import (
    DEFAULT_MODULES,
    find_workload,
    parity_rules,
    resolve_callable,
    resolve_side,
)
from harness.measure.parity import check_batch
from harness.results import Impl

PROTOCOL_VERSION = 1
# The third ``impl`` a request may name: the dispatching wrapper callers use.
FALLBACK_SIDE = Impl.FALLBACK
MAX_LOOPS = 2**32  # pyperf's limit for calibration
RESULT_OBJECTS_FUNCTION = "_build_result_objects"  # the Rust module's result objects' floor
_REPO_ROOT = Path(__file__).resolve().parents[2]


# --- server side --------------------------------------------------------------------------------------------


class RequestError(ValueError):
    """A malformed request: missing field, wrong type, value out of range."""


def _field(request: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if name not in request:
        if default is ...:
            raise RequestError(f"request lacks field {name!r}")
        return default
    value = request[name]
    # bool is an int subclass; a JSON true is never a count.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise RequestError(f"field {name!r} must be {kind}, got {value!r}")
    if not isinstance(value, kind):
        raise RequestError(f"field {name!r} must be {kind}, got {value!r}")
    return value


def time_batch_ns(call: Callable[..., Any], batch: Sequence[tuple[Any, ...]], loops: int) -> int:
    """Wall time of ``loops`` passes over the batch. The same code times both sides."""
    clock = time.perf_counter_ns
    start = clock()
    for _ in itertools.repeat(None, loops):
        for args in batch:
            call(*args)
    return clock() - start


def _time_empty_loop_ns(batch: Sequence[tuple[Any, ...]], loops: int) -> int:
    """``time_batch_ns`` without the call: what the timing loop itself costs (the ``overhead`` op)."""
    clock = time.perf_counter_ns
    start = clock()
    for _ in itertools.repeat(None, loops):
        for _args in batch:
            pass
    return clock() - start


def _calibrate(time_loops_ns: Callable[[int], int], min_time_s: float) -> int:
    """pyperf's rule: start at 1 and double until one value takes at least min_time_s."""
    min_time_ns = min_time_s * 1e9
    loops = 1
    while time_loops_ns(loops) < min_time_ns:
        loops *= 2
        if loops > MAX_LOOPS:
            raise RuntimeError(f"failed to calibrate the number of loops (more than {MAX_LOOPS})")
    return loops


def calibrate_loops(call: Callable[..., Any], batch: Sequence[tuple[Any, ...]], min_time_s: float) -> int:
    """The loop count of one value of ``call`` over the batch (pyperf's doubling rule)."""
    return _calibrate(lambda loops: time_batch_ns(call, batch, loops), min_time_s)


def _loop_fields(request: Mapping[str, Any]) -> tuple[int | None, int, int, float]:
    """``loops`` (None: calibrate), ``values``, ``warmups``, ``min_time_s`` of a timing request, checked."""
    loops = _field(request, "loops", (int, type(None)), None)
    values = _field(request, "values", int)
    warmups = _field(request, "warmups", int, 0)
    min_time_s = float(_field(request, "min_time_s", (int, float), 0.1))
    if loops is not None and not 1 <= loops <= MAX_LOOPS:
        raise RequestError(f"loops must be between 1 and {MAX_LOOPS}, got {loops}")
    if values < 1 or warmups < 0 or min_time_s <= 0:
        raise RequestError("values must be >= 1, warmups >= 0 and min_time_s > 0")
    return loops, values, warmups, min_time_s


def _side(request: Mapping[str, Any]) -> Impl:
    """A request's ``impl``: ``rust``, ``python``, or ``fallback`` (harness.functions.fallback's function)."""
    impl: str = _field(request, "impl", str)
    try:
        return Impl(impl)
    except ValueError:
        raise RequestError(f"impl must be rust, python or {FALLBACK_SIDE}, got {impl!r}") from None


class Worker:
    """Holds prepared workloads and resolved functions; one instance per worker process."""

    def __init__(self, scratch: Path, seed: int, modules: Mapping[Impl, str]) -> None:
        self._scratch = scratch
        self._seed = seed
        self._modules = modules
        self._prepared: dict[tuple[str, str], PreparedWorkload] = {}

    def close(self) -> None:
        for prepared in self._prepared.values():
            prepared.close()
        self._prepared.clear()

    def _workload(self, function: str, workload_id: str) -> PreparedWorkload:
        key = (function, workload_id)
        if key not in self._prepared:
            self._prepared[key] = prepare(find_workload(function, workload_id), self._scratch, self._seed)
        return self._prepared[key]

    def _call(self, function: str, impl: Impl, prepared: PreparedWorkload) -> Callable[..., Any]:
        target = resolve_side(function, impl, self._modules)
        return prepared.adapter(target) if prepared.adapter else target

    def handle(self, request: Mapping[str, Any]) -> dict[str, Any]:
        op = _field(request, "op", str)
        if op == "time":
            return self._time(request)
        if op == "memory":
            return self._memory(request)
        if op == "parity":
            return self._parity(request)
        if op == "overhead":
            return self._overhead(request)
        if op == "objects":
            return self._objects(request)
        raise RequestError(f"unknown op {op!r}; expected time, memory, parity, overhead, objects or quit")

    def _time(self, request: Mapping[str, Any]) -> dict[str, Any]:
        function = _field(request, "function", str)
        impl = _side(request)
        prepared = self._workload(function, _field(request, "workload", str))
        loops, values, warmups, min_time_s = _loop_fields(request)
        call = self._call(function, impl, prepared)
        if loops is None:
            loops = calibrate_loops(call, prepared.batch, min_time_s)
        calls_per_value = loops * len(prepared.batch)
        warmup_values = [time_batch_ns(call, prepared.batch, loops) / calls_per_value for _ in range(warmups)]
        timed_values = [time_batch_ns(call, prepared.batch, loops) / calls_per_value for _ in range(values)]
        return {"ok": True, "loops": loops, "values_ns": timed_values, "warmup_values_ns": warmup_values}

    def _overhead(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The timing loop without any call: what the harness adds to each per-call value."""
        loops, values, warmups, min_time_s = _loop_fields(request)
        # The call floor's batch (one call, no arguments), so the two differ by the call alone.
        batch = self._workload(NOOP_FUNCTION, NOOP_WORKLOAD.id).batch
        if loops is None:
            loops = _calibrate(lambda count: _time_empty_loop_ns(batch, count), min_time_s)
        calls_per_value = loops * len(batch)
        warmup_values = [_time_empty_loop_ns(batch, loops) / calls_per_value for _ in range(warmups)]
        timed_values = [_time_empty_loop_ns(batch, loops) / calls_per_value for _ in range(values)]
        return {"ok": True, "loops": loops, "values_ns": timed_values, "warmup_values_ns": warmup_values}

    def _objects(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Per call, the time to create the objects the Rust side returns on the workload, and nothing else.

        A result that is one of the call's own arguments (a string too short to truncate) needs no new object
        and counts as none.
        """
        function = _field(request, "function", str)
        prepared = self._workload(function, _field(request, "workload", str))
        loops, values, warmups, min_time_s = _loop_fields(request)
        build = getattr(importlib.import_module(self._modules[Impl.RUST]), RESULT_OBJECTS_FUNCTION, None)
        if build is None:
            raise RequestError(f"{self._modules[Impl.RUST]} has no {RESULT_OBJECTS_FUNCTION}")
        call = self._call(function, Impl.RUST, prepared)
        results = []
        for args in prepared.batch:
            result = call(*args)
            results.append(None if any(result is arg for arg in args) else result)

        objects_per_loop, _ = build(results, 1)
        if objects_per_loop == 0:
            # Nothing to create (bools, None, the arguments themselves): a floor part of 0, not a calibration
            # that doubles an empty loop up to MAX_LOOPS.
            return {"ok": True, "loops": 1, "values_ns": [0.0] * values, "warmup_values_ns": [0.0] * warmups}

        def time_loops_ns(count: int) -> int:
            _, elapsed_ns = build(results, count)  # timed in Rust: the creating alone, not the templates
            return int(elapsed_ns)

        if loops is None:
            loops = _calibrate(time_loops_ns, min_time_s)
        calls_per_value = loops * len(prepared.batch)
        warmup_values = [time_loops_ns(loops) / calls_per_value for _ in range(warmups)]
        timed_values = [time_loops_ns(loops) / calls_per_value for _ in range(values)]
        return {"ok": True, "loops": loops, "values_ns": timed_values, "warmup_values_ns": warmup_values}

    def _memory(self, request: Mapping[str, Any]) -> dict[str, Any]:
        function = _field(request, "function", str)
        impl = _side(request)
        prepared = self._workload(function, _field(request, "workload", str))
        calls = _field(request, "calls", int)
        if calls < 1:
            raise RequestError(f"calls must be >= 1, got {calls}")
        call = self._call(function, impl, prepared)
        # memray loads only in a worker asked for memory: timing workers (the gate's too) start without it.
        from harness.measure.memory import measure_allocations  # noqa: PLC0415

        bytes_per_pass, allocs_per_pass = measure_allocations(
            lambda: time_batch_ns(call, prepared.batch, 1), calls
        )
        batch_length = len(prepared.batch)
        return {
            "ok": True,
            "alloc_bytes_per_call": bytes_per_pass / batch_length,
            "allocs_per_call": allocs_per_pass / batch_length,
        }

    def _parity(self, request: Mapping[str, Any]) -> dict[str, Any]:
        function = _field(request, "function", str)
        prepared = self._workload(function, _field(request, "workload", str))
        difference = check_batch(
            resolve_callable(function, Impl.RUST, self._modules),
            resolve_callable(function, Impl.PYTHON, self._modules),
            prepared.batch,
            parity_rules(function),
        )
        return {"ok": True, "equal": difference is None, "difference": difference}


def _git_commit() -> str | None:
    try:
        completed = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def _rust_version(module_name: str) -> str | None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None  # the bench reports each failing request; the hello line only says what is there
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None


def serve(worker: Worker, requests: IO[str], responses: IO[str], hello: Mapping[str, Any]) -> int:
    """Answers requests until ``quit`` or end of input. Returns the exit code."""

    def send(message: Mapping[str, Any]) -> None:
        responses.write(json.dumps(message) + "\n")
        responses.flush()

    send(hello)
    for line in requests:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise RequestError("a request must be a JSON object")
            if request.get("op") == "quit":
                send({"ok": True})
                return 0
            send(worker.handle(request))
        except Exception as error:  # the worker must survive any request
            send({"ok": False, "error_type": type(error).__name__, "error": str(error)})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH, help="workload data folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated workload data")
    parser.add_argument("--rust-module", default=DEFAULT_MODULES[Impl.RUST], help="module of the Rust side")
    parser.add_argument(
        "--python-module", default=DEFAULT_MODULES[Impl.PYTHON], help="module of the Python side"
    )
    args = parser.parse_args(argv)
    # Ctrl-C belongs to the parent, which stops the run cleanly and then kills its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Anything the functions print must not corrupt the protocol stream.
    protocol_out = sys.stdout
    sys.stdout = sys.stderr
    modules = {Impl.RUST: args.rust_module, Impl.PYTHON: args.python_module}
    worker = Worker(args.scratch, args.seed, modules)
    hello = {
        "ok": True,
        "protocol": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "sky_rs_version": _rust_version(args.rust_module),
        "git_commit": _git_commit(),
    }
    try:
        return serve(worker, sys.stdin, protocol_out, hello)
    finally:
        worker.close()


if __name__ == "__main__":
    sys.exit(main())
