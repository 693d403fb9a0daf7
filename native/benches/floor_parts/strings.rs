//! Floors of the string and number functions: the digits or characters of the result written into a
//! reused buffer (no allocation; the Python str is the call floor's business, see docs/floors.md).

use super::Calls;
use std::fmt::Write;
use std::hint::black_box;

const BASE36_DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const ELLIPSIS: &str = "...";

/// 36**12, the largest power of 36 in a u64: a u128 is split into three u64 pieces once, as a u128
/// division per digit (a library call) would cost more than the whole conversion.
const BASE36_POW12: u128 = 4_738_381_338_321_616_896;

/// Writes `value` as exactly `digits.len()` base-36 digits (zero-padded).
fn write_u64_digits(mut value: u64, digits: &mut [u8]) {
    for slot in digits.iter_mut().rev() {
        *slot = BASE36_DIGITS[(value % 36) as usize];
        value /= 36;
    }
}

/// Base-36 digits of a u128 into `digits` (25 of them, zero-padded); returns where the number starts.
fn base36_digits(value: u128, digits: &mut [u8; 25]) -> usize {
    // One u128 division per piece; the remainders by multiplication.
    let rest = value / BASE36_POW12;
    let top = rest / BASE36_POW12;
    write_u64_digits((value - rest * BASE36_POW12) as u64, &mut digits[13..]);
    write_u64_digits((rest - top * BASE36_POW12) as u64, &mut digits[1..13]);
    write_u64_digits(top as u64, &mut digits[..1]);
    digits.iter().position(|&digit| digit != b'0').unwrap_or(digits.len() - 1)
}

/// The value of up to 32 hex digits by shifts (no overflow check needed); longer text the checked way.
fn parse_hex(hex: &str) -> Option<u128> {
    if hex.len() > 32 {
        return u128::from_str_radix(hex, 16).ok();
    }
    hex.bytes().try_fold(0u128, |value, byte| Some((value << 4) | u128::from(char::from(byte).to_digit(16)?)))
}

pub fn base36(calls: Calls) -> Box<dyn FnMut()> {
    let hexes: Vec<String> = calls.into_iter().map(|call| call[0].clone()).collect();
    let mut digits = [0u8; 25];
    Box::new(move || {
        for hex in &hexes {
            black_box(base36_digits(parse_hex(hex).unwrap_or(0), &mut digits));
        }
    })
}

/// A format_float argument: an int prints as `str(int)`, a float with its precision.
enum Number {
    Int(i64),
    Float(f64),
}

pub fn format_float(calls: Calls) -> Box<dyn FnMut()> {
    let numbers: Vec<(Number, usize)> = calls
        .iter()
        .map(|call| {
            let number = match call[0].parse::<i64>() {
                Ok(int) => Number::Int(int),
                Err(_) => Number::Float(call[0].parse().expect("a float")),
            };
            (number, call[1].parse().expect("precision"))
        })
        .collect();
    let mut text = String::with_capacity(64);
    Box::new(move || {
        for (number, precision) in &numbers {
            text.clear();
            let _ = match number {
                Number::Int(int) => write!(text, "{int}"),
                // A whole float below 2^53 written as the integer it equals (the port's fast path, as fast
                // as any: integer formatting); larger ones by the exact conversion.
                Number::Float(float) if float.fract() == 0.0 && float.abs() < 9_007_199_254_740_992.0 => {
                    #[allow(clippy::cast_possible_truncation)]
                    let integer = *float as i64;
                    if integer == 0 && float.is_sign_negative() {
                        write!(text, "-0")
                    } else {
                        write!(text, "{integer}")
                    }
                }
                Number::Float(float) if float.fract() == 0.0 => write!(text, "{float:.0}"),
                Number::Float(float) => write!(text, "{float:.precision$}"),
            };
            black_box(text.len());
        }
    })
}

/// The cut of a plain truncation: the last word boundary within `max_length` characters (or the limit).
fn truncate_into(text: &str, max_length: usize, middle: bool, out: &mut String) {
    out.clear();
    let mut boundaries = text.char_indices().map(|(index, _)| index);
    let Some(limit_index) = boundaries.nth(max_length) else {
        out.push_str(text); // not longer than max_length: unchanged
        return;
    };
    if middle {
        let kept = max_length.saturating_sub(ELLIPSIS.len());
        let head_index = text.char_indices().nth(kept - kept / 2).map_or(text.len(), |(index, _)| index);
        let tail_index = text.char_indices().rev().nth((kept / 2).max(1) - 1).map_or(0, |(index, _)| index);
        out.push_str(&text[..head_index]);
        out.push_str(ELLIPSIS);
        out.push_str(if kept / 2 == 0 { "" } else { &text[tail_index..] });
        return;
    }
    let head = &text[..limit_index];
    let cut = memchr::memrchr(b' ', head.as_bytes()).unwrap_or(limit_index);
    out.push_str(&text[..cut]);
    out.push_str(ELLIPSIS);
}

pub fn truncate(calls: Calls) -> Box<dyn FnMut()> {
    let strings: Vec<(String, usize, bool)> = calls
        .into_iter()
        .map(|call| {
            let middle = call.get(2).is_some_and(|flag| flag == "True");
            (call[0].clone(), call[1].parse().expect("max_length"), middle)
        })
        .collect();
    let mut out = String::with_capacity(128);
    Box::new(move || {
        for (text, max_length, middle) in &strings {
            truncate_into(text, *max_length, *middle, &mut out);
            black_box(out.len());
        }
    })
}
