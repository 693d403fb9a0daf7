//! The system calls a floor makes, straight through libc: no std buffering, no extra stat, no allocation.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A NUL-terminated copy of a path, made once outside the timed loop.
pub fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("no NUL in a workload path")
}

/// `open(path, flags)`: the descriptor, or None.
pub fn open(path: &CStr, flags: libc::c_int) -> Option<libc::c_int> {
    // SAFETY: a valid NUL-terminated path; the descriptor is closed by the caller.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    (fd >= 0).then_some(fd)
}

pub fn close(fd: libc::c_int) {
    // SAFETY: fd came from open and is closed once.
    unsafe { libc::close(fd) };
}

/// One `read` into `buffer`: the byte count, or None on an error.
pub fn read(fd: libc::c_int, buffer: &mut [u8]) -> Option<usize> {
    // SAFETY: the buffer is valid for buffer.len() bytes.
    let count = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
    usize::try_from(count).ok()
}

/// One `pread` of `buffer.len()` bytes at `offset`.
pub fn pread(fd: libc::c_int, buffer: &mut [u8], offset: u64) -> Option<usize> {
    let offset = libc::off_t::try_from(offset).ok()?;
    // SAFETY: as read.
    let count = unsafe { libc::pread(fd, buffer.as_mut_ptr().cast(), buffer.len(), offset) };
    usize::try_from(count).ok()
}

/// open + one read + close of a small sysfs, cgroup or proc file (one read returns all of it).
pub fn read_small_file<'b>(path: &CStr, buffer: &'b mut [u8]) -> Option<&'b [u8]> {
    let fd = open(path, libc::O_RDONLY)?;
    let count = read(fd, buffer);
    close(fd);
    count.map(|count| &buffer[..count])
}

/// The size of an open file and whether it is a directory (one `fstat`).
pub fn size_and_is_dir(fd: libc::c_int) -> Option<(u64, bool)> {
    // SAFETY: a zeroed stat is a valid out-parameter.
    let mut status: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open; fstat writes into status.
    if unsafe { libc::fstat(fd, &mut status) } != 0 {
        return None;
    }
    Some((u64::try_from(status.st_size).ok()?, (status.st_mode & libc::S_IFMT) == libc::S_IFDIR))
}

/// The entries of an open directory, `.` and `..` excluded: `getdents64` into `buffer` until it returns 0.
pub fn count_directory_entries(fd: libc::c_int, buffer: &mut [u8]) -> Option<u64> {
    let mut entries = 0u64;
    loop {
        // SAFETY: the buffer is valid for its length; the kernel writes whole records into it.
        let filled = unsafe { libc::syscall(libc::SYS_getdents64, fd, buffer.as_mut_ptr(), buffer.len()) };
        let filled = usize::try_from(filled).ok()?;
        if filled == 0 {
            return Some(entries);
        }
        let mut offset = 0;
        while offset < filled {
            // linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
            let record_length = usize::from(u16::from_ne_bytes([buffer[offset + 16], buffer[offset + 17]]));
            let name = &buffer[offset + 19..offset + record_length];
            let dot_or_dot_dot = name.starts_with(b".\0") || name.starts_with(b"..\0");
            entries += u64::from(!dot_or_dot_dot);
            offset += record_length;
        }
    }
}

/// Online CPUs from the one sysfs file `sysconf(_SC_NPROCESSORS_ONLN)` reads: ranges like `0-3,8`.
pub fn online_cpus(buffer: &mut [u8]) -> Option<i64> {
    let text = read_small_file(c"/sys/devices/system/cpu/online", buffer)?;
    let mut count = 0i64;
    for range in text.trim_ascii().split(|&byte| byte == b',') {
        let range = std::str::from_utf8(range).ok()?;
        count += match range.split_once('-') {
            Some((low, high)) => high.parse::<i64>().ok()? - low.parse::<i64>().ok()? + 1,
            None => 1,
        };
    }
    Some(count)
}

/// `sched_getaffinity(0)`'s CPU count.
pub fn affinity_cpus() -> Option<i64> {
    // SAFETY: a zeroed cpu_set_t is an empty set; the call writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some(i64::from(libc::CPU_COUNT(&set)))
    }
}

/// MemTotal of /proc/meminfo in bytes, from one read of the file's head (MemTotal is its first line).
/// Not `sysinfo`: its totalram is the same figure on a plain kernel, but psutil, and so SkyPilot, reads
/// /proc/meminfo, which a container's LXCFS replaces with the container's own; the semantics need the file.
pub fn total_ram_bytes(buffer: &mut [u8]) -> Option<u64> {
    let head = read_small_file(c"/proc/meminfo", buffer)?;
    let rest = head.split(|&byte| byte == b'\n').find_map(|line| line.strip_prefix(b"MemTotal:"))?;
    let digits = rest.trim_ascii().strip_suffix(b"kB")?.trim_ascii();
    std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?.checked_mul(1024)
}

/// Parses ASCII decimal (optionally negative) after trimming whitespace.
pub fn parse_i64(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text.trim_ascii()).ok()?.parse().ok()
}
