"""The timing worker (docs/interfaces.md section 4) and the client that drives it.

``python -m harness.worker --scratch DIR`` answers line-delimited JSON requests on stdin/stdout: ``time``,
``memory``, ``parity`` (both sides on one workload, compared as in ``harness.parity``), ``overhead`` (the
timing loop with no call in it) and ``quit``. Any failure is answered with ``{"ok": false, ...}`` and the
worker stays usable. The gate starts one worker per build with that build's Python, so this module imports
only what it needs: no numpy, no pyperf, and memray only when a ``memory`` request comes.

Timing follows pyperf: one value is the mean time of one call over ``loops`` passes of the workload's batch;
``loops: null`` calibrates by doubling ``loops`` until one value takes at least ``min_time_s``; warm-up values
are measured first and returned apart.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from harness import interrupts
from harness.parity import check_batch
from harness.registry import DEFAULT_MODULES, find_workload, resolve_callable
from harness.results import Impl
from harness.workloads import DEFAULT_SCRATCH, NOOP_FUNCTION, NOOP_WORKLOAD, PreparedWorkload, prepare

PROTOCOL_VERSION = 1
# The third ``impl`` a request may name: the dispatching wrapper callers use (not an ``Impl``, which the
# reports iterate over).
FALLBACK_SIDE = "fallback"
FALLBACK_MODULE = "harness.fallback"
MAX_LOOPS = 2**32  # pyperf's limit for calibration
_REPO_ROOT = Path(__file__).resolve().parent.parent


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


def _side(request: Mapping[str, Any]) -> Impl | str:
    """A request's ``impl``: ``rust``, ``python``, or ``fallback`` (harness.fallback's function)."""
    impl: str = _field(request, "impl", str)
    if impl == FALLBACK_SIDE:
        return impl
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

    def _call(self, function: str, impl: Impl | str, prepared: PreparedWorkload) -> Callable[..., Any]:
        if impl == FALLBACK_SIDE:
            # This tree's dispatching wrapper, whatever modules the two sides come from.
            target = resolve_callable(function, Impl.PYTHON, {Impl.PYTHON: FALLBACK_MODULE})
        else:
            target = resolve_callable(function, Impl(impl), self._modules)
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
        raise RequestError(f"unknown op {op!r}; expected time, memory, parity, overhead or quit")

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

    def _memory(self, request: Mapping[str, Any]) -> dict[str, Any]:
        function = _field(request, "function", str)
        impl = _side(request)
        prepared = self._workload(function, _field(request, "workload", str))
        calls = _field(request, "calls", int)
        if calls < 1:
            raise RequestError(f"calls must be >= 1, got {calls}")
        call = self._call(function, impl, prepared)
        # memray loads only in a worker asked for memory: timing workers (the gate's too) start without it.
        from harness.memory import measure_allocations  # noqa: PLC0415

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


# --- client side --------------------------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """A worker answered ``ok: false``, died, or did not answer in time."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class TimeResponse:
    loops: int
    values_ns: tuple[float, ...]
    warmup_values_ns: tuple[float, ...]


def _time_response(response: Mapping[str, Any]) -> TimeResponse:
    return TimeResponse(
        loops=int(response["loops"]),
        values_ns=tuple(float(v) for v in response["values_ns"]),
        warmup_values_ns=tuple(float(v) for v in response["warmup_values_ns"]),
    )


