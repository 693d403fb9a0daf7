//! The text codecs `read_last_n_lines` decodes in Rust (utf-8, latin-1, ascii under any alias) and the
//! `errors=` handlers it supports, decoding as Python's `bytes.decode` does, errors and their wording included.

use crate::errors::{try_copy, SkyError};
use std::ops::Range;

/// The codecs `read_last_n_lines` decodes in Rust; the fallback wrapper sends any other to Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Latin1,
    Ascii,
}

impl Encoding {
    /// The codec Python's `codecs.lookup(name)` finds, if it is one of ours: names are normalised as
    /// `encodings.normalize_encoding` does (lower case, runs of punctuation to `_`), then aliases resolved.
    pub fn from_python_name(name: &str) -> Option<Self> {
        let mut normalized = String::with_capacity(name.len().min(64));
        let mut pending_separator = false;
        for c in name.chars() {
            if c.is_alphanumeric() || c == '.' {
                if pending_separator && !normalized.is_empty() {
                    normalized.push('_');
                }
                // Python drops non-ASCII letters and digits here.
                if c.is_ascii() {
                    normalized.push(c.to_ascii_lowercase());
                }
                pending_separator = false;
            } else {
                pending_separator = true;
            }
        }
        Self::from_normalized(&normalized).or_else(|| Self::from_normalized(&normalized.replace('.', "_")))
    }

    fn from_normalized(name: &str) -> Option<Self> {
        match name {
            "utf_8" | "utf8" | "u8" | "utf" | "cp65001" | "utf8_ucs2" | "utf8_ucs4" => Some(Encoding::Utf8),
            "latin_1" | "latin1" | "latin" | "l1" | "8859" | "cp819" | "csisolatin1" | "ibm819"
            | "iso8859" | "iso8859_1" | "iso_8859_1" | "iso_8859_1_1987" | "iso_ir_100" => {
                Some(Encoding::Latin1)
            }
            "ascii" | "646" | "ansi_x3.4_1968" | "ansi_x3_4_1968" | "ansi_x3.4_1986" | "cp367"
            | "csascii" | "ibm367" | "iso646_us" | "iso_646.irv_1991" | "iso_ir_6" | "us" | "us_ascii" => {
                Some(Encoding::Ascii)
            }
            _ => None,
        }
    }
}

/// The `errors=` handlers `read_last_n_lines` supports in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrors {
    Strict,
    Replace,
    Ignore,
}

impl DecodeErrors {
    /// Python's handler names are exact (case-sensitive).
    pub fn from_python_name(name: &str) -> Option<Self> {
        match name {
            "strict" => Some(DecodeErrors::Strict),
            "replace" => Some(DecodeErrors::Replace),
            "ignore" => Some(DecodeErrors::Ignore),
            _ => None,
        }
    }
}

/// Python's reason text for the first invalid UTF-8 sequence at `start`.
fn utf8_error_reason(bytes: &[u8], start: usize, error_length: Option<usize>) -> &'static str {
    match (error_length, bytes.get(start)) {
        (None, _) => "unexpected end of data",
        (Some(_), Some(0x80..=0xc1 | 0xf5..=0xff)) => "invalid start byte",
        (Some(_), _) => "invalid continuation byte",
    }
}

/// `text.push_str(piece)`, growing fallibly.
pub(super) fn push_fallibly(text: &mut String, piece: &str) -> Result<(), SkyError> {
    text.try_reserve(piece.len())?;
    text.push_str(piece);
    Ok(())
}

fn decode_error(encoding: &'static str, bytes: &[u8], range: Range<usize>, reason: &'static str) -> SkyError {
    match try_copy(bytes) {
        Ok(input) => SkyError::UnicodeDecode { encoding, input, start: range.start, end: range.end, reason },
        Err(memory) => memory,
    }
}

fn decode_ascii(bytes: &[u8], errors: DecodeErrors) -> Result<String, SkyError> {
    let mut text = String::new();
    text.try_reserve(bytes.len())?;
    for (index, &byte) in bytes.iter().enumerate() {
        if byte.is_ascii() {
            text.push(char::from(byte));
        } else {
            match errors {
                DecodeErrors::Strict => {
                    return Err(decode_error("ascii", bytes, index..index + 1, "ordinal not in range(128)"))
                }
                // U+FFFD takes 3 bytes where the input byte took 1.
                DecodeErrors::Replace => push_fallibly(&mut text, "\u{fffd}")?,
                DecodeErrors::Ignore => {}
            }
        }
    }
    Ok(text)
}

fn decode_utf8(bytes: &[u8], errors: DecodeErrors) -> Result<String, SkyError> {
    if let Err(error) = std::str::from_utf8(bytes) {
        if errors == DecodeErrors::Strict {
            let start = error.valid_up_to();
            let end = error.error_len().map_or(bytes.len(), |length| start + length);
            return Err(decode_error(
                "utf-8",
                bytes,
                start..end,
                utf8_error_reason(bytes, start, error.error_len()),
            ));
        }
    }
    let mut text = String::new();
    text.try_reserve(bytes.len())?;
    for chunk in bytes.utf8_chunks() {
        push_fallibly(&mut text, chunk.valid())?;
        if !chunk.invalid().is_empty() && errors == DecodeErrors::Replace {
            push_fallibly(&mut text, "\u{fffd}")?;
        }
    }
    Ok(text)
}

/// `bytes.decode(encoding, errors)` for the supported codecs. Replacement follows Python (and Unicode's
/// "maximal subpart" practice, which Rust's `Utf8Chunks` also follows): one U+FFFD per invalid sequence.
pub fn decode(bytes: &[u8], encoding: Encoding, errors: DecodeErrors) -> Result<String, SkyError> {
    match encoding {
        Encoding::Latin1 => {
            let mut text = String::new();
            // Bytes from 0x80 take 2 bytes in UTF-8.
            text.try_reserve(bytes.len().saturating_mul(2))?;
            text.extend(bytes.iter().map(|&b| char::from(b)));
            Ok(text)
        }
        Encoding::Ascii => decode_ascii(bytes, errors),
        Encoding::Utf8 => decode_utf8(bytes, errors),
    }
}
