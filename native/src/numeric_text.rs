//! Python's rules for numbers written as text: `float(s)` and `int(s, base)`.
//!
//! Both functions first map non-ASCII whitespace to a space and Unicode decimal digits (category Nd) to ASCII
//! digits, then parse ASCII: surrounding whitespace, a sign, and single underscores between digits.

use num_bigint::{BigInt, BigUint, Sign};

/// The code points with decimal value 0 of every Nd run in Unicode 14.0 (Python 3.11's tables); each run
/// holds the ten digits 0-9 in order.
const DECIMAL_DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50,
    0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40,
    0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066,
    0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950,
    0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
    0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// The decimal value of a Unicode decimal digit (`unicodedata.decimal`), if it is one.
fn unicode_decimal_value(c: char) -> Option<u8> {
    let code = u32::from(c);
    let run = DECIMAL_DIGIT_ZEROS.partition_point(|&zero| zero <= code).checked_sub(1)?;
    let offset = code - DECIMAL_DIGIT_ZEROS[run];
    u8::try_from(offset).ok().filter(|&digit| digit < 10)
}

/// Python's `str.isspace()` (what `str.strip()` and `str.split()` use): Unicode White_Space plus the ASCII
/// separators `\x1c`-`\x1f`.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.strip()` without arguments.
pub fn python_strip(text: &str) -> &str {
    text.trim_matches(is_python_space)
}

/// What CPython does before parsing a number from `str`: non-ASCII spaces become `' '`, Unicode decimal digits
/// become ASCII digits; any other non-ASCII character makes the text invalid (None).
fn to_ascii_numeric_text(text: &str) -> Option<String> {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                Some(c)
            } else if c.is_whitespace() {
                Some(' ')
            } else {
                unicode_decimal_value(c).map(|digit| char::from(b'0' + digit))
            }
        })
        .collect()
}

/// C's `isspace` in the "C" locale, which CPython's number parsers use on the ASCII text.
fn is_ascii_number_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Removes underscores that sit between two ASCII digits; None if any underscore sits elsewhere.
fn without_digit_separators(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut kept = String::with_capacity(text.len());
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'_' {
            let before = index.checked_sub(1).and_then(|i| bytes.get(i));
            let after = bytes.get(index + 1);
            if !(before.is_some_and(u8::is_ascii_digit) && after.is_some_and(u8::is_ascii_digit)) {
                return None;
            }
        } else {
            kept.push(char::from(byte));
        }
    }
    Some(kept)
}

/// `float(text)`; None where Python raises `ValueError`.
pub fn parse_python_float(text: &str) -> Option<f64> {
    let ascii = to_ascii_numeric_text(text)?;
    let trimmed = ascii.trim_matches(is_ascii_number_space);
    let plain = without_digit_separators(trimmed)?;
    // Rust's grammar matches Python's (signs, exponents, inf/infinity/nan in any case) once underscores are
    // gone; both round correctly. Rust alone accepts nothing extra that survives the checks above.
    plain.parse::<f64>().ok()
}

/// The digits of `int(text, radix)` for radix 10 or 16 (Python's `0x`/`0X` prefix only for 16): the sign and
/// the ASCII digits with their single underscores (which num-bigint's parser skips); None where Python raises
/// `ValueError`. Borrows from `text`: nothing is allocated before the input is known to be valid.
pub fn split_python_int(text: &str, radix: u32) -> Option<(bool, &str)> {
    let trimmed = text.trim_matches(is_ascii_number_space);
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let mut body = unsigned;
    if radix == 16 {
        if let Some(rest) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            // Python allows one underscore right after the prefix: int('0x_f', 16) == 15.
            body = rest.strip_prefix('_').unwrap_or(rest);
        }
    }
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    // Not empty, no leading or trailing or doubled underscore: so at least one digit.
    if !body.chars().all(|c| c == '_' || c.is_digit(radix)) {
        return None;
    }
    Some((negative, body))
}

