"""sky_rs: the Rust port of 12 SkyPilot 0.14.1 utility functions (behaviour: ../shared/spec/functions.md).

Every function returns what ``harness.functions.reference`` returns and raises the same exception types (and,
where the
spec names SkyPilot's own text, the same messages). Arguments Rust does not handle raise ``TypeError`` or
``ValueError`` as noted per function; ``harness.functions.fallback`` sends those calls to the Python
reference instead.
Paths are ``str`` or ``os.PathLike[str]`` (``bytes`` paths raise ``TypeError``). File and directory I/O runs
with the GIL released.
"""

from collections.abc import Mapping
from os import PathLike
from typing import Any, Final, Protocol, SupportsIndex, final

__all__ = [
    "SUPPORTED_HASH_ALGORITHMS",
    "HashResult",
    "__source_digest__",
    "__version__",
    "_build_result_objects",
    "_get_cpu_count_at",
    "_get_max_workers_for_file_mounts_with",
    "_get_mem_size_gb_at",
    "_get_parallel_threads_with",
    "_is_process_alive_at",
    "_noop",
    "base36_encode",
    "dispatch",
    "estimate_fd_for_directory",
    "find_free_port",
    "format_float",
    "get_cpu_count",
    "get_max_workers_for_file_mounts",
    "get_mem_size_gb",
    "get_parallel_threads",
    "hash_file",
    "is_process_alive",
    "read_last_n_lines",
    "truncate_long_string",
]

__version__: Final[str]
"""The crate version (native/Cargo.toml)."""

__source_digest__: Final[str]
"""SHA-256 (hex) of the Rust sources, Cargo.toml, Cargo.lock, cargo profile and features this build was
made from (native/build.rs; docs/gate.md). The gate never measures a build whose digest is not its tree's."""

SUPPORTED_HASH_ALGORITHMS: Final[frozenset[str]]
"""hashlib's canonical (lower-case) names of the algorithms ``hash_file`` computes in Rust: md5, sha1, sha224,
sha256, sha384, sha512, sha512_224, sha512_256, sha3_224, sha3_256, sha3_384, sha3_512, blake2b, blake2s, less
any the system OpenSSL does not provide (MD5 under a FIPS configuration, say)."""

_StrPath = str | PathLike[str]

# --- io_utils ---------------------------------------------------------------------------------------------

def read_last_n_lines(
    file_path: _StrPath,
    n: int,
    chunk_size: int = 8192,
    encoding: str = "utf-8",
    errors: str = "replace",
) -> list[str]:
    """The last ``n`` lines of a file, ``'\\n'`` kept on all but the last (spec 2.1).

    Only ``\\n`` splits lines; each line is decoded on its own and loses all trailing ``\\r``. The file is
    scanned backwards in ``chunk_size`` steps, so only the tail is read.

    Rust decodes ``encoding`` utf-8, latin-1 and ascii (any of Python's aliases) with ``errors`` strict,
    replace or ignore; any other encoding or handler raises ``ValueError`` before the file is touched (the
    fallback sends those to Python). ``n`` and ``chunk_size`` must be ints (bools count), else ``TypeError``.

    Raises:
        AssertionError: ``n < 0`` (``n must be non-negative. Got {n}``), ``chunk_size <= 0``, or a path that
            does not exist (``File not found: {file_path}``); raised explicitly, so ``python -O`` keeps them.
        RuntimeError: ``Failed to read last {n} lines from {file_path}: {oserror}``, chained from the
            ``OSError`` (a directory, no permission).
        UnicodeDecodeError: invalid bytes with ``errors='strict'``.
    """

@final
class HashResult:
    """What ``hash_file`` returns: a finished digest with the hashlib accessors SkyPilot's callers use."""

    @property
    def name(self) -> str:
        """hashlib's canonical name, e.g. ``'sha256'`` also for ``hash_file(p, 'SHA256')``."""

    @property
    def digest_size(self) -> int:
        """The digest length in bytes."""

    def hexdigest(self) -> str:
        """The digest as lower-case hex."""

    def digest(self) -> bytes:
        """The digest bytes."""

