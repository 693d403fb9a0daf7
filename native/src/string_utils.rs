//! `base36_encode`, `format_float` and `truncate_long_string` (spec sections 2.4-2.6).

use crate::errors::SkyError;
use crate::numeric_text::split_python_int;
use num_bigint::BigUint;

const BASE36_DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
pub const ELLIPSIS: &str = "...";
/// Hex digits that always fit a u128, the fast path (SkyPilot passes 32-digit md5/uuid hex).
const MAX_U128_HEX_DIGITS: usize = 32;

/// Why `base36_encode` rejected its input; the message needs Python's `repr` of the input, which the caller
/// supplies (see [`Base36Error::into_sky_error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base36Error {
    /// Not what `int(x, 16)` accepts for ASCII text (non-ASCII text included: a deviation).
    InvalidLiteral,
    /// A negative value (a deviation: SkyPilot loops forever).
    Negative,
    /// The conversion would not fit in memory (`MemoryError`).
    Memory,
}

impl Base36Error {
    /// The `ValueError` with the reference's message, given `repr(hex_str)`.
    pub fn into_sky_error(self, hex_str_repr: &str) -> SkyError {
        match self {
            Base36Error::InvalidLiteral => {
                SkyError::Value(format!("invalid literal for int() with base 16: {hex_str_repr}"))
            }
            Base36Error::Negative => {
                SkyError::Value(format!("base36_encode does not accept a negative value: {hex_str_repr}"))
            }
            Base36Error::Memory => SkyError::Memory,
        }
    }
}

/// 36**12, the largest power of 36 in a u64.
const BASE36_POW12: u128 = 4_738_381_338_321_616_896;
/// Base-36 digits of any u128: 36**25 > 2**128.
const MAX_U128_BASE36_DIGITS: usize = 25;

/// Writes `value` as exactly `digits.len()` base-36 digits (zero-padded).
fn write_base36_u64(mut value: u64, digits: &mut [u8]) {
    for slot in digits.iter_mut().rev() {
        *slot = BASE36_DIGITS[(value % 36) as usize];
        value /= 36;
    }
}

/// The base-36 digits of a `base36_encode` result: held on the stack when the value fits a u128 (every
/// md5 or uuid), so the common call allocates nothing before Python's `str` is made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base36Text {
    Short { digits: [u8; MAX_U128_BASE36_DIGITS], first_significant: usize },
    Long(String),
}

impl Base36Text {
    pub fn as_str(&self) -> &str {
        match self {
            // The digits are ASCII, so this never falls back.
            Base36Text::Short { digits, first_significant } => {
                std::str::from_utf8(&digits[*first_significant..]).unwrap_or_default()
            }
            Base36Text::Long(text) => text,
        }
    }
}

fn base36_of_u128(value: u128) -> Base36Text {
    // A u128 division is a slow library call, so split into u64 pieces of 12 digits each (the top piece is
    // below 36) with one division per piece, the remainders by multiplication, and convert those with
    // native division.
    let rest = value / BASE36_POW12;
    let high = rest / BASE36_POW12;
    let mut digits = [b'0'; MAX_U128_BASE36_DIGITS];
    write_base36_u64(high as u64, &mut digits[..1]);
    write_base36_u64((rest - high * BASE36_POW12) as u64, &mut digits[1..13]);
    write_base36_u64((value - rest * BASE36_POW12) as u64, &mut digits[13..]);
    let first_significant = digits.iter().position(|&d| d != b'0').unwrap_or(MAX_U128_BASE36_DIGITS - 1);
    Base36Text::Short { digits, first_significant }
}

/// The value of plain hex digits short enough for a u128 (at most 32: shifting them in cannot overflow),
/// parsed in one pass; None for anything else.
fn short_plain_hex(text: &str) -> Option<u128> {
    if text.is_empty() || text.len() > MAX_U128_HEX_DIGITS {
        return None;
    }
    text.bytes()
        .try_fold(0u128, |value, digit| Some((value << 4) | u128::from(char::from(digit).to_digit(16)?)))
}

/// Lower-case base-36 digits of `int(hex_str, 16)` at arbitrary precision (spec 2.4).
pub fn base36_encode(hex_str: &str) -> Result<Base36Text, Base36Error> {
    if let Some(value) = short_plain_hex(hex_str) {
        return Ok(base36_of_u128(value));
    }
    if !hex_str.is_ascii() {
        return Err(Base36Error::InvalidLiteral);
    }
    let (negative, digits) = split_python_int(hex_str, 16).ok_or(Base36Error::InvalidLiteral)?;
    reserve_for_big_conversion(digits.len())?;
    let magnitude = BigUint::parse_bytes(digits.as_bytes(), 16).ok_or(Base36Error::InvalidLiteral)?;
    if negative && magnitude != BigUint::ZERO {
        return Err(Base36Error::Negative);
    }
    Ok(Base36Text::Long(magnitude.to_str_radix(36)))
}

