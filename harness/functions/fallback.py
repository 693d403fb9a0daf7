"""Rust when it can serve a call, else the Python reference; and a record of which one served.

Each of the 12 names calls ``sky_rs`` when the module imports, exports the function and supports the
arguments; otherwise ``harness.functions.reference``. Errors raised by Rust propagate unchanged: unlike the
report's ``rust_fallback``, a failed Rust call is never retried in Python (that hid bugs and did the work
twice). The parity suite holds both sides to the same errors.

Forcing Python: ``force_python(True)`` (or ``with forcing_python():``) serves every call with Python until
``force_python(False)``; ``SKYBENCH_FORCE_PYTHON=1`` in the environment when this module is imported starts
it forced. The variable is read once, at import: setting it later changes nothing. ``sky_rs``'s functions
are looked up at import and again at every ``force_python`` call, not on every call.

Arguments routed to Python (everything else goes to Rust):

- ``read_last_n_lines``: a path that is not a ``str``; ``n`` or ``chunk_size`` that is not exactly an ``int``
  (ints of any size go to Rust, which clamps them as Python compares them); an ``encoding`` other than UTF-8,
  Latin-1 or ASCII (any spelling Python's ``codecs`` accepts; Rust gets the canonical name); ``errors`` other
  than ``'strict'``, ``'replace'`` or ``'ignore'``.
- ``hash_file``: a path that is not a ``str``; an algorithm name that, lower-cased and with ``-`` read as
  ``_`` or dropped, is not in ``sky_rs.SUPPORTED_HASH_ALGORITHMS`` (``'SHA256'`` and ``'sha-256'`` go to
  Rust, which resolves names as hashlib does; ``'ripemd160'`` or ``'BLAKE2B512'`` go to Python).
- ``find_free_port``: a start port that is not exactly an ``int`` (bool included).
- ``base36_encode``: a value that is not a ``str``, ``bytes`` or ``bytearray``.
- ``format_float``: ``num`` that is not an ``int`` or ``float`` (subclasses such as ``numpy.float64`` go to
  Rust; ``numpy.float32`` or a ``str`` go to Python); ``precision`` that is not exactly an ``int``.
- ``truncate_long_string``: ``s`` not a ``str``, ``max_length`` not exactly an ``int``, ``truncate_middle``
  not a ``bool``.
- ``get_parallel_threads`` and ``get_max_workers_for_file_mounts``: a ``cloud_str`` that is neither None nor a
  ``str``; for the latter, mounts that are not a ``dict`` of ``str`` to ``str``.
- ``is_process_alive``: a pid that is not exactly an ``int`` (bool included); every int goes to Rust, which
  raises ``OverflowError`` outside the C int range like the reference.
- ``estimate_fd_for_directory``: a path that is not a ``str``.

How the dispatch stays cheap: the public names are ``sky_rs.dispatch``'s entry points when the extension has
them (else Python functions behind a C-level counter). An entry tests the common argument types exactly
(``type(x) is str``) and runs the Rust function itself, without a Python frame; any other shape, and every
call while Python is forced or ``sky_rs``'s function is missing or replaced, goes to the ``_route_<name>``
function here, which applies the full rules above. The entry counts every call (an atomic counter in Rust);
a Python-served call is counted once more here and notes that total under a lock, which is what
``last_served`` compares; Rust's count is the difference. Counts and ``last_served`` are exact once the
calls they cover have been dispatched; a count read while other threads are inside a call may show a call
bound for Python as Rust's until it gets there, and of calls that overlap in time ``last_served`` names one.
"""

from __future__ import annotations

import codecs
import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from harness.functions import reference
from harness.functions.registry import builtin_function_names
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
# read_last_n_lines's defaults, as objects: a call that leaves them out passes these very objects.
_DEFAULT_ENCODING = "utf-8"
_DEFAULT_ERRORS = "replace"
# Distinct encodings and algorithm names whose routing is remembered (callers use a handful).
_NAME_ROUTES_KEPT = 256
_RUST = Impl.RUST
_PYTHON = Impl.PYTHON

_F = TypeVar("_F", bound=Callable[..., Any])


