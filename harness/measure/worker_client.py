"""The client side of the timing worker: a running ``python -m harness.worker`` process and its requests.

``WorkerClient`` starts a worker (one build's Python), sends line-delimited JSON requests and reads the
answers with a deadline; a worker that dies, hangs or answers ``ok: false`` raises ``WorkerError``.
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from harness import interrupts
from harness.functions.registry import DEFAULT_MODULES
from harness.results import Impl

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
        # The default modules are left to the worker: each build's worker knows its own (a base commit of an
        # older layout names its Python side differently), so only a chosen module is passed.
        if modules[Impl.RUST] != DEFAULT_MODULES[Impl.RUST]:
            command += ["--rust-module", modules[Impl.RUST]]
        if modules[Impl.PYTHON] != DEFAULT_MODULES[Impl.PYTHON]:
            command += ["--python-module", modules[Impl.PYTHON]]
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

    def result_objects(
        self, function: str, workload: str, *, values: int, warmups: int, min_time_s: float
    ) -> TimeResponse:
        """Per-call values of creating the Rust side's result objects anew (the ``objects`` op)."""
        response = self.request(
            {
                "op": "objects",
                "function": function,
                "workload": workload,
                "loops": None,
                "values": values,
                "warmups": warmups,
                "min_time_s": min_time_s,
            }
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
