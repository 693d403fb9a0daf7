//! Criterion benches of the pure Rust functions, without Python: what the PyO3 calls cost minus the boundary.
//!
//! Bench ids are `<function>/<workload id>` with the harness's workload ids (harness/workloads.py), so
//! harness/criterion.py can pair each figure with the PyO3 time of the same workload. Inputs are small
//! stand-ins of those workloads, generated here deterministically. Batch benches time 1000 calls per iteration
//! and declare `Throughput::Elements(1000)`, which the harness divides out.
//!
//! Run: `cargo bench --no-default-features --bench functions` (add `-- --quick` for a short run).

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use sky_rs::io_utils::{self, DecodeErrors, Encoding, NamedPath};
use sky_rs::{process_utils, string_utils, system_utils};
use socket2::{Domain, Socket, Type};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Calls per iteration of the batch benches (the harness's `_STRING_BATCH_LENGTH`).
const BATCH_LENGTH: usize = 1000;
const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// A small deterministic generator (SplitMix64), so every run times the same inputs.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `low..high`.
    fn below(&mut self, low: usize, high: usize) -> usize {
        low + (self.next() % (high - low) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(0, items.len())]
    }
}

fn batch_group<'c>(criterion: &'c mut Criterion, function: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = criterion.benchmark_group(function);
    group.throughput(Throughput::Elements(BATCH_LENGTH as u64));
    group
}

fn bench_base36(criterion: &mut Criterion) {
    let mut rng = SplitMix64(36);
    let hex_batch: Vec<String> =
        (0..BATCH_LENGTH).map(|_| format!("{:016x}{:016x}", rng.next(), rng.next())).collect();
    let mut group = batch_group(criterion, "base36_encode");
    // md5 hexdigests and uuid4().hex are both 32 lower-case hex digits.
    for workload in ["md5-hex", "uuid-hex"] {
        group.bench_function(workload, |b| {
            b.iter(|| {
                for hex in &hex_batch {
                    black_box(string_utils::base36_encode(black_box(hex)).ok());
                }
            })
        });
    }
    group.finish();
}

/// A `format_float` argument: Python ints take `str()`, floats the Rust formatter.
enum Number {
    Int(i64),
    Float(f64),
}

fn bench_format_float(criterion: &mut Criterion) {
    let mut rng = SplitMix64(7);
    let numbers: Vec<Number> = (0..BATCH_LENGTH)
        .map(|index| match index % 4 {
            0 => Number::Int(rng.below(1, 1025) as i64),
            1 => Number::Float(rng.below(1, 4097) as f64),
            2 => Number::Float(rng.below(1, 4097) as f64 + 0.5),
            _ => Number::Float(rng.below(1, 100_000) as f64 / 97.0),
        })
        .collect();
    // The per-shape workloads: one kind of the mix each, from the harness's value sets, on their own generator
    // so the mixed inputs stay as they were.
    const INTS: [i64; 12] = [1, 2, 4, 8, 16, 32, 64, 96, 128, 256, 512, 1024];
    const WHOLES: [f64; 13] =
        [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0];
    let mut shape_rng = SplitMix64(8);
    let ints: Vec<Number> = (0..BATCH_LENGTH).map(|_| Number::Int(*shape_rng.pick(&INTS))).collect();
    let wholes: Vec<Number> = (0..BATCH_LENGTH).map(|_| Number::Float(*shape_rng.pick(&WHOLES))).collect();
    let mut group = batch_group(criterion, "format_float");
    for (workload, batch, precision) in [
        ("mixed-p1", &numbers, 1),
        ("mixed-p0", &numbers, 0),
        ("ints-p1", &ints, 1),
        ("whole-p0", &wholes, 0),
    ] {
        group.bench_function(workload, |b| {
            b.iter(|| {
                for number in batch {
                    let text = match number {
                        Number::Int(value) => value.to_string(),
                        Number::Float(value) => string_utils::format_float(*value, precision),
                    };
                    black_box(text);
                }
            })
        });
    }
    group.finish();
}