class FileHash(Protocol):
    """What ``hash_file`` returns on either side: a hashlib object or ``sky_rs.HashResult``."""

    @property
    def name(self) -> str: ...

    @property
    def digest_size(self) -> int: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


class _CallCounter(Protocol):
    """The part of a ``functools.lru_cache`` wrapper the counts use."""

    def cache_info(self) -> functools._CacheInfo: ...

    def cache_clear(self) -> None: ...


def _counted(function: _F) -> _F:
    """``function`` behind a C-level call counter: with maxsize=0, lru_cache caches nothing and only counts
    calls (its ``misses``), one increment under the GIL, without a lock or a Python frame of its own."""
    return cast(_F, functools.lru_cache(maxsize=0)(function))


def _calls(counted: Callable[..., Any]) -> int:
    return cast(_CallCounter, counted).cache_info().misses


@dataclass(slots=True, eq=False)
class _Dispatch:
    """One function's Python side and what it recorded (its Rust side is the global ``_rust_<name>``)."""

    name: str
    python: Callable[..., Any]  # the reference behind its counter: every Python-served call goes here
    python_at: int = 0  # the function's call count at its latest Python-served call (0: none since reset)


_python_lock = threading.Lock()  # Python-served calls only: orders their records of python_at


def _dispatch_of(name: str) -> _Dispatch:
    reference_function: Callable[..., Any] = getattr(reference, name)

    @functools.wraps(reference_function)
    def serve_with_python(*args: Any, **kwargs: Any) -> Any:
        with _python_lock:
            dispatch.python_at = _total_calls(name)
        return reference_function(*args, **kwargs)

    dispatch = _Dispatch(name, _counted(serve_with_python))
    return dispatch


# The routing table: the registry's built-in pairs (each needs its routing function below).
_DISPATCH: dict[str, _Dispatch] = {name: _dispatch_of(name) for name in builtin_function_names()}
_python_forced = os.environ.get(FORCE_PYTHON_ENV) == "1"

# Each function's two sides as module globals, the cheapest names to load on every call. The Rust branch
# calls _rust_<name>: sky_rs's function, or the Python side when forced or missing (set by _bind_sides).
_python_read_last_n_lines: Callable[..., list[str]] = _DISPATCH["read_last_n_lines"].python
_python_hash_file: Callable[..., FileHash] = _DISPATCH["hash_file"].python
_python_find_free_port: Callable[..., int] = _DISPATCH["find_free_port"].python
_python_base36_encode: Callable[..., str] = _DISPATCH["base36_encode"].python
_python_format_float: Callable[..., str] = _DISPATCH["format_float"].python
_python_truncate_long_string: Callable[..., str] = _DISPATCH["truncate_long_string"].python
_python_get_cpu_count: Callable[..., int] = _DISPATCH["get_cpu_count"].python
_python_get_mem_size_gb: Callable[..., float] = _DISPATCH["get_mem_size_gb"].python
_python_get_parallel_threads: Callable[..., int] = _DISPATCH["get_parallel_threads"].python
_python_is_process_alive: Callable[..., bool] = _DISPATCH["is_process_alive"].python
_python_get_max_workers_for_file_mounts: Callable[..., int] = _DISPATCH[
    "get_max_workers_for_file_mounts"
].python
_python_estimate_fd_for_directory: Callable[..., int] = _DISPATCH["estimate_fd_for_directory"].python
_rust_read_last_n_lines: Callable[..., list[str]] = _python_read_last_n_lines
_rust_hash_file: Callable[..., FileHash] = _python_hash_file
_rust_find_free_port: Callable[..., int] = _python_find_free_port
_rust_base36_encode: Callable[..., str] = _python_base36_encode
_rust_format_float: Callable[..., str] = _python_format_float
_rust_truncate_long_string: Callable[..., str] = _python_truncate_long_string
_rust_get_cpu_count: Callable[..., int] = _python_get_cpu_count
_rust_get_mem_size_gb: Callable[..., float] = _python_get_mem_size_gb
_rust_get_parallel_threads: Callable[..., int] = _python_get_parallel_threads
_rust_is_process_alive: Callable[..., bool] = _python_is_process_alive
_rust_get_max_workers_for_file_mounts: Callable[..., int] = _python_get_max_workers_for_file_mounts
_rust_estimate_fd_for_directory: Callable[..., int] = _python_estimate_fd_for_directory