/// Whether `float.is_integer()` holds: finite with no fractional part.
pub fn is_whole_number(value: f64) -> bool {
    value.is_finite() && value.fract() == 0.0
}

/// Below this magnitude every whole float is an exact i64 (2^53).
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// A whole float with no decimals, as Python's `.0f` writes it. Below 2^53 its digits are those of the
/// integer it equals: integer formatting, several times cheaper than the exact float-to-decimal conversion
/// `{:.0}` runs (SkyPilot's whole floats are CPU counts and memory sizes). `-0.0` keeps its sign, as in Python.
pub fn whole_float_text(value: f64) -> String {
    if value.abs() < EXACT_INTEGER_LIMIT && !(value == 0.0 && value.is_sign_negative()) {
        // The cast is exact: the value is whole and below 2^53 in magnitude.
        #[allow(clippy::cast_possible_truncation)]
        let integer = value as i64;
        integer.to_string()
    } else {
        format!("{value:.0}")
    }
}

/// `format_float` for a float: no decimals for a whole number, else `precision` decimals (spec 2.5).
///
/// Rust's `{:.p$}` rounds exactly like Python's `.pf` (ties to even on the binary value); only NaN and the
/// infinities are spelled differently.
pub fn format_float(value: f64, precision: usize) -> String {
    if is_whole_number(value) {
        whole_float_text(value)
    } else if value.is_nan() {
        "nan".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{value:.precision$}")
    }
}

/// The first `count` code points of `s` (all of it if shorter).
fn char_prefix(s: &str, count: usize) -> &str {
    match s.char_indices().nth(count) {
        Some((byte_index, _)) => &s[..byte_index],
        None => s,
    }
}

/// The last `count` code points of `s` (`count` must be at most its length).
fn char_suffix(s: &str, count: usize) -> &str {
    if count == 0 {
        return "";
    }
    match s.char_indices().rev().nth(count - 1) {
        Some((byte_index, _)) => &s[byte_index..],
        None => s,
    }
}

/// Python's `s[:stop]` as a code-point count, negative `stop` counting from the end.
fn slice_stop(length: usize, stop: i64) -> usize {
    let length_i = i64::try_from(length).unwrap_or(i64::MAX);
    let resolved = if stop < 0 { length_i.saturating_add(stop).max(0) } else { stop.min(length_i) };
    usize::try_from(resolved).unwrap_or(0)
}

/// Where SkyPilot's truncation cuts, in code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// `len(s) <= max_length`: the string itself.
    Unchanged,
    /// `s[:head] + '...' + s[len(s) - tail:]`.
    Cut { head: usize, tail: usize },
}

/// SkyPilot's truncation plan over any sequence of code points (spec 2.6), quirks included: end mode cuts at
/// `max_length` or past it at a word boundary; middle mode keeps the head and the tail around `...`.
///
/// Generic so one algorithm serves ASCII bytes, chars, and Python's UTF-32 units of text with lone surrogates.
pub fn plan_truncation<T: Copy + PartialEq>(
    code_points: &[T],
    space: T,
    max_length: i64,
    truncate_middle: bool,
) -> Truncation {
    let length = code_points.len();
    if i64::try_from(length).is_ok_and(|length| length <= max_length) {
        return Truncation::Unchanged;
    }
    if truncate_middle {
        // Here 3 < max_length < len(s), so both slices are in range.
        let kept = usize::try_from(max_length).ok().and_then(|m| m.checked_sub(ELLIPSIS.len())).unwrap_or(0);
        let tail = kept / 2;
        return Truncation::Cut { head: kept - tail, tail };
    }
    let mut words = code_points.split(|&c| c == space);
    let first_length = words.next().map_or(0, <[T]>::len);
    let Ok(limit) = usize::try_from(max_length) else {
        // A negative max_length is below any length: Python slices the first word from its end.
        return Truncation::Cut { head: slice_stop(first_length, max_length), tail: 0 };
    };
    if first_length > limit {
        return Truncation::Cut { head: limit, tail: 0 };
    }
    // The words before the first index at which the word lengths (spaces not counted) reach max_length, or
    // all but the last word: their length with the spaces between them is the word-boundary cut P.
    let mut total_length = first_length;
    let mut prefix_length = 0;
    let mut words_before = 0usize;
    let mut previous_length = first_length;
    if total_length < limit {
        for word in words {
            // The previous word joins the prefix, with a space after all but the first.
            prefix_length += previous_length + usize::from(words_before > 0);
            words_before += 1;
            previous_length = word.len();
            total_length += previous_length;
            if total_length >= limit {
                break;
            }
        }
    }
    Truncation::Cut { head: prefix_length.max(limit), tail: 0 }
}

