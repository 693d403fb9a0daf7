//! The system OpenSSL (libcrypto), loaded at run time: the digests hashlib computes, at hashlib's speed.
//!
//! Loaded with dlopen rather than linked, so the bench needs no OpenSSL headers and no extra crate; the
//! library is the one CPython's hashlib uses on this system.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

type NewContext = unsafe extern "C" fn() -> *mut c_void;
type DigestByName = unsafe extern "C" fn(*const c_char) -> *const c_void;
type DigestInit = unsafe extern "C" fn(*mut c_void, *const c_void, *mut c_void) -> c_int;
type DigestUpdate = unsafe extern "C" fn(*mut c_void, *const c_void, usize) -> c_int;
type DigestFinal = unsafe extern "C" fn(*mut c_void, *mut u8, *mut c_uint) -> c_int;

/// One digest context of one algorithm, reused across calls (EVP_DigestInit_ex resets it).
pub struct Digest {
    context: *mut c_void,
    algorithm: *const c_void,
    init: DigestInit,
    update: DigestUpdate,
    finish: DigestFinal,
}

unsafe fn symbol<T: Copy>(library: *mut c_void, name: &CStr) -> T {
    // SAFETY (caller): `library` is a dlopen handle and T the symbol's C signature.
    let address = unsafe { libc::dlsym(library, name.as_ptr()) };
    assert!(!address.is_null(), "libcrypto has no {name:?}");
    // SAFETY: a non-null function address of the declared signature.
    unsafe { std::mem::transmute_copy(&address) }
}

impl Digest {
    /// The algorithm `name` ("md5", "sha256", ...) of the system libcrypto; panics when it cannot be loaded.
    pub fn new(name: &str) -> Digest {
        // SAFETY: dlopen/dlsym with NUL-terminated names; the handle is never closed (the bench's lifetime).
        unsafe {
            let mut library = libc::dlopen(c"libcrypto.so.3".as_ptr(), libc::RTLD_NOW);
            if library.is_null() {
                library = libc::dlopen(c"libcrypto.so".as_ptr(), libc::RTLD_NOW);
            }
            assert!(!library.is_null(), "the system libcrypto (OpenSSL) cannot be loaded");
            let new_context: NewContext = symbol(library, c"EVP_MD_CTX_new");
            let by_name: DigestByName = symbol(library, c"EVP_get_digestbyname");
            let c_name = std::ffi::CString::new(name).expect("algorithm name");
            let algorithm = by_name(c_name.as_ptr());
            assert!(!algorithm.is_null(), "libcrypto does not know {name}");
            Digest {
                context: new_context(),
                algorithm,
                init: symbol(library, c"EVP_DigestInit_ex"),
                update: symbol(library, c"EVP_DigestUpdate"),
                finish: symbol(library, c"EVP_DigestFinal_ex"),
            }
        }
    }

    pub fn start(&mut self) {
        // SAFETY: a live context and a digest from the same library.
        assert_eq!(unsafe { (self.init)(self.context, self.algorithm, std::ptr::null_mut()) }, 1);
    }

    pub fn update(&mut self, bytes: &[u8]) {
        // SAFETY: the bytes are valid for their length.
        unsafe { (self.update)(self.context, bytes.as_ptr().cast(), bytes.len()) };
    }

    /// Writes the digest into `out` (64 bytes hold any) and returns its length.
    pub fn finish(&mut self, out: &mut [u8; 64]) -> usize {
        let mut length: c_uint = 0;
        // SAFETY: out holds EVP_MAX_MD_SIZE (64) bytes.
        unsafe { (self.finish)(self.context, out.as_mut_ptr(), &mut length) };
        length as usize
    }
}
