"""Rust when it can serve a call, else the Python reference; and a record of which one served.

Each of the 12 names calls ``sky_rs`` when the module imports, exports the function and supports the
arguments; otherwise ``harness.reference``. ``SKYBENCH_FORCE_PYTHON=1`` (read on every call) forces Python.
Errors raised by Rust propagate unchanged: unlike the report's ``rust_fallback``, a failed Rust call is
never retried in Python (that hid bugs and did the work twice). The parity suite holds both sides to the same
errors.

Arguments routed to Python (everything else goes to Rust):

- ``read_last_n_lines``: a path that is not a ``str``; ``n`` or ``chunk_size`` that is not an ``int`` in the
  signed 64-bit range; an ``encoding`` other than UTF-8, Latin-1 or ASCII (any spelling Python's ``codecs``
  accepts; Rust gets the canonical name); ``errors`` other than ``'strict'``, ``'replace'`` or ``'ignore'``.
- ``hash_file``: a path that is not a ``str``; an algorithm name that, lower-cased and with ``-`` read as
  ``_`` or dropped, is not in ``sky_rs.SUPPORTED_HASH_ALGORITHMS`` (``'SHA256'`` and ``'sha-256'`` go to
  Rust, which resolves names as hashlib does; ``'ripemd160'`` or ``'BLAKE2B512'`` go to Python).
- ``find_free_port``: a start port that is not an ``int`` in the signed 64-bit range (bool included).
- ``base36_encode``: a value that is not a ``str``, ``bytes`` or ``bytearray``.
- ``format_float``: ``num`` that is not an ``int`` or ``float`` (subclasses such as ``numpy.float64`` go to
  Rust; ``numpy.float32`` or a ``str`` go to Python); ``precision`` that is not an ``int`` in the signed
  64-bit range.
- ``truncate_long_string``: ``s`` not a ``str``, ``max_length`` not an ``int`` in the signed 64-bit range,
  ``truncate_middle`` not a ``bool``.
- ``get_parallel_threads`` and ``get_max_workers_for_file_mounts``: a ``cloud_str`` that is neither None nor a
  ``str``; for the latter, mounts that are not a ``dict`` of ``str`` to ``str``.
- ``is_process_alive``: a pid that is not exactly an ``int`` (bool included); every int goes to Rust, which
  raises ``OverflowError`` outside the C int range like the reference.
- ``estimate_fd_for_directory``: a path that is not a ``str``.
"""

from __future__ import annotations

import codecs
import os
import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from harness import reference
from harness.results import Impl

try:
    import sky_rs

    RUST_AVAILABLE = True
except ImportError:  # the extension is not built: everything is served by Python
    RUST_AVAILABLE = False

FORCE_PYTHON_ENV = "SKYBENCH_FORCE_PYTHON"
# What sky_rs's read_last_n_lines decodes (canonical codecs names) and which errors= handlers it has.
_RUST_CODECS = frozenset({"utf-8", "iso8859-1", "ascii"})
_RUST_DECODE_ERRORS = frozenset({"strict", "replace", "ignore"})
_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1


class FileHash(Protocol):
    """What ``hash_file`` returns on either side: a hashlib object or ``sky_rs.HashResult``."""

    @property
    def name(self) -> str: ...

    @property
    def digest_size(self) -> int: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