_hash_routes: dict[str, bool] = {}  # algorithm name -> whether sky_rs hashes it; a dict read is cheapest


def _bind_sides() -> None:
    """Points each function's Rust branch at sky_rs's function, or at Python when forced or missing."""
    _hash_routes.clear()  # what sky_rs hashes is looked up afresh too
    for name, dispatch in _DISPATCH.items():
        rust_function = None if _python_forced or not RUST_AVAILABLE else getattr(sky_rs, name, None)
        globals()[f"_rust_{name}"] = rust_function if callable(rust_function) else dispatch.python
        if _DISPATCHER is not None:
            # The entry's fast path runs sky_rs's own function: only while that is the function to call.
            built = _BUILT_RUST[name]
            _DISPATCHER.bind(name, _ROUTES[name], built is not None and rust_function is built)


def force_python(forced: bool = True) -> None:
    """Serve every call with Python (True) or let Rust serve what it supports again (False).

    Also looks up ``sky_rs``'s functions afresh (a test that replaces one calls this after)."""
    global _python_forced  # noqa: PLW0603 (the one switch of the module)
    _python_forced = forced
    _bind_sides()


def python_forced() -> bool:
    """Whether every call is served by Python now."""
    return _python_forced


@contextmanager
def forcing_python(forced: bool = True) -> Iterator[None]:
    """``force_python(forced)`` for the block, then the previous setting again."""
    previous = _python_forced
    force_python(forced)
    try:
        yield
    finally:
        force_python(previous)


def last_served(function: str) -> Impl | None:
    """The implementation that served the latest call of ``function``, None if it was not called."""
    if function not in _DISPATCH:
        return None
    calls = _total_calls(function)
    if calls == 0:
        return None
    return _PYTHON if _DISPATCH[function].python_at == calls else _RUST


def served_counts() -> dict[str, dict[Impl, int]]:
    """A copy of the counts: function -> implementation -> calls (functions and sides with calls only)."""
    counts: dict[str, dict[Impl, int]] = {}
    for name, dispatch in _DISPATCH.items():
        # Python's count first: every Python-served call was counted in the total before it.
        python_calls = _calls(dispatch.python)
        rust_calls = _total_calls(name) - python_calls
        sides = ((_RUST, rust_calls), (_PYTHON, python_calls))
        per_impl = {impl: calls for impl, calls in sides if calls > 0}
        if per_impl:
            counts[name] = per_impl
    return counts


def reset_served_counts() -> None:
    """Forget all counts and last-served records (meant for a moment when no call is running)."""
    with _python_lock:
        _reset_total_calls()
        for dispatch in _DISPATCH.values():
            cast(_CallCounter, dispatch.python).cache_clear()
            dispatch.python_at = 0


# --- the full routing rules (the slow path) ----------------------------------------------------------------


@functools.lru_cache(maxsize=_NAME_ROUTES_KEPT)
def _rust_codec_of(encoding: str) -> str | None:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    return name if name in _RUST_CODECS else None


def _rust_codec_name(encoding: object) -> str | None:
    """The canonical name of a codec sky_rs decodes (native/src/io_utils.rs ``Encoding``), else None."""
    if type(encoding) is str:
        return _rust_codec_of(encoding)
    return _rust_codec_of.__wrapped__(encoding) if isinstance(encoding, str) else None


def _is_cloud_str(cloud_str: object) -> bool:
    return cloud_str is None or type(cloud_str) is str


def _learn_hash_route(hash_alg: str) -> bool:
    rust_hashes = _rust_hashes(hash_alg)
    if len(_hash_routes) < _NAME_ROUTES_KEPT:
        _hash_routes[hash_alg] = rust_hashes
    return rust_hashes


def _rust_hashes(hash_alg: str) -> bool:
    """Whether ``hash_alg`` names an algorithm in ``sky_rs.SUPPORTED_HASH_ALGORITHMS``, spelled as hashlib's
    canonical name or as OpenSSL's (any case, ``sha-256``, ``sha3-256``)."""
    supported: object = getattr(sky_rs, "SUPPORTED_HASH_ALGORITHMS", frozenset()) if RUST_AVAILABLE else None
    if not isinstance(supported, frozenset):
        return False
    lowered = hash_alg.lower()
    return any(name in supported for name in (lowered, lowered.replace("-", "_"), lowered.replace("-", "")))