fn bench_truncate(criterion: &mut Criterion) {
    const COMMAND_PARTS: [&str; 8] =
        ["python", "train.py", "--epochs", "100", "--lr", "0.001", "--batch-size", "64"];
    const ERROR_PARTS: [&str; 6] =
        ["Failed to provision", "resources:", "quota exceeded in", "us-east-1;", "retrying", "日本語"];
    const ZONES: [&str; 4] =
        ["us-west-2-availability-zone-1", "us-east-1-very-long-region", "europe-west4-a", "ap-northeast-1c"];
    let mut rng = SplitMix64(25);
    let mut joined = |parts: &[&str], max_words: usize| -> String {
        let words = rng.below(1, max_words);
        let text: Vec<&str> = (0..words).map(|_| *rng.pick(parts)).collect();
        text.join(" ").chars().take(500).collect()
    };
    let commands: Vec<String> = (0..BATCH_LENGTH).map(|_| joined(&COMMAND_PARTS, 20)).collect();
    let errors: Vec<String> = (0..BATCH_LENGTH).map(|_| joined(&ERROR_PARTS, 5)).collect();
    let zones: Vec<String> = (0..BATCH_LENGTH).map(|index| ZONES[index % ZONES.len()].to_string()).collect();
    let mut group = batch_group(criterion, "truncate_long_string");
    for (workload, strings, max_length, middle) in [
        ("commands-25", &commands, 25, false),
        ("errors-60", &errors, 60, false),
        ("regions-middle-25", &zones, 25, true),
    ] {
        group.bench_function(workload, |b| {
            b.iter(|| {
                for text in strings {
                    black_box(string_utils::truncate_long_string(black_box(text), max_length, middle).ok());
                }
            })
        });
    }
    group.finish();
}

/// A log of `size_bytes` with lines of 80-200 bytes and, now and then, one longer than the 8 KiB chunk.
fn write_log(path: &Path, size_bytes: usize) {
    let mut rng = SplitMix64(size_bytes as u64);
    let mut log = Vec::with_capacity(size_bytes + 16 * KIB);
    while log.len() < size_bytes {
        let length = if rng.below(0, 500) == 0 { rng.below(9 * KIB, 16 * KIB) } else { rng.below(80, 201) };
        log.extend((0..length).map(|i| b'a' + (i % 26) as u8));
        log.push(b'\n');
    }
    log.truncate(size_bytes);
    std::fs::write(path, log).expect("write the log");
}

fn bench_read_last_n_lines(criterion: &mut Criterion, scratch: &Path) {
    let mut group = criterion.benchmark_group("read_last_n_lines");
    for (label, size_bytes) in [("1KB", 1000), ("1MB", 1_000_000)] {
        let path = scratch.join(format!("{label}.log"));
        write_log(&path, size_bytes);
        let file = NamedPath { path: path.clone(), shown_as: path.display().to_string() };
        for n in [10, 1000] {
            group.bench_function(format!("{label}-n{n}"), |b| {
                b.iter(|| io_utils::read_last_n_lines(&file, n, 8192, Encoding::Utf8, DecodeErrors::Replace))
            });
        }
    }
    group.finish();
}

fn bench_hash_file(criterion: &mut Criterion, scratch: &Path) {
    let mut rng = SplitMix64(18);
    let mut group = criterion.benchmark_group("hash_file");
    for (label, size_bytes) in [("4KiB", 4 * KIB), ("1MiB", MIB)] {
        let path = scratch.join(format!("random-{label}.bin"));
        let bytes: Vec<u8> = (0..size_bytes).map(|_| rng.next() as u8).collect();
        std::fs::write(&path, bytes).expect("write the file");
        // The bench's two algorithms at every size; at 1 MiB also one per engine choice of `hashing`: SHA-512
        // (OpenSSL's assembly beats RustCrypto's) and BLAKE2b (RustCrypto's beats OpenSSL's and CPython's).
        let algorithms: &[&str] =
            if size_bytes == MIB { &["md5", "sha256", "sha512", "blake2b"] } else { &["md5", "sha256"] };
        for algorithm in algorithms {
            group.bench_function(format!("{algorithm}-{label}"), |b| {
                b.iter(|| io_utils::hash_file(&path, algorithm).map(|digest| digest.digest))
            });
        }
    }
    group.finish();
}

/// A directory of `entry_count` empty files.
fn directory_of(scratch: &Path, entry_count: usize) -> PathBuf {
    let path = scratch.join(format!("dir-{entry_count}"));
    std::fs::create_dir(&path).expect("mkdir");
    for index in 0..entry_count {
        std::fs::write(path.join(format!("entry-{index:06}.dat")), b"").expect("write an entry");
    }
    path
}

