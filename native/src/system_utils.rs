//! `get_cpu_count` and `get_mem_size_gb` with cgroup awareness (spec sections 2.7-2.8).
//!
//! The `_at` functions take the cgroup root, the environment overrides and the host figures, so tests drive
//! them against fake cgroup trees; the public functions pass the host's values.

use crate::errors::SkyError;
use crate::numeric_text::{parse_python_float, parse_python_int, python_strip, truncate_float_to_int};
use num_bigint::BigInt;
use num_traits::{Signed, ToPrimitive, Zero};
use std::ffi::OsStr;
use std::path::Path;
use std::sync::OnceLock;

pub const HOST_CGROUP_ROOT: &str = "/sys/fs/cgroup";
pub const CPU_LIMIT_ENV: &str = "SKYPILOT_POD_CPU_CORE_LIMIT";
pub const MEMORY_GB_LIMIT_ENV: &str = "SKYPILOT_POD_MEMORY_GB_LIMIT";
pub const MEMORY_BYTES_LIMIT_ENV: &str = "SKYPILOT_POD_MEMORY_BYTES_LIMIT";
const BYTES_PER_GIB: f64 = 1_073_741_824.0;
const GIB_SHIFT: u32 = 30;

/// Python's `int(x)` of a float: exact at any size; NaN and the infinities raise as Python does.
fn float_to_int(value: f64) -> Result<BigInt, SkyError> {
    if value.is_nan() {
        return Err(SkyError::Value("cannot convert float NaN to integer".to_string()));
    }
    truncate_float_to_int(value)
        .ok_or_else(|| SkyError::Overflow("cannot convert float infinity to integer".to_string()))
}

/// An environment value as Python's `os.environ` holds it, as WTF-8: UTF-8, plus a lone surrogate for each
/// byte that is not UTF-8 (`os.environ` decodes with surrogateescape; a caller's mapping may hold any str).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvText(Vec<u8>);

impl EnvText {
    /// From Python's `str.encode('utf-8', 'surrogatepass')`.
    pub fn from_wtf8(bytes: Vec<u8>) -> Self {
        EnvText(bytes)
    }

    /// From the raw bytes of the process environment, as `os.fsdecode` reads them: each byte that is not
    /// UTF-8 becomes U+DC80..U+DCFF.
    pub fn from_os(value: &OsStr) -> Self {
        let mut text = Vec::with_capacity(value.len());
        for chunk in value.as_encoded_bytes().utf8_chunks() {
            text.extend_from_slice(chunk.valid().as_bytes());
            for &byte in chunk.invalid() {
                // U+DC00 + byte in three UTF-8-style bytes.
                text.extend_from_slice(&[0xed, 0xb0 | (byte >> 6), 0x80 | (byte & 0x3f)]);
            }
        }
        EnvText(text)
    }

    /// The text, if it holds no lone surrogate (one never parses as a number).
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// `ValueError(f"{prefix}{value}{suffix}")` with the value as Python prints it.
    fn parse_error(&self, prefix: &str, suffix: &str) -> SkyError {
        SkyError::ValueWithText {
            prefix: prefix.to_string(),
            text: self.0.clone(),
            suffix: suffix.to_string(),
        }
    }
}

impl From<&str> for EnvText {
    fn from(text: &str) -> Self {
        EnvText(text.as_bytes().to_vec())
    }
}

/// `os.path.isfile(root/cgroup.controllers)`: SkyPilot's cgroup v2 test.
fn is_cgroup_v2(cgroup_root: &Path) -> bool {
    std::fs::metadata(cgroup_root.join("cgroup.controllers")).is_ok_and(|meta| meta.is_file())
}

/// `open(path, encoding='utf-8').read().strip()`; None where Python raises `OSError` or a decode error,
/// `MemoryError` where the file does not fit in memory (Python does not catch that either).
fn read_stripped(path: &Path) -> Result<Option<String>, SkyError> {
    let Some(bytes) = crate::io_utils::read_file(path)? else {
        return Ok(None);
    };
    Ok(String::from_utf8(bytes).ok().map(|text| python_strip(&text).to_string()))
}