/// `int(text, radix)` for radix 10 or 16 at arbitrary precision; None where Python raises `ValueError`.
pub fn parse_python_int(text: &str, radix: u32) -> Option<BigInt> {
    let ascii = to_ascii_numeric_text(text)?;
    let (negative, digits) = split_python_int(&ascii, radix)?;
    let magnitude = BigUint::parse_bytes(digits.as_bytes(), radix)?;
    let sign = if negative { Sign::Minus } else { Sign::Plus };
    Some(BigInt::from_biguint(sign, magnitude))
}

/// `int(text, radix)` restricted to ASCII text (the deviation for `base36_encode`): the sign and the magnitude.
pub fn parse_python_ascii_int(text: &str, radix: u32) -> Option<(bool, BigUint)> {
    if !text.is_ascii() {
        return None;
    }
    let (negative, digits) = split_python_int(text, radix)?;
    let magnitude = BigUint::parse_bytes(digits.as_bytes(), radix)?;
    Some((negative, magnitude))
}

/// Python's `int(x)` of a finite float (truncation toward zero), exactly at any magnitude.
pub fn truncate_float_to_int(value: f64) -> Option<BigInt> {
    if !value.is_finite() {
        return None;
    }
    num_traits::FromPrimitive::from_f64(value.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_accepts_what_python_accepts() {
        let cases: [(&str, f64); 11] = [
            ("4", 4.0),
            (" 8 ", 8.0),
            ("1e1", 10.0),
            ("1_000.5", 1000.5),
            ("1e1_0", 1e10),
            ("+Infinity", f64::INFINITY),
            ("-iNf", f64::NEG_INFINITY),
            ("1.", 1.0),
            (".5", 0.5),
            ("\u{3000}1.5\u{2028}", 1.5),
            ("١_٢", 12.0),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_python_float(text), Some(expected), "{text:?}");
        }
        assert!(parse_python_float("-nan").is_some_and(f64::is_nan));
    }

    #[test]
    fn float_rejects_what_python_rejects() {
        for text in
            ["", " ", "abc", "1__0", "_1", "1_", "1_.5", "1._5", "1_e5", "in_f", ".", "e5", "1e", "0x10"]
        {
            assert_eq!(parse_python_float(text), None, "{text:?}");
        }
        // \x1c is whitespace for str.strip() but not for float().
        assert_eq!(parse_python_float("\x1c1"), None);
    }

    #[test]
    fn int_follows_python_base_16_rules() {
        let value = |text: &str| parse_python_int(text, 16);
        assert_eq!(value("0x_f"), Some(BigInt::from(15)));
        assert_eq!(value(" -f\n"), Some(BigInt::from(-15)));
        assert_eq!(value("+0X10"), Some(BigInt::from(16)));
        assert_eq!(value("0b1"), Some(BigInt::from(0xb1)));
        for bad in ["", "_f", "f_", "f__f", "- f", "0x", "0x__f", "1_0x", "xyz", "ff ff", "0x0x10", "\x1cf"] {
            assert_eq!(value(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn int_base_10_takes_unicode_digits_but_ascii_variant_does_not() {
        assert_eq!(parse_python_int("١٢", 10), Some(BigInt::from(12)));
        assert_eq!(parse_python_ascii_int("١٢", 16), None);
        assert_eq!(parse_python_int("0x10", 10), None);
    }

    #[test]
    fn float_truncation_is_exact_beyond_64_bits() {
        let expected: BigInt = "1000000000000000019884624838656".parse().unwrap_or_default();
        assert_eq!(truncate_float_to_int(1e30), Some(expected));
        assert_eq!(truncate_float_to_int(-2.9), Some(BigInt::from(-2)));
        assert_eq!(truncate_float_to_int(f64::NAN), None);
    }

    #[test]
    fn python_space_includes_the_ascii_separators() {
        assert!(is_python_space('\x1c') && is_python_space('\u{85}') && !is_python_space('\u{feff}'));
        assert_eq!(python_strip("\x1f 12\u{3000}"), "12");
    }
}
