//! `get_parallel_threads`, `get_max_workers_for_file_mounts`, `is_process_alive` and
//! `estimate_fd_for_directory` (spec sections 2.9-2.12).

use crate::errors::SkyError;
use crate::numeric_text::parse_python_ascii_int;
use num_bigint::BigUint;
use std::io::BufRead;
use std::path::Path;

pub const HOST_PROC_ROOT: &str = "/proc";
const KUBERNETES: &str = "kubernetes";
const KUBERNETES_THREAD_MULTIPLIER: i128 = 4;
/// Descriptors kept back for everything but rsync.
const FD_RESERVE: i128 = 100;
/// Descriptors per rsync when no source is a directory (the floor of SkyPilot's estimate).
pub const MIN_FD_PER_RSYNC: i128 = 5;
const FD_PER_DIRECTORY_ENTRY: i64 = 5;
/// `resource.RLIM_INFINITY` as Python reports it on Linux.
pub const RLIM_INFINITY: i128 = -1;

/// Whether `cloud_str.lower() == 'kubernetes'` (full Unicode lower-casing, so the Kelvin sign counts as 'k').
pub fn is_kubernetes(cloud_str: &str) -> bool {
    // Lower-casing never shortens a string, so more than 10 characters can never match: no lower-cased copy
    // of a long string (whose size the caller chose) is made.
    if cloud_str.len() > KUBERNETES.len() * 4 || cloud_str.chars().count() > KUBERNETES.len() {
        return false;
    }
    if cloud_str.is_ascii() {
        cloud_str.eq_ignore_ascii_case(KUBERNETES)
    } else {
        cloud_str.to_lowercase() == KUBERNETES
    }
}

/// `get_parallel_threads` with the online CPU count injected (None counts as 1): max(4, cpus - 1), times 4
/// for Kubernetes (spec 2.9).
pub fn get_parallel_threads_with(kubernetes: bool, online_cpus: Option<i128>) -> i128 {
    let multiplier = if kubernetes { KUBERNETES_THREAD_MULTIPLIER } else { 1 };
    online_cpus.unwrap_or(1).saturating_sub(1).max(4).saturating_mul(multiplier)
}

/// `get_parallel_threads(cloud_str)` on this host (os.cpu_count(), not cgroup- or affinity-aware).
pub fn get_parallel_threads(kubernetes: bool) -> i128 {
    get_parallel_threads_with(kubernetes, crate::system_utils::online_cpu_count().map(i128::from))
}

/// `os.path.isdir`: follows symlinks; false for anything that cannot be stat'ed.
fn is_directory(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.is_dir())
}

/// `len(os.listdir(path))`: top-level entries, hidden ones included, `.` and `..` excluded.
fn count_entries(path: &Path) -> Result<i64, SkyError> {
    let as_os_error = |error: std::io::Error| SkyError::from_io(&error, Some(path.into()));
    let mut count: i64 = 0;
    for entry in std::fs::read_dir(path).map_err(as_os_error)? {
        entry.map_err(as_os_error)?;
        count += 1;
    }
    Ok(count)
}

/// `5 * len(os.listdir(path))` if `os.path.isdir(path)`, else 0 (spec 2.12). A listing error after the
/// directory test propagates as the matching `OSError`.
pub fn estimate_fd_for_directory(path: &Path) -> Result<i64, SkyError> {
    if !is_directory(path) {
        return Ok(0);
    }
    Ok(FD_PER_DIRECTORY_ENTRY.saturating_mul(count_entries(path)?))
}

/// `get_max_workers_for_file_mounts` given the sources (the dict's values), the thread cap and the
/// RLIMIT_NOFILE soft limit (-1 = unlimited) (spec 2.11): `(soft - 100) // max(5, estimates)`, at least 1,
/// at most the thread cap. Unlimited gives the thread cap (a deviation: SkyPilot returns 1).
pub fn get_max_workers_for_file_mounts_with<P: AsRef<Path>>(
    sources: &[P],
    thread_cap: i128,
    nofile_soft_limit: i128,
) -> Result<i128, SkyError> {
    if nofile_soft_limit == RLIM_INFINITY {
        return Ok(thread_cap);
    }
    let mut fd_per_rsync = MIN_FD_PER_RSYNC;
    for source in sources {
        fd_per_rsync = fd_per_rsync.max(i128::from(estimate_fd_for_directory(source.as_ref())?));
    }
    Ok(workers_for(fd_per_rsync, thread_cap, nofile_soft_limit))
}

/// The workers a finite soft limit allows at `fd_per_rsync` descriptors each: `(soft - 100) // fd_per_rsync`,
/// at least 1, at most the thread cap.
pub fn workers_for(fd_per_rsync: i128, thread_cap: i128, nofile_soft_limit: i128) -> i128 {
    // Python's // rounds toward negative infinity; the divisor is positive, so div_euclid is the same.
    let workers = nofile_soft_limit.saturating_sub(FD_RESERVE).div_euclid(fd_per_rsync.max(1));
    workers.max(1).min(thread_cap)
}