/// The cgroup CPU quota in cores, or None for no limit, no readable tree (`cgroup_root` None: a root the
/// file system encoding cannot carry) or an unreadable or invalid file.
/// A v2 period of 0 means no limit (a deviation: SkyPilot raises ZeroDivisionError).
fn cgroup_cpu_limit(cgroup_root: Option<&Path>) -> Result<Option<f64>, SkyError> {
    let Some(cgroup_root) = cgroup_root else {
        return Ok(None);
    };
    if is_cgroup_v2(cgroup_root) {
        let Some(text) = read_stripped(&cgroup_root.join("cpu.max"))? else {
            return Ok(None);
        };
        return Ok(cpu_max_limit(&text));
    }
    let quota_text = read_stripped(&cgroup_root.join("cpu").join("cpu.cfs_quota_us"))?;
    let Some(quota) = quota_text.as_deref().and_then(parse_python_float) else {
        return Ok(None);
    };
    let period_text = read_stripped(&cgroup_root.join("cpu").join("cpu.cfs_period_us"))?;
    let Some(period) = period_text.as_deref().and_then(parse_python_float) else {
        return Ok(None);
    };
    // -1 means "no quota" in v1.
    Ok((quota > 0.0 && period > 0.0).then(|| quota / period))
}

/// The quota of a v2 `cpu.max` ("<quota> <period>" or "max <period>") in cores.
fn cpu_max_limit(text: &str) -> Option<f64> {
    let tokens: Vec<&str> =
        text.split(crate::numeric_text::is_python_space).filter(|t| !t.is_empty()).collect();
    let [quota_text, period_text] = tokens.as_slice() else {
        return None;
    };
    if *quota_text == "max" {
        return None;
    }
    let quota = parse_python_float(quota_text)?;
    let period = parse_python_float(period_text)?;
    if period == 0.0 {
        return None;
    }
    // `quota > 0` is false for NaN: no limit, as in SkyPilot.
    (quota > 0.0).then(|| quota / period)
}

/// `get_cpu_count` with its inputs injected (spec 2.7): the env override as `int(float(value))`, else
/// min(online CPUs, affinity size, floor(cgroup quota)).
pub fn get_cpu_count_at(
    cgroup_root: Option<&Path>,
    cpu_limit_env: Option<&EnvText>,
    online_cpus: &BigInt,
    affinity_cpus: Option<&BigInt>,
) -> Result<BigInt, SkyError> {
    if let Some(value) = cpu_limit_env {
        let parse_error = || value.parse_error("Failed to parse the number of CPUs from ", "");
        let parsed = value.as_str().and_then(parse_python_float).ok_or_else(parse_error)?;
        // int(nan) raises ValueError, which SkyPilot rewraps; int(inf) raises OverflowError, which it does not.
        return float_to_int(parsed).map_err(|error| match error {
            SkyError::Value(_) => parse_error(),
            other => other,
        });
    }
    let mut cpu_count = online_cpus.clone();
    if let Some(affinity) = affinity_cpus {
        cpu_count = cpu_count.min(affinity.clone());
    }
    if let Some(limit) = cgroup_cpu_limit(cgroup_root)? {
        // A floor, as in SkyPilot: a 0.5-CPU quota gives 0.
        cpu_count = cpu_count.min(float_to_int(limit)?);
    }
    Ok(cpu_count)
}

/// The cgroup memory limit in bytes, or None for no limit, no readable tree or an unreadable or invalid file.
fn cgroup_memory_limit_bytes(cgroup_root: Option<&Path>) -> Result<Option<BigInt>, SkyError> {
    let Some(cgroup_root) = cgroup_root else {
        return Ok(None);
    };
    let path = if is_cgroup_v2(cgroup_root) {
        cgroup_root.join("memory.max")
    } else {
        cgroup_root.join("memory").join("memory.limit_in_bytes")
    };
    let Some(text) = read_stripped(&path)? else {
        return Ok(None);
    };
    if text == "max" || text.is_empty() {
        return Ok(None);
    }
    Ok(parse_python_int(&text, 10).filter(|limit| limit.is_positive()))
}

/// Python's `bytes / 1024**3` for ints: one correct rounding of the exact quotient.
fn bytes_to_gib(bytes: &BigInt) -> Result<f64, SkyError> {
    if let Some(small) = bytes.to_i128() {
        // i128 -> f64 rounds once; dividing by a power of two is then exact.
        return Ok(small as f64 / BYTES_PER_GIB);
    }
    // Beyond i128: shift all but one of the divisor's bits out, keeping a sticky bit so the single rounding
    // in to_f64 still sees whether anything was discarded.
    let magnitude = bytes.magnitude();
    let shifted = magnitude >> (GIB_SHIFT - 1);
    let discarded_nonzero = !(magnitude - (&shifted << (GIB_SHIFT - 1))).is_zero();
    let sticky = if discarded_nonzero { &shifted | num_bigint::BigUint::from(1u8) } else { shifted };
    let gib = sticky.to_f64().unwrap_or(f64::INFINITY) / 2.0;
    if gib.is_infinite() {
        return Err(SkyError::Overflow("integer division result too large for a float".to_string()));
    }
    Ok(if bytes.is_negative() { -gib } else { gib })
}