fn bench_directories(criterion: &mut Criterion, scratch: &Path) {
    let directories: Vec<(usize, PathBuf)> =
        [10, 1000].into_iter().map(|count| (count, directory_of(scratch, count))).collect();
    let mut group = criterion.benchmark_group("estimate_fd_for_directory");
    for (count, path) in &directories {
        group.bench_function(format!("dir-{count}"), |b| {
            b.iter(|| process_utils::estimate_fd_for_directory(path))
        });
    }
    group.finish();
    let thread_cap = process_utils::get_parallel_threads(false);
    let soft_limit = process_utils::nofile_soft_limit().expect("getrlimit");
    let mut group = criterion.benchmark_group("get_max_workers_for_file_mounts");
    for (count, path) in &directories {
        // A local directory and a cloud URL, as the harness's workload.
        let sources = [path.clone(), PathBuf::from("s3://bucket/data")];
        group.bench_function(format!("dir-{count}"), |b| {
            b.iter(|| process_utils::get_max_workers_for_file_mounts_with(&sources, thread_cap, soft_limit))
        });
    }
    group.finish();
}

fn bench_system_queries(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("get_cpu_count");
    group.bench_function("host", |b| b.iter(system_utils::get_cpu_count));
    group.finish();
    let mut group = criterion.benchmark_group("get_mem_size_gb");
    group.bench_function("host", |b| b.iter(system_utils::get_mem_size_gb));
    group.finish();
    let mut group = criterion.benchmark_group("get_parallel_threads");
    group.bench_function("default", |b| b.iter(|| process_utils::get_parallel_threads(black_box(false))));
    group.bench_function("kubernetes", |b| {
        b.iter(|| process_utils::get_parallel_threads(process_utils::is_kubernetes(black_box("kubernetes"))))
    });
    group.finish();
    let own_pid = i32::try_from(std::process::id()).expect("pid fits a C int");
    let pid_max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1 << 22);
    let mut group = criterion.benchmark_group("is_process_alive");
    for (workload, pid) in [("own-pid", own_pid), ("dead-pid", pid_max + 1), ("pid-1", 1)] {
        group.bench_function(workload, |b| b.iter(|| process_utils::is_process_alive(black_box(pid))));
    }
    group.finish();
}

/// Whether a wildcard bind of `port` succeeds now (the test find_free_port itself makes).
fn wildcard_bind_free(port: u16) -> bool {
    io_utils::find_free_port(i64::from(port)) == Ok(i64::from(port))
}

/// A start port with `occupied` ports just ahead of it bound on 127.0.0.1 without listening (as the
/// harness's workload holds them), and the sockets holding them.
fn occupy_ports_ahead(occupied: u16) -> (i64, Vec<Socket>) {
    let mut start: u16 = 42000;
    while start < 60000 {
        if let Some(blocked) = (start..=start + occupied).find(|&port| !wildcard_bind_free(port)) {
            start = blocked + 1;
            continue;
        }
        let held: Vec<Socket> = (start..start + occupied)
            .filter_map(|port| {
                let holder = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
                holder.bind(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into()).ok()?;
                Some(holder)
            })
            .collect();
        if held.len() == usize::from(occupied) {
            return (i64::from(start), held);
        }
        start += occupied + 1;
    }
    panic!("no window of {} free ports between 42000 and 60000", occupied + 1);
}

fn bench_find_free_port(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("find_free_port");
    for occupied in [0, 10] {
        let (start, _held) = occupy_ports_ahead(occupied);
        group.bench_function(format!("occupied-{occupied}"), |b| b.iter(|| io_utils::find_free_port(start)));
    }
    group.finish();
}

fn bench_files(criterion: &mut Criterion) {
    let scratch = tempfile::tempdir().expect("scratch dir");
    bench_read_last_n_lines(criterion, scratch.path());
    bench_hash_file(criterion, scratch.path());
    bench_directories(criterion, scratch.path());
}

fn short_runs() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = functions;
    config = short_runs();
    targets = bench_base36, bench_format_float, bench_truncate, bench_files, bench_system_queries,
        bench_find_free_port
}
criterion_main!(functions);