class WorkerClient:
    """A running worker process. Use as a context manager: it is always stopped, by force if need be."""

    def __init__(
        self,
        python: Path,
        scratch: Path,
        *,
        seed: int = 0,
        modules: Mapping[Impl, str] = DEFAULT_MODULES,
        cwd: Path | None = None,
        request_timeout_s: float = 900.0,
        owner: ExitStack | None = None,
    ) -> None:
        """Start the worker and wait for its hello line.

        ``owner`` (a cleanup stack) is handed the worker's ``kill`` the moment the process exists, before
        the hello: a Ctrl-C while the worker starts up can then never leave it running. Whatever ends the
        wait for the hello (an error, a bad line, Ctrl-C) kills the process before it propagates.
        """
        self._timeout_s = request_timeout_s
        # Lives as long as the worker; closed in _cleanup.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        command = [str(python), "-m", "harness.worker", "--scratch", str(scratch), "--seed", str(seed)]
        command += ["--rust-module", modules[Impl.RUST], "--python-module", modules[Impl.PYTHON]]
        try:
            with interrupts.deferred():
                self._process = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=self._stderr,
                    text=True,
                    cwd=cwd,
                    # Its own process group: a terminal's Ctrl-C goes to the parent alone, which stops
                    # the run and then kills its workers itself (they ignore SIGINT too, once started).
                    process_group=0,
                )
                if owner is not None:
                    owner.callback(self.kill)
            self.hello = self._read_response()
        except BaseException:
            self.kill()
            raise

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].strip()

    def _read_response(self) -> dict[str, Any]:
        stdout = self._process.stdout
        assert stdout is not None  # Popen(stdout=PIPE) guarantees it
        ready, _, _ = select.select([stdout], [], [], self._timeout_s)
        if not ready:
            self.kill()
            raise WorkerError("TimeoutError", f"worker gave no answer within {self._timeout_s:.0f} s")
        line = stdout.readline()
        if not line:
            self._process.wait(timeout=10)
            raise WorkerError(
                "WorkerDied",
                f"worker exited with {self._process.returncode}: {self._stderr_tail() or 'no output'}",
            )
        try:
            response = json.loads(line)
        except json.JSONDecodeError as error:
            raise WorkerError(
                "ProtocolError", f"worker answered a line that is not JSON: {line[:200]!r}"
            ) from error
        if not isinstance(response, dict):
            raise WorkerError("ProtocolError", f"worker answered {type(response).__name__}, not an object")
        if not response.get("ok"):
            raise WorkerError(str(response.get("error_type", "Error")), str(response.get("error", "")))
        return response

    def request(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        stdin = self._process.stdin
        assert stdin is not None  # Popen(stdin=PIPE) guarantees it
        try:
            stdin.write(json.dumps(payload) + "\n")
            stdin.flush()
        except BrokenPipeError as error:
            raise WorkerError("WorkerDied", f"worker is gone: {self._stderr_tail()}") from error
        return self._read_response()

    def time(
        self,
        function: str,
        *,
        impl: Impl,
        workload: str,
        loops: int | None,
        values: int,
        warmups: int,
        min_time_s: float,
    ) -> TimeResponse:
        response = self.request(
            {
                "op": "time",
                "function": function,
                "impl": str(impl),
                "workload": workload,
                "loops": loops,
                "values": values,
                "warmups": warmups,
                "min_time_s": min_time_s,
            }
        )
        return _time_response(response)

    def memory(self, function: str, impl: Impl, workload: str, calls: int) -> tuple[float, float]:
        """(bytes allocated per call, allocations per call)."""
        response = self.request(
            {"op": "memory", "function": function, "impl": str(impl), "workload": workload, "calls": calls}
        )
        return float(response["alloc_bytes_per_call"]), float(response["allocs_per_call"])

    def overhead(self, *, loops: int | None, values: int, warmups: int, min_time_s: float) -> TimeResponse:
        """Per-call values of the timing loop with no call in it (``loops: None`` calibrates)."""
        response = self.request(
            {"op": "overhead", "loops": loops, "values": values, "warmups": warmups, "min_time_s": min_time_s}
        )
        return _time_response(response)

    def parity(self, function: str, workload: str) -> str | None:
        """None when both sides agree on the workload, else the difference."""
        response = self.request({"op": "parity", "function": function, "workload": workload})
        return None if response["equal"] else str(response["difference"])

    def close(self, timeout_s: float = 5.0) -> None:
        """Asks the worker to quit; kills it if it does not."""
        if self._process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self._process.stdin is not None
                self._process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self._process.stdin.close()
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._cleanup()

    def kill(self) -> None:
        if not hasattr(self, "_process"):  # Popen itself failed: there is no process
            self._stderr.close()
            return
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
        self._stderr.close()

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.kill()


if __name__ == "__main__":
    sys.exit(main())