/// `truncate_long_string` of a Rust string, counting code points (spec 2.6). Buffers sized by the string
/// are reserved fallibly (`MemoryError`).
pub fn truncate_long_string(s: &str, max_length: i64, truncate_middle: bool) -> Result<String, SkyError> {
    // Bytes bound code points from above, so a short string needs no counting.
    let plan = if usize::try_from(max_length).is_ok_and(|limit| s.len() <= limit) {
        Truncation::Unchanged
    } else if s.is_ascii() {
        plan_truncation(s.as_bytes(), b' ', max_length, truncate_middle)
    } else {
        let mut chars = Vec::new();
        chars.try_reserve_exact(s.len())?;
        chars.extend(s.chars());
        plan_truncation(&chars, ' ', max_length, truncate_middle)
    };
    let pieces = match plan {
        Truncation::Unchanged => [s, "", ""],
        Truncation::Cut { head, tail } => [char_prefix(s, head), ELLIPSIS, char_suffix(s, tail)],
    };
    let mut truncated = String::new();
    truncated.try_reserve_exact(pieces.iter().map(|piece| piece.len()).sum())?;
    pieces.iter().for_each(|piece| truncated.push_str(piece));
    Ok(truncated)
}

/// Bytes to set aside before converting `hex_digits` digits at arbitrary precision: num-bigint allocates
/// infallibly, so the room its parse and its base-36 conversion need (about 2.5 bytes per digit at the
/// peak) is reserved and released first, and a lack of it is `MemoryError` instead of an abort.
fn reserve_for_big_conversion(hex_digits: usize) -> Result<(), Base36Error> {
    let mut room: Vec<u8> = Vec::new();
    room.try_reserve_exact(hex_digits.saturating_mul(3)).map_err(|_| Base36Error::Memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_spec_examples() {
        let cases = [
            ("ff", "73"),
            ("0x10", "g"),
            ("100", "74"),
            ("0", "0"),
            ("deadbeef", "1ps9wxb"),
            ("ffffffffffffffffffffffffffffffff", "f5lxx1zz5pnorynqglhzmsp33"),
            ("174c94f5c7f5a11941cab1d8069bf820", "1dnnp4655ofxd5nvtxhl1rhuo"),
            ("77fe611e20f1bd65209f766f67abc3c1", "73qoaddned4hf8r951m65curl"),
            (
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "5oaq0bjhj6un82wg98mgigso5q7qlhc63je4gw7ivixqqhkd3p",
            ),
            ("111111111111111111111111111111111", "g5zekuxkpakgttrptpbzlx0cx"),
            (" +0X_F_F\n", "73"),
            ("-0", "0"),
        ];
        for (hex, expected) in cases {
            assert_eq!(base36_encode(hex).as_ref().map(Base36Text::as_str), Ok(expected), "{hex:?}");
        }
    }

    #[test]
    fn base36_u128_path_matches_the_big_integer_path() {
        let mut value: u128 = 1;
        for _ in 0..200 {
            let text = format!("{value:x}");
            let expected = BigUint::from(value).to_str_radix(36);
            assert_eq!(
                base36_encode(&text).as_ref().map(Base36Text::as_str),
                Ok(expected.as_str()),
                "{text}"
            );
            value = value.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        }
        assert_eq!(
            base36_encode(&format!("{:x}", u128::MAX)).as_ref().map(Base36Text::as_str),
            Ok("f5lxx1zz5pnorynqglhzmsp33")
        );
        assert_eq!(
            base36_encode("00000000000000000000000000000000").as_ref().map(Base36Text::as_str),
            Ok("0")
        );
    }

    #[test]
    fn base36_rejects_invalid_and_negative_input() {
        for bad in ["", "xyz", "0x", "ff ff", "0x0x10", "١٢", "f\u{3000}"] {
            assert_eq!(base36_encode(bad), Err(Base36Error::InvalidLiteral), "{bad:?}");
        }
        assert_eq!(base36_encode("-ff"), Err(Base36Error::Negative));
        let error = Base36Error::InvalidLiteral.into_sky_error("'xyz'");
        assert_eq!(error, SkyError::Value("invalid literal for int() with base 16: 'xyz'".to_string()));
    }

    #[test]
    fn whole_floats_print_as_the_exact_conversion_does() {
        let mut values = vec![0.0, -0.0, 1.0, -1.0, 4096.0, 1e15, -1e15, 9_007_199_254_740_991.0];
        values.extend([9_007_199_254_740_992.0, -9_007_199_254_740_992.0, 1e300, -1e22, 2f64.powi(63)]);
        values.extend((0..2000).map(|i| f64::from(i) * 1024.0 - 1_000_000.0));
        for value in values {
            assert_eq!(whole_float_text(value), format!("{value:.0}"), "{value:e}");
        }
        assert_eq!(whole_float_text(-0.0), "-0");
    }

    #[test]
    fn format_float_spec_examples() {
        let cases: [(f64, usize, &str); 27] = [
            (2.0, 1, "2"),
            (2.5, 1, "2.5"),
            (2.25, 1, "2.2"),
            (0.25, 1, "0.2"),
            (2.35, 1, "2.4"),
            (0.05, 1, "0.1"),
            (0.15, 1, "0.1"),
            (-1.25, 1, "-1.2"),
            (1234.5678, 1, "1234.6"),
            (1234567.89, 2, "1234567.89"),
            (0.123, 2, "0.12"),
            (3.14158, 0, "3"),
            (2.5, 0, "2"),
            (3.5, 0, "4"),
            (62.5, 0, "62"),
            (15.999, 1, "16.0"),
            (0.96, 1, "1.0"),
            (0.5, 3, "0.500"),
            (1e-7, 1, "0.0"),
            (-0.0, 1, "-0"),
            (1.5e20, 1, "150000000000000000000"),
            (9007199254740993.0, 1, "9007199254740992"),
            (f64::NAN, 1, "nan"),
            (f64::INFINITY, 1, "inf"),
            (f64::NEG_INFINITY, 1, "-inf"),
            (16.0, 1, "16"),
            (2.0, 5, "2"),
        ];
        for (value, precision, expected) in cases {
            assert_eq!(format_float(value, precision), expected, "{value} {precision}");
        }
    }

    #[test]
    fn truncate_spec_examples() {
        let s48 = "this is a very long string that needs truncation";
        let zone = "us-west-2-availability-zone-1";
        let cases: [(&str, i64, bool, &str); 24] = [
            (s48, 35, false, "this is a very long string that needs..."),
            (s48, 20, false, "this is a very long ..."),
            (s48, 47, false, "this is a very long string that needs truncatio..."),
            (s48, 48, false, s48),
            ("hello world foo", 12, false, "hello world ..."),
            ("a b c d e f g", 5, false, "a b c d..."),
            ("supercalifragilistic word", 10, false, "supercalif..."),
            ("p3.16xlarge.extra.long", 15, false, "p3.16xlarge.ext..."),
            ("m6i.32xlarge-extra", 15, false, "m6i.32xlarge-ex..."),
            (
                "python train.py --epochs 100 --lr 0.001 --batch-size 64",
                25,
                false,
                "python train.py --epochs ...",
            ),
            ("日本語のテキスト です", 5, false, "日本語のテ..."),
            ("abcdef", 0, false, "..."),
            ("abcdef", -1, false, "abcde..."),
            ("", 10, false, ""),
            ("abcdefghijklmnopqrstuvwxyz", 10, true, "abcd...xyz"),
            ("abcdefghijklmnopqrstuvwxyz", 11, true, "abcd...wxyz"),
            ("abcde", 4, true, "a..."),
            (zone, 20, true, "us-west-2...y-zone-1"),
            (zone, 15, true, "us-wes...zone-1"),
            (zone, 3, true, "..."),
            (zone, 2, true, "..."),
            (zone, -5, true, "..."),
            ("us-east-1-very-long-region", 25, true, "us-east-1-v...long-region"),
            ("ääääää öööö", 5, false, "äääää..."),
        ];
        for (s, max_length, middle, expected) in cases {
            let truncated = truncate_long_string(s, max_length, middle);
            assert_eq!(truncated.as_deref(), Ok(expected), "{s:?} {max_length} {middle}");
        }
        assert_eq!(truncate_long_string(&"a  ".repeat(30), 29, false).map(|t| t.chars().count()), Ok(86));
        assert_eq!(truncate_long_string("abc", i64::MIN, false).as_deref(), Ok("..."));
        assert_eq!(reserve_for_big_conversion(usize::MAX), Err(Base36Error::Memory));
    }
}
