"""Hypothesis strategies for the parity properties: the edges the spec calls out, plus random input."""

from __future__ import annotations

from hypothesis import strategies as st

# --- strings ---------------------------------------------------------------------------------------------

# Spaces matter to truncate_long_string's word logic; the rest are multi-byte, combining, astral, wide and
# control characters that byte-based code gets wrong.
# "\udce9" is a lone surrogate, as os.fsdecode and sys.argv make from bytes that are not UTF-8; "\ud800" and
# "\udfff" are ones the file system encoding cannot carry back (os.stat raises UnicodeEncodeError on them).
_TRICKY_PIECES = [
    " ",
    " ",
    "a",
    "b",
    "Z",
    "é",
    "e\u0301",
    "\u0301",
    "日",
    "本",
    "😀",
    "\t",
    "\n",
    "\x00",
    "\udce9",
    "\ud800",
    "\udfff",
]
tricky_text = st.lists(
    st.one_of(st.sampled_from(_TRICKY_PIECES), st.characters(codec="utf-8")), max_size=100
).map("".join)

_HEX_DIGITS = "0123456789abcdefABCDEF"
_WHITESPACE = " \t\n\r\x0b\x0c"


@st.composite
def decorated_hex(draw: st.DrawFn) -> str:
    """Valid ``int(x, 16)`` input: digits with single underscores, a sign, 0x/0X, surrounding whitespace."""
    digits = draw(st.text(alphabet=_HEX_DIGITS, min_size=1, max_size=80))
    if draw(st.booleans()):
        positions = draw(st.sets(st.integers(1, len(digits) - 1), max_size=5)) if len(digits) > 1 else set()
        digits = "".join(("_" + ch) if index in positions else ch for index, ch in enumerate(digits))
    prefix = draw(st.sampled_from(["", "", "0x", "0X", "0x_"]))
    sign = draw(st.sampled_from(["", "", "+", "-"]))
    left = draw(st.text(alphabet=_WHITESPACE, max_size=2))
    right = draw(st.text(alphabet=_WHITESPACE, max_size=2))
    return left + sign + prefix + digits + right


hex_like_text = st.one_of(
    decorated_hex(),
    # Near misses: doubled or trailing underscores, inner spaces, repeated prefixes, bare signs.
    st.text(alphabet=_HEX_DIGITS + "xX_+- \n", max_size=24),
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=4),  # non-ASCII digits
    tricky_text,
)

# --- numbers ---------------------------------------------------------------------------------------------

# Binary fractions with exact decimal ties (k/8), to exercise round-half-to-even.
_ties = st.integers(-(10**7), 10**7).map(lambda k: k / 8)
format_numbers = st.one_of(
    st.floats(),  # includes nan, ±inf, -0.0, subnormals, huge values
    _ties,
    st.sampled_from([0.05, 0.15, 2.35, 2.5, 0.5, 1e15 + 0.5, 2.0**52 + 0.5, 1e22, 1e300, 5e-324, -0.0]),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),  # beyond 64 bits
    st.booleans(),
)
format_precisions = st.one_of(
    st.integers(0, 6), st.integers(-3, 40), st.integers(990, 1010)
)  # Rust formats up to 1000

# --- files -----------------------------------------------------------------------------------------------

_LINE_PIECES = [
    b"\n",
    b"\r\n",
    b"\r",
    b"\r\r\n",
    b"a",
    b"line",
    b"\xff",
    b"\xe2\x82",
    "é€😀".encode(),
    b"\x00",
]


@st.composite
def log_bytes(draw: st.DrawFn) -> bytes:
    """File content: CRLF, lone CR, invalid UTF-8, long lines, with or without a trailing newline."""
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(_LINE_PIECES),
                st.integers(1, 300).map(lambda length: b"x" * length),  # longer than small chunks
                st.binary(max_size=20),
            ),
            max_size=40,
        )
    )
    return b"".join(pieces)


line_counts = st.one_of(st.integers(0, 12), st.integers(0, 200))
# Sizes far beyond the file: both sides read min(chunk_size, what is left), never chunk_size itself.
chunk_sizes = st.one_of(st.integers(1, 40), st.sampled_from([8192, 2**20, 2**40, 2**62]))

# --- cgroups and the environment --------------------------------------------------------------------------

_NUMBER_TOKENS = [
    "max", "-1", "0", "0.0", "-0", "1", "50000", "100000", "150000", "1e5", "1_000", "nan", "inf", "-inf",
    "abc", "", "100000.5", "١٢", "1e400",
]  # fmt: skip
number_token = st.one_of(
    st.sampled_from(_NUMBER_TOKENS),
    st.integers(-(10**6), 10**7).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def cpu_max_content(draw: st.DrawFn) -> str | bytes | None:
    """cpu.max: usually "<quota> <period>", sometimes junk, invalid UTF-8, or a directory (None)."""
    shape = draw(st.integers(0, 9))
    if shape <= 6:
        return f"{draw(number_token)} {draw(number_token)}" + draw(st.sampled_from(["", "\n", " \n"]))
    if shape == 7:
        return " ".join(draw(st.lists(number_token, max_size=4)))
    if shape == 8:
        return draw(st.sampled_from([b"\xff\xfe 100000", None]))
    return draw(st.text(max_size=12))


file_token = st.one_of(
    number_token.map(lambda token: token + "\n"),
    st.sampled_from([None, b"\xff", "9223372036854771712", "99999999999999999999999", " 4294967296 "]),
)

env_value = st.one_of(
    st.sampled_from(["4", "2.9", "0.5", "-1", " 8 ", "1e1", "abc", "nan", "", "inf", "1_000", "١٢", "1e300"]),
    st.floats().map(repr),
    st.integers(-(10**12), 10**12).map(str),
    st.text(alphabet="0123456789.eE+-_ xin", max_size=8),
    # os.environ's view of bytes that are not UTF-8, and surrogates a caller's mapping may hold.
    st.sampled_from(["\udcff", "4\udcff", "\udce9.5", "1\ud800", "\udfff"]),
)

cloud_names = st.one_of(
    st.none(),
    st.sampled_from(["kubernetes", "Kubernetes", "KUBERNETES", "k8s", " kubernetes", "aws", "SSH", ""]),
    tricky_text,
)
online_cpu_counts = st.one_of(st.none(), st.integers(1, 4096))
nofile_limits = st.one_of(st.just(-1), st.integers(-200, 5000), st.integers(0, 2**40))

# --- pids --------------------------------------------------------------------------------------------------

pids = st.one_of(
    st.integers(-5, 5),
    st.integers(1, 4_194_304),  # Linux's largest pid_max
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**63, 2**64]),
)
