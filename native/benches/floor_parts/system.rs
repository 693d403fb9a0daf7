//! Floors as closures over their workload's calls: every argument converted before the timed loop.

use super::files::{self, DIRENT_BUFFER_BYTES};
use super::libcrypto::Digest;
use super::syscalls::{affinity_cpus, c_path, online_cpus, parse_i64, read_small_file, total_ram_bytes};
use super::Calls;
use std::ffi::CString;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

const KUBERNETES_THREAD_MULTIPLIER: i64 = 4;
const PORT_RANGE_END: u16 = 65535;
const FD_RESERVE: i64 = 100;
const MIN_FD_PER_RSYNC: i64 = 5;
const FD_PER_ENTRY: i64 = 5;

fn path_argument(call: &[String]) -> CString {
    c_path(Path::new(&call[0]))
}

pub fn read_last_n_lines(calls: Calls) -> Box<dyn FnMut()> {
    let calls: Vec<(CString, usize)> =
        calls.iter().map(|call| (path_argument(call), call[1].parse().expect("n"))).collect();
    let mut tail = Vec::new();
    Box::new(move || {
        for (path, n) in &calls {
            black_box(files::read_last_n_lines(path, *n, &mut tail));
        }
    })
}

pub fn hash_file(calls: Calls) -> Box<dyn FnMut()> {
    let algorithm = calls.first().map_or("md5", |call| call[1].as_str()).to_string();
    let paths: Vec<CString> = calls.iter().map(|call| path_argument(call)).collect();
    let mut digest = Digest::new(&algorithm);
    let mut block = files::hash_block();
    let mut out = [0u8; 64];
    Box::new(move || {
        for path in &paths {
            black_box(files::hash_file(path, &mut digest, &mut block, &mut out));
        }
    })
}

pub fn estimate_fd(calls: Calls) -> Box<dyn FnMut()> {
    let paths: Vec<CString> = calls.iter().map(|call| path_argument(call)).collect();
    let mut buffer = vec![0u8; DIRENT_BUFFER_BYTES];
    Box::new(move || {
        for path in &paths {
            black_box(FD_PER_ENTRY * files::directory_entries(path, &mut buffer) as i64);
        }
    })
}

/// The RLIMIT_NOFILE soft limit (one prlimit64).
fn nofile_soft_limit() -> i64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    i64::try_from(limit.rlim_cur).unwrap_or(i64::MAX)
}

/// Every tab-separated field of a call is one source of the file mounts.
pub fn max_workers(calls: Calls) -> Box<dyn FnMut()> {
    let sources: Vec<Vec<CString>> =
        calls.iter().map(|call| call.iter().map(|source| c_path(Path::new(source))).collect()).collect();
    let mut buffer = vec![0u8; DIRENT_BUFFER_BYTES];
    let mut small = [0u8; 256];
    Box::new(move || {
        for call in &sources {
            let soft_limit = nofile_soft_limit();
            let thread_cap = (online_cpus(&mut small).unwrap_or(1) - 1).max(4);
            let mut fd_per_rsync = MIN_FD_PER_RSYNC;
            for source in call {
                fd_per_rsync =
                    fd_per_rsync.max(FD_PER_ENTRY * files::directory_entries(source, &mut buffer) as i64);
            }
            black_box(((soft_limit - FD_RESERVE) / fd_per_rsync).clamp(1, thread_cap));
        }
    })
}

/// socket + bind on 0.0.0.0 + close per port, from the start port until a bind succeeds.
pub fn find_free_port(calls: Calls) -> Box<dyn FnMut()> {
    let starts: Vec<u16> = calls.iter().map(|call| call[0].parse().expect("start port")).collect();
    Box::new(move || {
        for &start in &starts {
            let free = (start..PORT_RANGE_END).find(|&port| {
                let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None);
                socket.is_ok_and(|socket| {
                    socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into()).is_ok()
                })
            });
            black_box(free);
        }
    })
}