/// The RLIMIT_NOFILE soft limit, with RLIM_INFINITY as -1 (as Python's `resource` reports it).
pub fn nofile_soft_limit() -> Result<i128, SkyError> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(SkyError::from_io(&std::io::Error::last_os_error(), None));
    }
    Ok(if limit.rlim_cur == libc::RLIM_INFINITY { RLIM_INFINITY } else { i128::from(limit.rlim_cur) })
}

/// `bytes.split()` whitespace: C `isspace` in the "C" locale (vertical tab included).
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// The Tgid of a `Tgid:` line of `/proc/PID/status`: None if it does not parse.
fn status_tgid(line: &[u8]) -> Option<BigUint> {
    let token = line.split(|&b| is_c_space(b)).filter(|t| !t.is_empty()).nth(1)?;
    let (negative, magnitude) = parse_python_ascii_int(std::str::from_utf8(token).ok()?, 10)?;
    // A negative Tgid never equals a positive pid.
    (!negative).then_some(magnitude)
}

/// The first `Tgid:` line of a status file, read line by line as Python's `for line in f` does (so only
/// one line is held); None if the file is unreadable or has none, `MemoryError` if a line does not fit.
fn tgid_line(path: &Path) -> Result<Option<Vec<u8>>, SkyError> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(None);
    };
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        loop {
            let available = match reader.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return Ok(None),
            };
            if available.is_empty() {
                break;
            }
            let taken = memchr::memchr(b'\n', available).map_or(available.len(), |newline| newline + 1);
            line.try_reserve(taken)?;
            line.extend_from_slice(&available[..taken]);
            reader.consume(taken);
            if line.last() == Some(&b'\n') {
                break;
            }
        }
        if line.is_empty() {
            return Ok(None);
        }
        if line.starts_with(b"Tgid:") {
            return Ok(Some(line));
        }
    }
}