def hash_file(path: _StrPath, hash_alg: str) -> HashResult:
    """The digest of a file's bytes (spec 2.2), read in 64 KiB blocks with the GIL released.

    MD5, SHA-1, SHA-2 and SHA-3 are computed by the system OpenSSL, the library ``hashlib`` uses; BLAKE2 by
    RustCrypto's ``blake2``. The file is opened before the algorithm is looked up, as Python does, so a
    missing file or a directory wins over a bad name. Names are accepted as ``hashlib.new`` accepts them
    for the algorithms in ``SUPPORTED_HASH_ALGORITHMS`` (the canonical name, or an OpenSSL name in any
    case: ``'SHA256'``, ``'sha-256'``, ``'SHA3-256'``, ``'BLAKE2B512'``). hashlib-only algorithms (shake_*,
    sm3, ripemd160, md5-sha1) raise ``ValueError`` here: route them to Python.

    Raises:
        OSError: the subclass ``open()`` raises (``FileNotFoundError``, ``IsADirectoryError``, ...).
        TypeError: ``name must be a string`` (hashlib's text) for a name that is not a ``str``, or holds a
            NUL or a lone surrogate.
        ValueError: ``unsupported hash type {hash_alg}``.
    """

def find_free_port(start_port: int) -> int:
    """The first port in ``start_port``..65534 that binds on 0.0.0.0, without SO_REUSEADDR and without
    ``listen()`` (spec 2.3). The port is not held afterwards. ``find_free_port(0)`` is 0.

    Raises:
        OSError: ``No free ports available.`` (including ``start_port >= 65535``).
        OverflowError: ``bind(): port must be 0-65535.`` for a negative ``start_port``.
        TypeError: a non-int ``start_port``.
    """

# --- string_utils -----------------------------------------------------------------------------------------

def base36_encode(hex_str: str | bytes | bytearray) -> str:
    """Lower-case base-36 digits of ``int(hex_str, 16)``, at arbitrary precision (spec 2.4).

    Accepts what ``int(x, 16)`` accepts for ASCII text: surrounding whitespace, a sign, ``0x``/``0X``, single
    underscores between digits.

    Raises:
        ValueError: ``invalid literal for int() with base 16: {repr}`` (non-ASCII text included, a
            deviation), or ``base36_encode does not accept a negative value: {repr}`` (a deviation: SkyPilot
            loops forever).
        TypeError: neither text nor bytes.
    """

def format_float(num: float | int, precision: SupportsIndex = 1) -> str:
    """``str(num)`` for an int (``True`` gives ``'True'``), no decimal point for a whole float, else
    ``precision`` decimals rounded as Python does; ``'nan'``, ``'inf'``, ``'-inf'`` (spec 2.5).

    Floats (subclasses such as numpy.float64 included) with an int precision of 0-1000 are formatted in
    Rust; other types and unusual precisions go through Python's ``format``, with SkyPilot's exact results
    and errors.

    Raises:
        ValueError: ``Format specifier missing precision`` (negative or bool precision) or ``Invalid format
            specifier ...``, only for a float with a fractional part.
        AttributeError: a type without ``is_integer``, e.g. ``'str' object has no attribute 'is_integer'``.
    """

def truncate_long_string(s: str, max_length: int = 35, truncate_middle: bool = False) -> str:
    """SkyPilot's truncation in code points, quirks included (spec 2.6).

    End mode returns ``s[:max(max_length, P)] + '...'``, where ``P`` ends at the word boundary where the word
    lengths reach ``max_length`` (so the result can exceed the limit). Middle mode keeps the head and the
    tail around ``'...'``, exactly ``max_length`` long, or ``'...'`` for ``max_length <= 3``. A negative
    ``max_length`` slices as Python does. Text with lone surrogates is cut exactly as Python cuts it.

    Raises:
        TypeError: ``s`` is not a str, or ``max_length`` is not an int and the string is longer than it
            (Python's own comparison error for None); non-int lengths are better sent to Python.
    """

# --- system_utils -----------------------------------------------------------------------------------------

def get_cpu_count() -> int:
    """CPUs this process may use (spec 2.7): ``int(float($SKYPILOT_POD_CPU_CORE_LIMIT))`` if set, else
    min(online CPUs, affinity mask size, floor(cgroup quota)); a cgroup v2 period of 0 means no limit.

    Raises:
        ValueError: ``Failed to parse the number of CPUs from {value}`` (unparsable or NaN override).
        OverflowError: ``cannot convert float infinity to integer`` (an infinite override or quota).
    """

def get_mem_size_gb() -> float:
    """Memory in GiB (spec 2.8): ``$SKYPILOT_POD_MEMORY_GB_LIMIT``, else ``$SKYPILOT_POD_MEMORY_BYTES_LIMIT``
    / 1024**3, else min(MemTotal, cgroup memory limit) / 1024**3.

    Raises:
        ValueError: ``Failed to parse the memory size from {value} (GB)`` or ``... (bytes)``.
    """