/// `get_mem_size_gb` with its inputs injected (spec 2.8), in GiB: the GB override, else the bytes override,
/// else min(host total, cgroup limit).
pub fn get_mem_size_gb_at(
    cgroup_root: Option<&Path>,
    memory_gb_env: Option<&EnvText>,
    memory_bytes_env: Option<&EnvText>,
    host_total_bytes: &BigInt,
) -> Result<f64, SkyError> {
    const PREFIX: &str = "Failed to parse the memory size from ";
    if let Some(value) = memory_gb_env {
        return value.as_str().and_then(parse_python_float).ok_or_else(|| value.parse_error(PREFIX, " (GB)"));
    }
    if let Some(value) = memory_bytes_env {
        return value
            .as_str()
            .and_then(parse_python_float)
            .map(|bytes| bytes / BYTES_PER_GIB)
            .ok_or_else(|| value.parse_error(PREFIX, " (bytes)"));
    }
    let memory_bytes = match cgroup_memory_limit_bytes(cgroup_root)? {
        Some(limit) => host_total_bytes.clone().min(limit),
        None => host_total_bytes.clone(),
    };
    bytes_to_gib(&memory_bytes)
}

/// The online CPU count, `sysconf(_SC_NPROCESSORS_ONLN)` (what psutil.cpu_count() and os.cpu_count() use).
pub fn online_cpu_count() -> Option<i64> {
    // SAFETY: sysconf has no preconditions.
    let count = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    (count > 0).then_some(count)
}

/// The number of CPUs in this process's affinity mask (`len(os.sched_getaffinity(0))`).
pub fn affinity_cpu_count() -> Option<i64> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some(i64::from(libc::CPU_COUNT(&set)))
    }
}

const MEMINFO_PATH: &str = "/proc/meminfo";

/// `MemTotal` of `/proc/meminfo` in bytes (what psutil.virtual_memory().total reports). The kernel writes
/// MemTotal first, so one read of the file's head holds it: reading the whole file to its end cost about
/// twice as much here (the kernel renders it again for the probing reads). The whole file is read only when
/// the head has no complete MemTotal line.
pub fn host_memory_bytes() -> Result<u64, SkyError> {
    let io_error = |error: std::io::Error| SkyError::from_io(&error, Some(MEMINFO_PATH.into()));
    let mut file = std::fs::File::open(MEMINFO_PATH).map_err(io_error)?;
    let mut head = [0u8; 256];
    let count = loop {
        match std::io::Read::read(&mut file, &mut head) {
            Ok(count) => break count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(io_error(error)),
        }
    };
    if let Some(bytes) = mem_total_bytes(&head[..count]) {
        return Ok(bytes);
    }
    let whole = std::fs::read(MEMINFO_PATH).map_err(io_error)?;
    mem_total_bytes(&whole).ok_or_else(|| SkyError::Value("MemTotal not found in /proc/meminfo".to_string()))
}

/// MemTotal in bytes from the complete lines of a `/proc/meminfo` text (a line cut short by the end of a
/// partial read is not one: its number could be cut too).
fn mem_total_bytes(meminfo: &[u8]) -> Option<u64> {
    let complete = &meminfo[..meminfo.iter().rposition(|&byte| byte == b'\n')? + 1];
    let rest = complete.split(|&byte| byte == b'\n').find_map(|line| line.strip_prefix(b"MemTotal:"))?;
    let digits = rest.trim_ascii().strip_suffix(b"kB")?.trim_ascii();
    std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?.checked_mul(1024)
}

/// The value of an environment variable as `os.environ` shows it (undecodable bytes as surrogates).
pub fn env_value(name: &str) -> Option<EnvText> {
    std::env::var_os(name).map(|value| EnvText::from_os(&value))
}

/// psutil.cpu_count() as SkyPilot's get_cpu_count sees it: the online count, cached after the first call
/// (psutil caches it; os.cpu_count(), which get_parallel_threads uses, does not).
fn psutil_cpu_count() -> Option<i64> {
    static FIRST_ONLINE_CPU_COUNT: OnceLock<Option<i64>> = OnceLock::new();
    *FIRST_ONLINE_CPU_COUNT.get_or_init(online_cpu_count)
}