class _ServedCounter:
    """Thread-safe per-function counts of the implementation that served each call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[Impl, int]] = {}
        self._last: dict[str, Impl] = {}

    def record(self, function: str, impl: Impl) -> None:
        with self._lock:
            per_impl = self._counts.setdefault(function, {})
            per_impl[impl] = per_impl.get(impl, 0) + 1
            self._last[function] = impl

    def last(self, function: str) -> Impl | None:
        with self._lock:
            return self._last.get(function)

    def snapshot(self) -> dict[str, dict[Impl, int]]:
        with self._lock:
            return {function: dict(per_impl) for function, per_impl in self._counts.items()}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._last.clear()


_served = _ServedCounter()


def last_served(function: str) -> Impl | None:
    """The implementation that served the latest call of ``function``, None if it was not called."""
    return _served.last(function)


def served_counts() -> dict[str, dict[Impl, int]]:
    """A copy of the counts: function -> implementation -> calls."""
    return _served.snapshot()


def reset_served_counts() -> None:
    """Forget all counts and last-served records."""
    _served.reset()


def _python_forced() -> bool:
    return os.environ.get(FORCE_PYTHON_ENV) == "1"


def _choose(function: str, rust_supports_arguments: bool) -> Impl:
    """Pick the side for one call and record it."""
    use_rust = (
        rust_supports_arguments and RUST_AVAILABLE and hasattr(sky_rs, function) and not _python_forced()
    )
    impl = Impl.RUST if use_rust else Impl.PYTHON
    _served.record(function, impl)
    return impl


def _is_i64(value: object) -> bool:
    return type(value) is int and _I64_MIN <= value <= _I64_MAX


def _rust_codec_name(encoding: object) -> str | None:
    """The canonical name of a codec sky_rs decodes (native/src/io_utils.rs ``Encoding``), else None."""
    if not isinstance(encoding, str):
        return None
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    return name if name in _RUST_CODECS else None


def _is_cloud_str(cloud_str: object) -> bool:
    return cloud_str is None or type(cloud_str) is str


def _rust_hashes(hash_alg: str) -> bool:
    """Whether ``hash_alg`` names an algorithm in ``sky_rs.SUPPORTED_HASH_ALGORITHMS``, spelled as hashlib's
    canonical name or as OpenSSL's (any case, ``sha-256``, ``sha3-256``)."""
    if not RUST_AVAILABLE:
        return False
    supported: object = getattr(sky_rs, "SUPPORTED_HASH_ALGORITHMS", frozenset())
    if not isinstance(supported, frozenset):
        return False
    lowered = hash_alg.lower()
    return any(name in supported for name in (lowered, lowered.replace("-", "_"), lowered.replace("-", "")))


# --- io_utils ---------------------------------------------------------------------------------------------


def read_last_n_lines(
    file_path: str,
    n: int,
    chunk_size: int = 8192,
    encoding: str = "utf-8",
    errors: str = "replace",
) -> list[str]:
    """See ``harness.reference.read_last_n_lines``."""
    decodes_in_rust = type(errors) is str and errors in _RUST_DECODE_ERRORS
    rust_codec = _rust_codec_name(encoding) if decodes_in_rust else None
    rust_ok = type(file_path) is str and _is_i64(n) and _is_i64(chunk_size) and rust_codec is not None
    # `rust_codec is not None` again only narrows the type for mypy.
    if _choose("read_last_n_lines", rust_ok) is Impl.RUST and rust_codec is not None:
        return sky_rs.read_last_n_lines(file_path, n, chunk_size, rust_codec, errors)
    return reference.read_last_n_lines(file_path, n, chunk_size, encoding, errors)


def hash_file(path: str, hash_alg: str) -> FileHash:
    """See ``harness.reference.hash_file``."""
    rust_ok = type(path) is str and type(hash_alg) is str and _rust_hashes(hash_alg)
    if _choose("hash_file", rust_ok) is Impl.RUST:
        return sky_rs.hash_file(path, hash_alg)
    return reference.hash_file(path, hash_alg)


def find_free_port(start_port: int) -> int:
    """See ``harness.reference.find_free_port``."""
    if _choose("find_free_port", _is_i64(start_port)) is Impl.RUST:
        return sky_rs.find_free_port(start_port)
    return reference.find_free_port(start_port)


# --- string_utils -----------------------------------------------------------------------------------------


