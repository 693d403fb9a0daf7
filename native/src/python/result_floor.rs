//! `_build_result_objects`: the part of a floor a Rust bench cannot measure, the Python objects a call must
//! return (docs/floors.md). Given one result per call, it creates each anew, as cheaply as CPython allows,
//! and drops it; the harness times it and adds its time per call to the workload's Criterion floor.

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString};

/// What one result is made of, read once so the timed loop only creates objects.
enum Template {
    /// A str: its kind (bytes per code point), its largest code point's class and its units.
    Str {
        maxchar: ffi::Py_UCS4,
        length: ffi::Py_ssize_t,
        units: Vec<u8>,
    },
    List(Vec<Template>),
    Int(i64),
    Float(f64),
    /// `None`, a bool, an int past i64, or a type not counted: nothing is created (the floor errs low).
    Nothing,
}

fn str_template(text: &Bound<'_, PyString>) -> Template {
    let pointer = text.as_ptr();
    // SAFETY: `text` is a live str (PyUnicode_READY is a no-op since 3.12 and done for every str pyo3 hands
    // out before); its data holds `length * kind` bytes, copied while `text` is borrowed.
    unsafe {
        let length = ffi::PyUnicode_GET_LENGTH(pointer);
        let kind = ffi::PyUnicode_KIND(pointer) as usize;
        let maxchar = match kind {
            1 if ffi::PyUnicode_IS_ASCII(pointer) != 0 => 0x7f,
            1 => 0xff,
            2 => 0xffff,
            _ => 0x10_ffff,
        };
        let byte_count = usize::try_from(length).unwrap_or(0) * kind;
        let data = ffi::PyUnicode_DATA(pointer).cast::<u8>();
        let units = std::slice::from_raw_parts(data, byte_count).to_vec();
        Template::Str { maxchar, length, units }
    }
}

fn template_of(result: &Bound<'_, PyAny>) -> Template {
    if let Ok(text) = result.cast::<PyString>() {
        str_template(text)
    } else if let Ok(list) = result.cast::<PyList>() {
        Template::List(list.iter().map(|item| template_of(&item)).collect())
    } else if result.is_instance_of::<PyBool>() {
        Template::Nothing
    } else if let Ok(int) = result.cast::<PyInt>() {
        int.extract::<i64>().map_or(Template::Nothing, Template::Int)
    } else if let Ok(float) = result.cast::<PyFloat>() {
        Template::Float(float.value())
    } else {
        Template::Nothing
    }
}

/// A new str with the template's code points, or a cached one where CPython hands out a cached one (the
/// empty str and one Latin-1 character). NULL with an exception set when memory runs out.
///
/// SAFETY: call with the GIL held; `units` holds `length` code points of the kind `maxchar` implies.
unsafe fn new_str(maxchar: ffi::Py_UCS4, length: ffi::Py_ssize_t, units: &[u8]) -> *mut ffi::PyObject {
    if length == 1 && maxchar <= 0xff {
        return ffi::PyUnicode_FromOrdinal(std::ffi::c_int::from(units[0]));
    }
    let text = ffi::PyUnicode_New(length, maxchar);
    if !text.is_null() && length > 1 {
        std::ptr::copy_nonoverlapping(units.as_ptr(), ffi::PyUnicode_DATA(text).cast::<u8>(), units.len());
    }
    text
}

/// The template's object, new (NULL with an exception set on failure; a new reference to `None` for
/// nothing).
///
/// SAFETY: call with the GIL held.
unsafe fn build(template: &Template) -> *mut ffi::PyObject {
    match template {
        Template::Str { maxchar, length, units } => new_str(*maxchar, *length, units),
        Template::List(items) => {
            let Ok(size) = ffi::Py_ssize_t::try_from(items.len()) else { return std::ptr::null_mut() };
            let list = ffi::PyList_New(size);
            if list.is_null() {
                return list;
            }
            for (index, item) in items.iter().enumerate() {
                let object = build(item);
                if object.is_null() {
                    ffi::Py_DECREF(list);
                    return std::ptr::null_mut();
                }
                // The index is below `size`, which fits a Py_ssize_t.
                ffi::PyList_SET_ITEM(list, index as ffi::Py_ssize_t, object);
            }
            list
        }
        Template::Int(value) => ffi::PyLong_FromLongLong(*value),
        Template::Float(value) => ffi::PyFloat_FromDouble(*value),
        Template::Nothing => {
            let none = ffi::Py_None();
            ffi::Py_INCREF(none);
            none
        }
    }
}

/// Creates anew, `loops` times, the objects of `results` (one call's result each) and drops them. Returns
/// how many results needed an object (0: nothing to create, nothing to time) and the nanoseconds the loops
/// took: only the creating, not the reading of `results` into templates before it (which copies every
/// `str` once and would otherwise be charged to the floor).
#[pyfunction]
pub fn _build_result_objects(
    py: Python<'_>,
    results: &Bound<'_, PyList>,
    loops: u64,
) -> PyResult<(usize, u128)> {
    if loops == 0 {
        return Err(PyValueError::new_err("loops must be at least 1"));
    }
    // A result that needs no new object costs nothing: it is left out, not replaced by a None.
    let templates: Vec<Template> = results
        .iter()
        .map(|result| template_of(&result))
        .filter(|template| !matches!(template, Template::Nothing))
        .collect();
    let start = std::time::Instant::now();
    for _ in 0..loops {
        for template in &templates {
            // SAFETY: the GIL is held (`py`); a non-NULL object is new and owned here.
            unsafe {
                let object = build(template);
                if object.is_null() {
                    return Err(PyErr::fetch(py));
                }
                ffi::Py_DECREF(object);
            }
        }
    }
    Ok((templates.len(), start.elapsed().as_nanos()))
}