def _get_cpu_count_at(
    cgroup_root: _StrPath, environ: Mapping[str, str], online_cpus: int, affinity_cpus: int | None
) -> int:
    """``get_cpu_count`` with the cgroup root, the environment, the online CPU count and the affinity size
    injected (docs/interfaces.md section 1)."""

def _get_mem_size_gb_at(cgroup_root: _StrPath, environ: Mapping[str, str], host_total_bytes: int) -> float:
    """``get_mem_size_gb`` with the cgroup root, the environment and the host memory (bytes) injected."""

# --- process_utils ----------------------------------------------------------------------------------------

def get_parallel_threads(cloud_str: str | None = None) -> int:
    """``max(4, os.cpu_count() - 1)``, times 4 when ``cloud_str.lower() == 'kubernetes'`` (spec 2.9). Not
    cgroup- or affinity-aware, as in SkyPilot. A truthy non-str ``cloud_str`` raises ``AttributeError``."""

def _get_parallel_threads_with(cloud_str: str | None, online_cpus: int | None) -> int:
    """``get_parallel_threads`` with ``os.cpu_count()`` injected (None counts as 1)."""

def get_max_workers_for_file_mounts(
    common_file_mounts: Mapping[str, str], cloud_str: str | None = None
) -> int:
    """Parallel rsync workers (spec 2.11): ``(soft NOFILE limit - 100) // fd_per_rsync``, at least 1, at most
    ``get_parallel_threads(cloud_str)``; ``fd_per_rsync = max(5, estimate_fd_for_directory(v) for each
    value)``. An unlimited soft limit gives the thread cap (a deviation: SkyPilot returns 1).

    Raises:
        OSError: the subclass of a listing error on a source that is a directory.
    """

def _get_max_workers_for_file_mounts_with(
    common_file_mounts: Mapping[str, str],
    cloud_str: str | None,
    nofile_soft_limit: int,
    online_cpus: int | None,
) -> int:
    """``get_max_workers_for_file_mounts`` with the NOFILE soft limit (-1 = unlimited) and the CPU count
    injected."""

def is_process_alive(pid: int) -> bool:
    """``psutil.pid_exists`` semantics on Linux (spec Decision 3): False for ``pid <= 0``; ``kill(pid, 0)``
    ESRCH -> False, EPERM or success -> alive; a thread id (``Tgid != pid`` in /proc/PID/status) -> False,
    with /proc's listing as the fallback when status is unreadable. Zombies count as alive.

    Raises:
        OverflowError: ``pid`` beyond a C int.
        OSError: any other ``kill`` errno.
    """

def _is_process_alive_at(pid: int, proc_root: _StrPath) -> bool:
    """``is_process_alive`` with ``/proc`` injected (``kill`` is still the real one)."""

def estimate_fd_for_directory(path: _StrPath) -> int:
    """``5 * len(os.listdir(path))`` if ``os.path.isdir(path)`` (symlinks followed), else 0 (spec 2.12).

    Raises:
        OSError: the subclass of a listing error after the directory test (e.g. ``PermissionError``).
    """

def _noop() -> None:
    """Does nothing: the cost of a call into the module."""

def _build_result_objects(results: list[object], loops: int) -> tuple[int, int]:
    """Creates anew, ``loops`` times, the objects of ``results`` (one call's result each) and drops them.

    A str, a list of str, an int or a float is created as cheaply as CPython allows; other results (None,
    bools, ints past 64 bits, other types) create nothing. Returns how many results needed an object (0:
    nothing to time) and the nanoseconds the loops took (the creating alone: reading ``results`` into
    templates first is not counted). The result objects' floor (docs/floors.md).

    Raises:
        ValueError: ``loops`` is 0.
        OverflowError: ``loops`` is negative.
    """

# --- dispatch ---------------------------------------------------------------------------------------------

class _Dispatch(Protocol):
    """``sky_rs.dispatch``: the entry points ``harness.functions.fallback`` hands to callers, one per
    function above with its arguments. The common exact argument types run the function here; any other
    shape, and every call while the function's fast path is off, calls the routing function bound to it."""

    def __getattr__(self, function_name: str) -> Any: ...
    def bind(self, name: str, route: Any, fast: bool) -> None:
        """Binds the routing function of ``name`` and turns its fast path on or off (``ValueError`` for a
        name it does not route, ``TypeError`` for a route that is not callable)."""

    def calls(self, name: str) -> int:
        """Calls of ``name`` since ``reset_calls``, whichever side served them."""

    def reset_calls(self) -> None:
        """Sets every call count to 0."""

dispatch: Final[_Dispatch]
