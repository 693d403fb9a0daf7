//! Adapters for `base36_encode`, `format_float` and `truncate_long_string`.

use super::arguments::{clamped_i64, OptionalArg};
use crate::string_utils::{self, Base36Error, Truncation};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyFloat, PyInt, PySlice, PyString};

/// Python's `int()` error message shows at most 200 characters of the repr (`%.200R`).
const INT_ERROR_REPR_CHARS: usize = 200;
/// Precisions Rust formats itself; larger or unusual ones go through Python's `format`.
const MAX_RUST_PRECISION: i64 = 1000;

/// The text `int(x, 16)` would parse: `str`, or ASCII `bytes`/`bytearray`; None for invalid text.
fn hex_text(hex_str: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if let Ok(text) = hex_str.cast::<PyString>() {
        return Ok(text.to_str().ok().map(str::to_owned));
    }
    let bytes = if let Ok(bytes) = hex_str.cast::<PyBytes>() {
        bytes.as_bytes().to_vec()
    } else if let Ok(bytes) = hex_str.cast::<PyByteArray>() {
        bytes.to_vec()
    } else {
        return Err(PyTypeError::new_err("int() can't convert non-string with explicit base"));
    };
    Ok(String::from_utf8(bytes).ok().filter(|text| text.is_ascii()))
}

/// Lower-case base-36 digits of `int(hex_str, 16)` (spec 2.4); negative values and non-ASCII text raise
/// `ValueError` (deviations).
#[pyfunction]
pub fn base36_encode(hex_str: &Bound<'_, PyAny>) -> PyResult<String> {
    let text = hex_text(hex_str)?;
    let error = match text.as_deref().map(string_utils::base36_encode) {
        Some(Ok(digits)) => return Ok(digits),
        Some(Err(error)) => error,
        None => Base36Error::InvalidLiteral,
    };
    let repr = hex_str.repr()?.to_string();
    // int() truncates its repr; the reference's own checks (non-ASCII str, negative) print it whole.
    let from_int = error == Base36Error::InvalidLiteral
        && !hex_str.cast::<PyString>().is_ok_and(|s| s.to_str().map_or(true, |text| !text.is_ascii()));
    let shown = if from_int { repr.chars().take(INT_ERROR_REPR_CHARS).collect() } else { repr };
    Err(error.into_sky_error(&shown).into())
}

/// `format(value, '.' + str(precision) + 'f')` in Python: the exact result or error for anything unusual.
fn python_format<'py>(value: &Bound<'py, PyAny>, precision: &Bound<'py, PyAny>) -> PyResult<String> {
    let spec = format!(".{}f", precision.str()?);
    let builtins = value.py().import("builtins")?;
    builtins.getattr("format")?.call1((value, spec))?.extract()
}

/// `str(num)` for an int (bools included), no decimals for a whole float, else `precision` decimals
/// (spec 2.5). Other types go through Python exactly as SkyPilot would treat them (`num.is_integer()`).
#[pyfunction]
#[pyo3(signature = (num, precision = OptionalArg::Omitted), text_signature = "(num, precision=1)")]
pub fn format_float(num: &Bound<'_, PyAny>, precision: OptionalArg<'_>) -> PyResult<String> {
    if num.is_instance_of::<PyInt>() {
        return Ok(num.str()?.to_string());
    }
    let precision_object = match precision {
        OptionalArg::Omitted => None,
        OptionalArg::Given(object) => Some(object),
    };
    if let Ok(float) = num.cast::<PyFloat>() {
        let value = float.value();
        let rust_precision = match &precision_object {
            None => Some(1),
            Some(object) if object.is_exact_instance_of::<PyInt>() => {
                object.extract::<i64>().ok().filter(|p| (0..=MAX_RUST_PRECISION).contains(p))
            }
            Some(_) => None,
        };
        if string_utils::is_whole_number(value) {
            return Ok(string_utils::format_float(value, 0));
        }
        if let Some(digits) = rust_precision.and_then(|p| usize::try_from(p).ok()) {
            return Ok(string_utils::format_float(value, digits));
        }
    }
    // Not an int or float, or an unusual precision: what SkyPilot's code does, done by Python.
    let precision_object = match precision_object {
        Some(object) => object,
        None => 1i64.into_pyobject(num.py())?.into_any(),
    };
    if num.call_method0("is_integer")?.is_truthy()? {
        let zero = 0i64.into_pyobject(num.py())?.into_any();
        return python_format(num, &zero);
    }
    python_format(num, &precision_object)
}

/// The code points of a str that holds lone surrogates (which UTF-8 cannot carry), as UTF-32 units.
fn utf32_units(text: &Bound<'_, PyString>) -> PyResult<Vec<u32>> {
    let encoded = text.call_method1("encode", ("utf-32-le", "surrogatepass"))?;
    let bytes = encoded.cast::<PyBytes>()?.as_bytes();
    Ok(bytes.chunks_exact(4).map(|unit| u32::from_le_bytes([unit[0], unit[1], unit[2], unit[3]])).collect())
}

/// `text[start:stop]` done by Python (so lone surrogates survive).
fn python_slice<'py>(text: &Bound<'py, PyString>, start: usize, stop: usize) -> PyResult<Bound<'py, PyAny>> {
    let bound = |index: usize| isize::try_from(index).unwrap_or(isize::MAX);
    text.get_item(PySlice::new(text.py(), bound(start), bound(stop), 1))
}

/// SkyPilot's truncation in code points, quirks included (spec 2.6).
#[pyfunction]
#[pyo3(
    signature = (s, max_length = OptionalArg::Omitted, truncate_middle = None),
    text_signature = "(s, max_length=35, truncate_middle=False)"
)]
pub fn truncate_long_string<'py>(
    s: &Bound<'py, PyAny>,
    max_length: OptionalArg<'py>,
    truncate_middle: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let Ok(text) = s.cast::<PyString>() else {
        return Err(PyTypeError::new_err("truncate_long_string() s must be a str"));
    };
    let limit = match max_length {
        OptionalArg::Omitted => 35,
        OptionalArg::Given(value) if value.is_instance_of::<PyInt>() => clamped_i64(&value)?,
        OptionalArg::Given(value) => {
            // SkyPilot's first step, `len(s) <= max_length`, raises Python's own TypeError for None or a str;
            // a short string comes back unchanged whatever the type. Other non-ints fail at slicing.
            if text.len()?.into_pyobject(s.py())?.le(&value)? {
                return Ok(text.clone().into_any());
            }
            return Err(PyTypeError::new_err(
                "slice indices must be integers or None or have an __index__ method",
            ));
        }
    };
    let middle = match truncate_middle {
        None => false,
        Some(flag) => flag.is_truthy()?,
    };
    if let Ok(utf8) = text.to_str() {
        let truncated = string_utils::truncate_long_string(utf8, limit, middle);
        return Ok(PyString::new(s.py(), &truncated).into_any());
    }
    // Lone surrogates: plan on the code points, cut with Python's slicing.
    let units = utf32_units(text)?;
    match string_utils::plan_truncation(&units, u32::from(' '), limit, middle) {
        Truncation::Unchanged => Ok(text.clone().into_any()),
        Truncation::Cut { head, tail } => {
            let head_text = python_slice(text, 0, head)?;
            let tail_text = python_slice(text, units.len().saturating_sub(tail), units.len())?;
            head_text.add(string_utils::ELLIPSIS)?.add(tail_text)
        }
    }
}