/// `str(pid) in os.listdir(proc_root)`; a missing root or a non-directory counts as not listed.
fn pid_listed(pid: i32, proc_root: &Path) -> Result<bool, SkyError> {
    let entries = match std::fs::read_dir(proc_root) {
        Ok(entries) => entries,
        Err(error) if matches!(error.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => return Ok(false),
        Err(error) => return Err(SkyError::from_io(&error, Some(proc_root.into()))),
    };
    let name = pid.to_string();
    for entry in entries {
        let entry = entry.map_err(|error| SkyError::from_io(&error, Some(proc_root.into())))?;
        if entry.file_name() == name.as_str() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// False for a thread id (Tgid != pid); when the status file is unreadable or has no usable Tgid line,
/// psutil's fallback: whether `/proc` lists the pid.
pub fn is_thread_group_leader(pid: i32, proc_root: &Path) -> Result<bool, SkyError> {
    let status_path = proc_root.join(pid.to_string()).join("status");
    if let Some(tgid) = tgid_line(&status_path)?.as_deref().and_then(status_tgid) {
        return Ok(u32::try_from(pid).is_ok_and(|pid| tgid == BigUint::from(pid)));
    }
    pid_listed(pid, proc_root)
}

/// `is_process_alive` with `/proc` injected: `psutil.pid_exists` semantics on Linux (spec Decision 3).
/// False for pid <= 0; `kill(pid, 0)`: ESRCH -> False, EPERM or success -> alive, other errno -> `OSError`;
/// then thread ids are not processes. Zombies count as alive.
pub fn is_process_alive_at(pid: i32, proc_root: &Path) -> Result<bool, SkyError> {
    if !signal_reaches(pid)? {
        return Ok(false);
    }
    is_thread_group_leader(pid, proc_root)
}

/// The first half of `is_process_alive`: False for pid <= 0; `kill(pid, 0)`: ESRCH -> False, EPERM or
/// success -> True, any other errno -> `OSError`.
pub fn signal_reaches(pid: i32) -> Result<bool, SkyError> {
    if pid <= 0 {
        return Ok(false);
    }
    // SAFETY: signal 0 only checks whether the process exists and may be signalled.
    if unsafe { libc::kill(pid, 0) } != 0 {
        let error = std::io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::ESRCH) => return Ok(false),
            Some(libc::EPERM) => {}
            _ => return Err(SkyError::from_io(&error, None)),
        }
    }
    Ok(true)
}

/// `is_process_alive(pid)` on this host.
pub fn is_process_alive(pid: i32) -> Result<bool, SkyError> {
    is_process_alive_at(pid, Path::new(HOST_PROC_ROOT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn directory_with_entries(count: usize) -> tempfile::TempDir {
        let directory = tempfile::tempdir().expect("temp dir");
        for index in 0..count {
            fs::write(directory.path().join(format!(".entry{index}")), b"").expect("write");
        }
        directory
    }

    #[test]
    fn parallel_threads_table() {
        for (cpus, default, kubernetes) in [
            (None, 4, 16),
            (Some(1), 4, 16),
            (Some(5), 4, 16),
            (Some(8), 7, 28),
            (Some(16), 15, 60),
            (Some(64), 63, 252),
        ] {
            assert_eq!(get_parallel_threads_with(false, cpus), default);
            assert_eq!(get_parallel_threads_with(true, cpus), kubernetes);
        }
        assert!(
            is_kubernetes("KUBERNETES") && is_kubernetes("Kubernetes") && is_kubernetes("\u{212a}ubernetes")
        );
        assert!(!is_kubernetes("k8s") && !is_kubernetes(" kubernetes") && !is_kubernetes(""));
    }

    #[test]
    fn estimate_counts_top_level_entries_of_directories_only() {
        let directory = directory_with_entries(13);
        fs::create_dir(directory.path().join("sub")).expect("mkdir");
        fs::write(directory.path().join("sub/inner"), b"").expect("write");
        assert_eq!(estimate_fd_for_directory(directory.path()), Ok(70));
        assert_eq!(estimate_fd_for_directory(&directory.path().join("sub/inner")), Ok(0));
        assert_eq!(estimate_fd_for_directory(Path::new("/nonexistent/dir")), Ok(0));
    }

    #[test]
    fn max_workers_table() {
        let twenty = directory_with_entries(20);
        let hundred = directory_with_entries(100);
        let two_hundred = directory_with_entries(200);
        let none: [&Path; 0] = [];
        let workers = |sources: &[&Path], cap, soft| get_max_workers_for_file_mounts_with(sources, cap, soft);
        assert_eq!(workers(&none, 7, 1024), Ok(7));
        assert_eq!(workers(&[twenty.path()], 7, 1024), Ok(7));
        assert_eq!(workers(&[twenty.path()], 28, 1024), Ok(9));
        assert_eq!(workers(&none, 28, 1024), Ok(28));
        assert_eq!(workers(&[hundred.path()], 7, 1024), Ok(1));
        assert_eq!(workers(&[twenty.path(), two_hundred.path()], 7, 1024), Ok(1));
        assert_eq!(workers(&[twenty.path(), two_hundred.path()], 7, 4096), Ok(3));
        assert_eq!(workers(&[twenty.path()], 28, 4096), Ok(28));
        assert_eq!(workers(&[Path::new("s3://bucket/x"), Path::new("~/nonexistent")], 7, 1024), Ok(7));
        assert_eq!(workers(&[twenty.path()], 7, 100), Ok(1));
        assert_eq!(workers(&[twenty.path()], 7, 50), Ok(1));
        assert_eq!(workers(&[twenty.path()], 28, 1_048_576), Ok(28));
        assert_eq!(workers(&[twenty.path()], 7, RLIM_INFINITY), Ok(7));
    }

    #[test]
    fn liveness_follows_pid_exists() {
        let own_pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        let proc_root = Path::new(HOST_PROC_ROOT);
        assert_eq!(is_process_alive_at(own_pid, proc_root), Ok(true));
        assert_eq!(is_process_alive_at(1, proc_root), Ok(true));
        for pid in [0, -1, i32::MIN] {
            assert_eq!(is_process_alive_at(pid, proc_root), Ok(false));
        }
        assert_eq!(is_process_alive_at(i32::MAX, proc_root), Ok(false));
    }

    #[test]
    fn thread_ids_and_fake_status_files() {
        let own_pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        let fake_root = tempfile::tempdir().expect("temp dir");
        let status_dir = fake_root.path().join(own_pid.to_string());
        fs::create_dir(&status_dir).expect("mkdir");
        fs::write(status_dir.join("status"), b"Name:\tx\nTgid:\t1\n").expect("write");
        // A Tgid other than the pid marks a thread.
        assert_eq!(is_process_alive_at(own_pid, fake_root.path()), Ok(false));
        fs::write(status_dir.join("status"), format!("Tgid:\t+{own_pid}\n")).expect("write");
        assert_eq!(is_process_alive_at(own_pid, fake_root.path()), Ok(true));
        // No usable Tgid: whether the root lists the pid.
        fs::write(status_dir.join("status"), b"Tgid:\n").expect("write");
        assert_eq!(is_process_alive_at(own_pid, fake_root.path()), Ok(true));
        fs::remove_dir_all(&status_dir).expect("rm");
        assert_eq!(is_process_alive_at(own_pid, fake_root.path()), Ok(false));
        assert_eq!(is_process_alive_at(own_pid, &fake_root.path().join("missing")), Ok(false));
    }
}