/// `get_cpu_count()` on this host.
pub fn get_cpu_count() -> Result<BigInt, SkyError> {
    let online = psutil_cpu_count()
        .ok_or_else(|| SkyError::Type("the number of online CPUs could not be determined".to_string()))?;
    let affinity = affinity_cpu_count().map(BigInt::from);
    get_cpu_count_at(
        Some(Path::new(HOST_CGROUP_ROOT)),
        env_value(CPU_LIMIT_ENV).as_ref(),
        &BigInt::from(online),
        affinity.as_ref(),
    )
}

/// `get_mem_size_gb()` on this host.
pub fn get_mem_size_gb() -> Result<f64, SkyError> {
    get_mem_size_gb_at(
        Some(Path::new(HOST_CGROUP_ROOT)),
        env_value(MEMORY_GB_LIMIT_ENV).as_ref(),
        env_value(MEMORY_BYTES_LIMIT_ENV).as_ref(),
        &BigInt::from(host_memory_bytes()?),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake cgroup tree: v2 when `cpu_max` or `memory_max` is given, else v1 files.
    fn cgroup_v2(cpu_max: Option<&str>, memory_max: Option<&str>) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("temp dir");
        fs::write(root.path().join("cgroup.controllers"), "cpu memory\n").expect("write");
        if let Some(text) = cpu_max {
            fs::write(root.path().join("cpu.max"), text).expect("write");
        }
        if let Some(text) = memory_max {
            fs::write(root.path().join("memory.max"), text).expect("write");
        }
        root
    }

    fn cpus(root: &Path, env: Option<&str>, online: i64, affinity: Option<i64>) -> Result<BigInt, SkyError> {
        let env = env.map(EnvText::from);
        get_cpu_count_at(Some(root), env.as_ref(), &BigInt::from(online), affinity.map(BigInt::from).as_ref())
    }

    #[test]
    fn environment_bytes_read_as_os_environ_shows_them() {
        use std::os::unix::ffi::OsStrExt;
        // b"4\xff" is '4\udcff' in os.environ: U+DCFF as WTF-8, which never parses as a number.
        let value = EnvText::from_os(OsStr::from_bytes(b"4\xff"));
        assert_eq!(value, EnvText::from_wtf8(b"4\xed\xb3\xbf".to_vec()));
        assert_eq!(value.as_str(), None);
        assert_eq!(EnvText::from_os(OsStr::new("8")).as_str(), Some("8"));
        let error = get_cpu_count_at(None, Some(&value), &BigInt::from(2), None);
        assert!(matches!(error, Err(SkyError::ValueWithText { text, .. }) if text == b"4\xed\xb3\xbf"));
    }

    #[test]
    fn cpu_env_override_follows_int_of_float() {
        let root = tempfile::tempdir().expect("temp dir");
        for (value, expected) in [("4", 4), ("2.9", 2), ("0.5", 0), ("-1", -1), (" 8 ", 8), ("1e1", 10)] {
            assert_eq!(cpus(root.path(), Some(value), 2, None), Ok(BigInt::from(expected)), "{value:?}");
        }
        for bad in ["abc", "nan", ""] {
            let message = format!("Failed to parse the number of CPUs from {bad}");
            assert_eq!(cpus(root.path(), Some(bad), 2, None).map_err(|e| e.to_string()), Err(message));
        }
        let infinity = SkyError::Overflow("cannot convert float infinity to integer".into());
        assert_eq!(cpus(root.path(), Some("inf"), 2, None), Err(infinity));
        let huge: BigInt = "1000000000000000019884624838656".parse().unwrap_or_default();
        assert_eq!(cpus(root.path(), Some("1e30"), 2, None), Ok(huge));
    }

    #[test]
    fn cpu_count_takes_the_minimum_of_host_affinity_and_cgroup() {
        let no_cgroup = tempfile::tempdir().expect("temp dir");
        assert_eq!(cpus(no_cgroup.path(), None, 8, None), Ok(BigInt::from(8)));
        assert_eq!(cpus(no_cgroup.path(), None, 8, Some(4)), Ok(BigInt::from(4)));
        let sixteen = cgroup_v2(Some("1600000 100000\n"), None);
        assert_eq!(cpus(sixteen.path(), None, 8, Some(4)), Ok(BigInt::from(4)));
        let two = cgroup_v2(Some("200000 100000"), None);
        assert_eq!(cpus(two.path(), None, 8, Some(4)), Ok(BigInt::from(2)));
        let cases =
            [("150000 100000", 1), ("50000 100000", 0), ("max 100000", 8), ("100000 0", 8), ("1 2 3", 8)];
        for (cpu_max, expected) in cases {
            let root = cgroup_v2(Some(cpu_max), None);
            assert_eq!(cpus(root.path(), None, 8, None), Ok(BigInt::from(expected)), "{cpu_max:?}");
        }
        let nan_limit = cgroup_v2(Some("inf inf"), None);
        let nan_error = SkyError::Value("cannot convert float NaN to integer".into());
        assert_eq!(cpus(nan_limit.path(), None, 8, None), Err(nan_error));
    }

    #[test]
    fn cpu_count_reads_cgroup_v1_files() {
        let root = tempfile::tempdir().expect("temp dir");
        fs::create_dir(root.path().join("cpu")).expect("mkdir");
        fs::write(root.path().join("cpu/cpu.cfs_quota_us"), "150000\n").expect("write");
        fs::write(root.path().join("cpu/cpu.cfs_period_us"), "100000\n").expect("write");
        assert_eq!(cpus(root.path(), None, 8, None), Ok(BigInt::from(1)));
        fs::write(root.path().join("cpu/cpu.cfs_quota_us"), "-1\n").expect("write");
        assert_eq!(cpus(root.path(), None, 8, None), Ok(BigInt::from(8)));
    }

    #[test]
    fn memory_overrides_and_cgroup_limits() {
        let gib = |n: i64| BigInt::from(n) * BigInt::from(1i64 << 30);
        let none = tempfile::tempdir().expect("temp dir");
        let mem = |root: &Path, gb: Option<&str>, bytes: Option<&str>, host: &BigInt| {
            let (gb, bytes) = (gb.map(EnvText::from), bytes.map(EnvText::from));
            get_mem_size_gb_at(Some(root), gb.as_ref(), bytes.as_ref(), host)
        };
        assert_eq!(mem(none.path(), Some("16"), None, &gib(8)), Ok(16.0));
        assert_eq!(mem(none.path(), Some("0.5"), Some("1"), &gib(8)), Ok(0.5));
        assert_eq!(mem(none.path(), None, Some("8589934592"), &gib(8)), Ok(8.0));
        assert_eq!(mem(none.path(), None, Some("1000000000"), &gib(8)), Ok(0.9313225746154785));
        let bad_gb = "Failed to parse the memory size from x (GB)".to_string();
        assert_eq!(mem(none.path(), Some("x"), None, &gib(8)).map_err(|e| e.to_string()), Err(bad_gb));
        let bad_bytes = "Failed to parse the memory size from 8Gi (bytes)".to_string();
        assert_eq!(mem(none.path(), None, Some("8Gi"), &gib(8)).map_err(|e| e.to_string()), Err(bad_bytes));
        assert_eq!(mem(none.path(), None, None, &BigInt::from(25_276_502_016i64)), Ok(23.540576934814453));
        let four = cgroup_v2(None, Some(&format!("{}\n", gib(4))));
        assert_eq!(mem(four.path(), None, None, &gib(8)), Ok(4.0));
        let sixteen = cgroup_v2(None, Some(&gib(16).to_string()));
        assert_eq!(mem(sixteen.path(), None, None, &gib(8)), Ok(8.0));
        let unlimited = cgroup_v2(None, Some("max\n"));
        assert_eq!(mem(unlimited.path(), None, None, &gib(8)), Ok(8.0));
    }

    #[test]
    fn huge_byte_counts_divide_like_python() {
        let huge = BigInt::from(3) << 200u32;
        assert_eq!(bytes_to_gib(&huge), Ok(3.0 * 2f64.powi(170)));
        let too_big = BigInt::from(1) << 1100u32;
        assert!(matches!(bytes_to_gib(&too_big), Err(SkyError::Overflow(_))));
    }

    #[test]
    fn host_figures_are_sane() {
        assert!(online_cpu_count().is_some_and(|count| count >= 1));
        assert!(host_memory_bytes().is_ok_and(|bytes| bytes > 0));
    }

    #[test]
    fn mem_total_is_read_from_complete_lines_only() {
        let text = b"MemTotal:       24683568 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total_bytes(text), Some(24_683_568 * 1024));
        // A head cut inside the MemTotal line has no complete line to read it from.
        assert_eq!(mem_total_bytes(b"MemTotal:       2468"), None);
        assert_eq!(mem_total_bytes(b"MemFree:  1 kB\nMemTotal:  8 kB\nSwap"), Some(8 * 1024));
        assert_eq!(mem_total_bytes(b"MemFree:  1 kB\n"), None);
        assert_eq!(mem_total_bytes(b"MemTotal:  8 MB\n"), None);
    }

    #[test]
    fn the_head_read_gives_the_whole_file_s_mem_total() {
        let whole = std::fs::read(MEMINFO_PATH).expect("read /proc/meminfo");
        assert_eq!(host_memory_bytes().ok(), mem_total_bytes(&whole));
    }
}
