//! Adapters for `base36_encode`, `format_float` and `truncate_long_string`.

use super::arguments::{clamped_i64, OptionalArg};
use crate::errors::{try_copy, SkyError};
use crate::string_utils::{self, Base36Error, Base36Text, Truncation};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::string::PyStringData;
use pyo3::types::{PyByteArray, PyBytes, PyFloat, PyInt, PySlice, PyString};

/// Python's `int()` error message shows at most 200 characters of the repr (`%.200R`).
const INT_ERROR_REPR_CHARS: usize = 200;
/// Precisions Rust formats itself; larger or unusual ones go through Python's `format`.
const MAX_RUST_PRECISION: i64 = 1000;

/// Base-36 digits of the text `int(x, 16)` would parse: `str`, or ASCII `bytes`/`bytearray`, read in place;
/// invalid text (lone surrogates, non-UTF-8 bytes) is `InvalidLiteral`.
fn base36_of(hex_str: &Bound<'_, PyAny>) -> PyResult<Result<Base36Text, Base36Error>> {
    let encode = |bytes: &[u8]| match std::str::from_utf8(bytes) {
        Ok(text) if text.is_ascii() => string_utils::base36_encode(text),
        _ => Err(Base36Error::InvalidLiteral),
    };
    if let Ok(text) = hex_str.cast::<PyString>() {
        return Ok(text.to_str().map_or(Err(Base36Error::InvalidLiteral), string_utils::base36_encode));
    }
    if let Ok(bytes) = hex_str.cast::<PyBytes>() {
        return Ok(encode(bytes.as_bytes()));
    }
    if let Ok(bytes) = hex_str.cast::<PyByteArray>() {
        return Ok(encode(&try_copy(&bytes.to_vec())?));
    }
    Err(PyTypeError::new_err("int() can't convert non-string with explicit base"))
}

/// Lower-case base-36 digits of `int(hex_str, 16)` (spec 2.4); negative values and non-ASCII text raise
/// `ValueError` (deviations).
#[pyfunction]
pub fn base36_encode<'py>(py: Python<'py>, hex_str: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    let error = match base36_of(hex_str)? {
        Ok(digits) => return Ok(PyString::new(py, digits.as_str())),
        Err(Base36Error::Memory) => return Err(SkyError::Memory.into()),
        Err(error) => error,
    };
    let repr = hex_str.repr()?.to_string();
    // int() truncates its repr; the reference's own checks (non-ASCII str, negative) print it whole.
    let from_int = error == Base36Error::InvalidLiteral
        && !hex_str.cast::<PyString>().is_ok_and(|s| s.to_str().map_or(true, |text| !text.is_ascii()));
    let shown = if from_int { repr.chars().take(INT_ERROR_REPR_CHARS).collect() } else { repr };
    Err(error.into_sky_error(&shown).into())
}

/// `format(value, '.' + str(precision) + 'f')` in Python: the exact result or error for anything unusual.
fn python_format<'py>(
    value: &Bound<'py, PyAny>,
    precision: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyString>> {
    let spec = format!(".{}f", precision.str()?);
    let builtins = value.py().import("builtins")?;
    Ok(builtins.getattr("format")?.call1((value, spec))?.cast_into::<PyString>()?)
}

/// `str(num)` for an int (bools included), no decimals for a whole float, else `precision` decimals
/// (spec 2.5). Other types go through Python exactly as SkyPilot would treat them (`num.is_integer()`).
#[pyfunction]
#[pyo3(signature = (num, precision = OptionalArg::Omitted), text_signature = "(num, precision=1)")]
pub fn format_float<'py>(
    num: &Bound<'py, PyAny>,
    precision: OptionalArg<'py>,
) -> PyResult<Bound<'py, PyString>> {
    // An int's str() is the answer: handed back as it is, not copied into Rust and out again (that copy
    // made Rust slower than Python on ints).
    if num.is_instance_of::<PyInt>() {
        return num.str();
    }
    let py = num.py();
    let precision_object = precision.given().cloned();
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
            return Ok(PyString::new(py, &string_utils::format_float(value, 0)));
        }
        if let Some(digits) = rust_precision.and_then(|p| usize::try_from(p).ok()) {
            return Ok(PyString::new(py, &string_utils::format_float(value, digits)));
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

/// `text[start:stop]` done by Python (so lone surrogates survive).
fn python_slice<'py>(text: &Bound<'py, PyString>, start: usize, stop: usize) -> PyResult<Bound<'py, PyAny>> {
    let bound = |index: usize| isize::try_from(index).unwrap_or(isize::MAX);
    text.get_item(PySlice::new(text.py(), bound(start), bound(stop), 1))
}

/// SkyPilot's truncation plan over the str's own code points, read in place (no copy of the string).
fn plan_in_place(text: &Bound<'_, PyString>, max_length: i64, middle: bool) -> PyResult<Truncation> {
    // SAFETY: the buffer belongs to `text`, which outlives this borrow; it is only read, and nothing runs
    // Python code meanwhile.
    Ok(match unsafe { text.data() }? {
        PyStringData::Ucs1(units) => string_utils::plan_truncation(units, b' ', max_length, middle),
        PyStringData::Ucs2(units) => string_utils::plan_truncation(units, 0x20, max_length, middle),
        PyStringData::Ucs4(units) => string_utils::plan_truncation(units, 0x20, max_length, middle),
    })
}

/// `head + '...' + tail` of ASCII text, written straight into a new str's own buffer (as CPython's
/// `str.join` does): no Rust buffer to allocate and free, no UTF-8 check of bytes known to be ASCII.
fn join_ascii<'py>(py: Python<'py>, ascii: &[u8], head: usize, tail: usize) -> PyResult<Bound<'py, PyAny>> {
    let pieces = [&ascii[..head], string_utils::ELLIPSIS.as_bytes(), &ascii[ascii.len() - tail..]];
    let length = pieces.iter().map(|piece| piece.len()).sum::<usize>();
    let size = ffi::Py_ssize_t::try_from(length).map_err(|_| SkyError::Memory)?;
    // SAFETY: PyUnicode_New(size, 127) returns a new compact ASCII str of `size` bytes (plus its NUL) that
    // nothing else references yet, or NULL with MemoryError set; every byte written is ASCII (`is_ascii`
    // was checked by the caller, and '...' is ASCII), and exactly `length` bytes are written.
    unsafe {
        let joined = Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_New(size, 127))?;
        let mut cursor = ffi::PyUnicode_1BYTE_DATA(joined.as_ptr());
        for piece in pieces {
            std::ptr::copy_nonoverlapping(piece.as_ptr(), cursor, piece.len());
            cursor = cursor.add(piece.len());
        }
        Ok(joined)
    }
}

/// The cut string: ASCII assembled in Rust; anything else sliced by Python (lone surrogates survive).
fn cut<'py>(text: &Bound<'py, PyString>, head: usize, tail: usize) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: as in `plan_in_place`; the borrow ends before Python runs again.
    if let PyStringData::Ucs1(units) = unsafe { text.data() }? {
        if units.is_ascii() {
            return join_ascii(text.py(), units, head, tail);
        }
    }
    let length = text.len()?;
    let head_text = python_slice(text, 0, head)?;
    let tail_text = python_slice(text, length.saturating_sub(tail), length)?;
    head_text.add(string_utils::ELLIPSIS)?.add(tail_text)
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
    match plan_in_place(text, limit, middle)? {
        Truncation::Unchanged => Ok(text.clone().into_any()),
        Truncation::Cut { head, tail } => cut(text, head, tail),
    }
}