def _is_str_mapping(mounts: Mapping[str, str]) -> bool:
    if not isinstance(mounts, dict):
        return False
    for key, value in mounts.items():  # noqa: SIM110 (a loop: no generator frame per call)
        if type(key) is not str or type(value) is not str:
            return False
    return True


# --- the 12 routing functions: the common argument types first, then the full rules -----------------------


def _route_read_last_n_lines(
    file_path: str,
    n: int,
    chunk_size: int = 8192,
    encoding: str = _DEFAULT_ENCODING,
    errors: str = _DEFAULT_ERRORS,
) -> list[str]:
    """See ``harness.functions.reference.read_last_n_lines``."""
    if type(file_path) is str and type(n) is int and type(chunk_size) is int:
        if encoding is _DEFAULT_ENCODING and errors is _DEFAULT_ERRORS:  # left out: sky_rs's defaults too
            return _rust_read_last_n_lines(file_path, n, chunk_size)
        decodes_in_rust = type(errors) is str and errors in _RUST_DECODE_ERRORS
        rust_codec = _rust_codec_name(encoding) if decodes_in_rust else None
        if rust_codec is not None:
            return _rust_read_last_n_lines(file_path, n, chunk_size, rust_codec, errors)
    return _python_read_last_n_lines(file_path, n, chunk_size, encoding, errors)


def _route_hash_file(path: str, hash_alg: str) -> FileHash:
    """See ``harness.functions.reference.hash_file``."""
    if type(path) is str and type(hash_alg) is str:
        rust_hashes = _hash_routes.get(hash_alg)
        if rust_hashes is None:
            rust_hashes = _learn_hash_route(hash_alg)
        if rust_hashes:
            return _rust_hash_file(path, hash_alg)
    return _python_hash_file(path, hash_alg)


def _route_find_free_port(start_port: int) -> int:
    """See ``harness.functions.reference.find_free_port``."""
    if type(start_port) is int:
        return _rust_find_free_port(start_port)
    return _python_find_free_port(start_port)


def _route_base36_encode(hex_str: str) -> str:
    """See ``harness.functions.reference.base36_encode``."""
    if type(hex_str) is str:
        return _rust_base36_encode(hex_str)
    if isinstance(hex_str, str | bytes | bytearray):
        return _rust_base36_encode(hex_str)
    return _python_base36_encode(hex_str)


def _route_format_float(num: float | int, precision: int = 1) -> str:
    """See ``harness.functions.reference.format_float``."""
    num_type = type(num)
    if (num_type is float or num_type is int) and type(precision) is int:
        return _rust_format_float(num, precision)
    if isinstance(num, int | float) and type(precision) is int:
        return _rust_format_float(num, precision)
    return _python_format_float(num, precision)


def _route_truncate_long_string(s: str, max_length: int = 35, truncate_middle: bool = False) -> str:
    """See ``harness.functions.reference.truncate_long_string``."""
    if type(s) is str and type(max_length) is int and type(truncate_middle) is bool:
        return _rust_truncate_long_string(s, max_length, truncate_middle)
    return _python_truncate_long_string(s, max_length, truncate_middle)


def _route_get_cpu_count() -> int:
    """See ``harness.functions.reference.get_cpu_count``."""
    return _rust_get_cpu_count()


def _route_get_mem_size_gb() -> float:
    """See ``harness.functions.reference.get_mem_size_gb``."""
    return _rust_get_mem_size_gb()


def _route_get_parallel_threads(cloud_str: str | None = None) -> int:
    """See ``harness.functions.reference.get_parallel_threads``."""
    if cloud_str is None or type(cloud_str) is str:
        return _rust_get_parallel_threads(cloud_str)
    return _python_get_parallel_threads(cloud_str)