def base36_encode(hex_str: str) -> str:
    """See ``harness.reference.base36_encode``."""
    if _choose("base36_encode", isinstance(hex_str, str | bytes | bytearray)) is Impl.RUST:
        return sky_rs.base36_encode(hex_str)
    return reference.base36_encode(hex_str)


def format_float(num: float | int, precision: int = 1) -> str:
    """See ``harness.reference.format_float``."""
    rust_ok = isinstance(num, int | float) and _is_i64(precision)
    if _choose("format_float", rust_ok) is Impl.RUST:
        return sky_rs.format_float(num, precision)
    return reference.format_float(num, precision)


def truncate_long_string(s: str, max_length: int = 35, truncate_middle: bool = False) -> str:
    """See ``harness.reference.truncate_long_string``."""
    rust_ok = type(s) is str and _is_i64(max_length) and type(truncate_middle) is bool
    if _choose("truncate_long_string", rust_ok) is Impl.RUST:
        return sky_rs.truncate_long_string(s, max_length, truncate_middle)
    return reference.truncate_long_string(s, max_length, truncate_middle)


# --- system_utils -----------------------------------------------------------------------------------------


def get_cpu_count() -> int:
    """See ``harness.reference.get_cpu_count``."""
    if _choose("get_cpu_count", True) is Impl.RUST:
        return sky_rs.get_cpu_count()
    return reference.get_cpu_count()


def get_mem_size_gb() -> float:
    """See ``harness.reference.get_mem_size_gb``."""
    if _choose("get_mem_size_gb", True) is Impl.RUST:
        return sky_rs.get_mem_size_gb()
    return reference.get_mem_size_gb()


# --- process_utils ----------------------------------------------------------------------------------------


def get_parallel_threads(cloud_str: str | None = None) -> int:
    """See ``harness.reference.get_parallel_threads``."""
    if _choose("get_parallel_threads", _is_cloud_str(cloud_str)) is Impl.RUST:
        return sky_rs.get_parallel_threads(cloud_str)
    return reference.get_parallel_threads(cloud_str)


def get_max_workers_for_file_mounts(
    common_file_mounts: Mapping[str, str], cloud_str: str | None = None
) -> int:
    """See ``harness.reference.get_max_workers_for_file_mounts``."""
    rust_ok = (
        isinstance(common_file_mounts, dict)
        and all(type(key) is str and type(value) is str for key, value in common_file_mounts.items())
        and _is_cloud_str(cloud_str)
    )
    if _choose("get_max_workers_for_file_mounts", rust_ok) is Impl.RUST:
        return sky_rs.get_max_workers_for_file_mounts(dict(common_file_mounts), cloud_str)
    return reference.get_max_workers_for_file_mounts(common_file_mounts, cloud_str)


def is_process_alive(pid: int) -> bool:
    """See ``harness.reference.is_process_alive``."""
    if _choose("is_process_alive", type(pid) is int) is Impl.RUST:
        return sky_rs.is_process_alive(pid)
    return reference.is_process_alive(pid)


def estimate_fd_for_directory(path: str) -> int:
    """See ``harness.reference.estimate_fd_for_directory``."""
    if _choose("estimate_fd_for_directory", type(path) is str) is Impl.RUST:
        return sky_rs.estimate_fd_for_directory(path)
    return reference.estimate_fd_for_directory(path)


FUNCTIONS: Mapping[str, Callable[..., object]] = {name: globals()[name] for name in reference.FUNCTION_NAMES}

__all__ = [
    "FORCE_PYTHON_ENV",
    "FUNCTIONS",
    "RUST_AVAILABLE",
    "FileHash",
    "base36_encode",
    "estimate_fd_for_directory",
    "find_free_port",
    "format_float",
    "get_cpu_count",
    "get_max_workers_for_file_mounts",
    "get_mem_size_gb",
    "get_parallel_threads",
    "hash_file",
    "is_process_alive",
    "last_served",
    "read_last_n_lines",
    "reset_served_counts",
    "served_counts",
    "truncate_long_string",
]