/// The cgroup CPU quota in whole CPUs: v2's cpu.max, else v1's quota (and its period only when the quota
/// is a limit). Opening cpu.max is the v2 test: where it is missing there is no v2 limit to read.
fn cgroup_cpu_limit(buffer: &mut [u8]) -> Option<i64> {
    if let Some(text) = read_small_file(c"/sys/fs/cgroup/cpu.max", buffer) {
        let text = std::str::from_utf8(text).ok()?;
        let (quota, period) = text.trim().split_once(' ')?;
        let (quota, period) = (quota.parse::<f64>().ok()?, period.parse::<f64>().ok()?);
        return (quota > 0.0 && period > 0.0).then(|| (quota / period) as i64);
    }
    let quota = parse_i64(read_small_file(c"/sys/fs/cgroup/cpu/cpu.cfs_quota_us", buffer)?)?;
    if quota <= 0 {
        return None;
    }
    let period = parse_i64(read_small_file(c"/sys/fs/cgroup/cpu/cpu.cfs_period_us", buffer)?)?;
    (period > 0).then(|| quota / period)
}

pub fn cpu_count() -> Box<dyn FnMut()> {
    let mut buffer = [0u8; 256];
    Box::new(move || {
        let mut count = online_cpus(&mut buffer).unwrap_or(1);
        count = count.min(affinity_cpus().unwrap_or(i64::MAX));
        if let Some(limit) = cgroup_cpu_limit(&mut buffer) {
            count = count.min(limit);
        }
        black_box(count);
    })
}

fn cgroup_memory_limit_bytes(buffer: &mut [u8]) -> Option<u64> {
    let length = read_small_file(c"/sys/fs/cgroup/memory.max", buffer).map(<[u8]>::len).or_else(|| {
        read_small_file(c"/sys/fs/cgroup/memory/memory.limit_in_bytes", buffer).map(<[u8]>::len)
    })?;
    std::str::from_utf8(&buffer[..length]).ok()?.trim().parse().ok()
}

pub fn mem_size_gb() -> Box<dyn FnMut()> {
    let mut buffer = [0u8; 256];
    Box::new(move || {
        let total = total_ram_bytes(&mut buffer).unwrap_or(0);
        let bytes = cgroup_memory_limit_bytes(&mut buffer).map_or(total, |limit| limit.min(total));
        black_box(bytes as f64 / f64::from(1u32 << 30));
    })
}

pub fn parallel_threads(calls: Calls) -> Box<dyn FnMut()> {
    let clouds: Vec<String> =
        calls.into_iter().map(|call| call.into_iter().next().unwrap_or_default()).collect();
    let mut buffer = [0u8; 256];
    Box::new(move || {
        for cloud in &clouds {
            let multiplier =
                if cloud.eq_ignore_ascii_case("kubernetes") { KUBERNETES_THREAD_MULTIPLIER } else { 1 };
            black_box((online_cpus(&mut buffer).unwrap_or(1) - 1).max(4) * multiplier);
        }
    })
}

/// The Tgid of a /proc/PID/status text.
fn status_tgid(status: &[u8]) -> Option<i64> {
    let start = memchr::memmem::find(status, b"\nTgid:")? + 6;
    let line = &status[start..];
    let end = memchr::memchr(b'\n', line).unwrap_or(line.len());
    parse_i64(&line[..end])
}

/// kill(pid, 0); for a live pid, the one read of /proc/PID/status that tells a process from a thread.
pub fn process_alive(calls: Calls) -> Box<dyn FnMut()> {
    let own_pid = std::process::id().to_string();
    let pids: Vec<(i32, CString)> = calls
        .iter()
        .map(|call| {
            let pid_text = if call[0] == "self" { own_pid.as_str() } else { call[0].as_str() };
            let pid: i32 = pid_text.parse().expect("pid");
            (pid, CString::new(format!("/proc/{pid}/status")).expect("path"))
        })
        .collect();
    let mut buffer = [0u8; 512];
    Box::new(move || {
        for (pid, status_path) in &pids {
            // SAFETY: signal 0 only checks the process.
            let dead = unsafe { libc::kill(*pid, 0) } != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
            let alive = !dead
                && read_small_file(status_path, &mut buffer).and_then(status_tgid) == Some(i64::from(*pid));
            black_box(alive);
        }
    })
}