def _route_get_max_workers_for_file_mounts(
    common_file_mounts: Mapping[str, str], cloud_str: str | None = None
) -> int:
    """See ``harness.functions.reference.get_max_workers_for_file_mounts``."""
    if _is_cloud_str(cloud_str) and _is_str_mapping(common_file_mounts):
        # A dict subclass is copied, so Rust reads plain dict values.
        mounts = common_file_mounts if type(common_file_mounts) is dict else dict(common_file_mounts)
        return _rust_get_max_workers_for_file_mounts(mounts, cloud_str)
    return _python_get_max_workers_for_file_mounts(common_file_mounts, cloud_str)


def _route_is_process_alive(pid: int) -> bool:
    """See ``harness.functions.reference.is_process_alive``."""
    if type(pid) is int:
        return _rust_is_process_alive(pid)
    return _python_is_process_alive(pid)


def _route_estimate_fd_for_directory(path: str) -> int:
    """See ``harness.functions.reference.estimate_fd_for_directory``."""
    if type(path) is str:
        return _rust_estimate_fd_for_directory(path)
    return _python_estimate_fd_for_directory(path)


# --- the entry points callers get ---------------------------------------------------------------------------

_ROUTES: dict[str, Callable[..., Any]] = {name: globals()[f"_route_{name}"] for name in _DISPATCH}
_DISPATCH_API = ("bind", "calls", "reset_calls")


def _rust_dispatcher() -> sky_rs._Dispatch | None:
    """``sky_rs.dispatch`` when this build has all of it, else None (the entries are Python's then)."""
    dispatcher = getattr(sky_rs, "dispatch", None) if RUST_AVAILABLE else None
    needed = (*_DISPATCH, *_DISPATCH_API)
    if dispatcher is None or not all(callable(getattr(dispatcher, name, None)) for name in needed):
        return None
    return cast("sky_rs._Dispatch", dispatcher)


def _python_entry(name: str) -> Callable[..., Any]:
    entry = _counted(_ROUTES[name])
    entry.__name__ = entry.__qualname__ = name
    return entry


_DISPATCHER = _rust_dispatcher()
# sky_rs's functions as built: the entries' fast paths call these, so a replaced one turns its fast path off.
_BUILT_RUST: dict[str, object] = {
    name: getattr(sky_rs, name, None) if RUST_AVAILABLE else None for name in _DISPATCH
}
_ENTRIES: dict[str, Callable[..., Any]] = {
    name: getattr(_DISPATCHER, name) if _DISPATCHER is not None else _python_entry(name) for name in _DISPATCH
}


def _total_calls(name: str) -> int:
    """Calls of ``name`` through its entry, whichever side served them."""
    if _DISPATCHER is not None:
        return _DISPATCHER.calls(name)
    return _calls(_ENTRIES[name])


def _reset_total_calls() -> None:
    if _DISPATCHER is not None:
        _DISPATCHER.reset_calls()
        return
    for entry in _ENTRIES.values():
        cast(_CallCounter, entry).cache_clear()


if TYPE_CHECKING:  # each entry takes its routing function's arguments and returns what it returns
    read_last_n_lines = _route_read_last_n_lines
    hash_file = _route_hash_file
    find_free_port = _route_find_free_port
    base36_encode = _route_base36_encode
    format_float = _route_format_float
    truncate_long_string = _route_truncate_long_string
    get_cpu_count = _route_get_cpu_count
    get_mem_size_gb = _route_get_mem_size_gb
    get_parallel_threads = _route_get_parallel_threads
    get_max_workers_for_file_mounts = _route_get_max_workers_for_file_mounts
    is_process_alive = _route_is_process_alive
    estimate_fd_for_directory = _route_estimate_fd_for_directory
else:
    globals().update(_ENTRIES)

FUNCTIONS: Mapping[str, Callable[..., object]] = _ENTRIES
_bind_sides()

__all__ = [
    "FORCE_PYTHON_ENV",
    "FUNCTIONS",
    "RUST_AVAILABLE",
    "FileHash",
    "base36_encode",
    "estimate_fd_for_directory",
    "find_free_port",
    "force_python",
    "forcing_python",
    "format_float",
    "get_cpu_count",
    "get_max_workers_for_file_mounts",
    "get_mem_size_gb",
    "get_parallel_threads",
    "hash_file",
    "is_process_alive",
    "last_served",
    "python_forced",
    "read_last_n_lines",
    "reset_served_counts",
    "served_counts",
    "truncate_long_string",
]
