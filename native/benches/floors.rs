//! The physical floor of every function and workload: the least work its semantics require, done in Rust
//! with no Python and no waste (docs/floors.md says how each was derived).
//!
//! Inputs come from the harness (harness/floors.py): `$SKYBENCH_FLOOR_INPUTS/<function>[<workload>].tsv`,
//! one call per line, its arguments tab-separated (paths of the generated workload data, strings, numbers).
//! A workload without a file is not benched, so the harness chooses which floors a run measures. Bench ids
//! are `<function>/<workload id>`, as in the functions bench; a batch of calls declares
//! `Throughput::Elements(calls)`, which the harness divides out.
//!
//! Run: `cargo bench --no-default-features --bench floors`. With `SKYBENCH_FLOOR_ONCE=<function>/<workload>`
//! the binary runs that floor once between two marker `write(-1, ...)` calls and exits, so a system-call
//! trace can count what one call makes (tests/bench/test_floor_syscalls.py).

#[path = "floor_parts/files.rs"]
mod files;
#[path = "floor_parts/libcrypto.rs"]
mod libcrypto;
#[path = "floor_parts/strings.rs"]
mod strings;
#[path = "floor_parts/syscalls.rs"]
mod syscalls;
#[path = "floor_parts/system.rs"]
mod system;

use criterion::{Criterion, SamplingMode, Throughput};
use std::path::{Path, PathBuf};

/// Marks the start and end of the call a trace counts: a write to fd -1 fails at once and shows in strace.
const START_MARKER: &[u8] = b"skybench-floor-start";
const END_MARKER: &[u8] = b"skybench-floor-end";
/// Floors slower than this per iteration are sampled flat with few samples, so `make bench` stays short.
const SLOW_ITERATION_CALLS: usize = 1;

/// One workload's floor: `run` makes one pass over its calls.
pub struct Floor {
    pub id: String,
    pub calls: usize,
    pub slow: bool,
    pub run: Box<dyn FnMut()>,
}

/// The calls of one workload: one line each, arguments split on tabs.
pub type Calls = Vec<Vec<String>>;

fn read_inputs(directory: &Path) -> Vec<(String, String, Calls)> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        eprintln!("floors: no inputs in {} (run through the harness)", directory.display());
        return Vec::new();
    };
    let mut inputs = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((function, workload)) = name.strip_suffix("].tsv").and_then(|stem| stem.split_once('['))
        else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).expect("read a floor input");
        let calls = text.lines().map(|line| line.split('\t').map(str::to_string).collect()).collect();
        inputs.push((function.to_string(), workload.to_string(), calls));
    }
    inputs.sort();
    inputs
}

fn floor_for(function: &str, workload: &str, calls: Calls) -> Option<Floor> {
    let id = format!("{function}/{workload}");
    let count = calls.len();
    let (run, slow): (Box<dyn FnMut()>, bool) = match function {
        "read_last_n_lines" => (system::read_last_n_lines(calls), false),
        "hash_file" => (system::hash_file(calls), true),
        "estimate_fd_for_directory" => (system::estimate_fd(calls), true),
        "get_max_workers_for_file_mounts" => (system::max_workers(calls), true),
        "find_free_port" => (system::find_free_port(calls), false),
        "get_cpu_count" => (system::cpu_count(), false),
        "get_mem_size_gb" => (system::mem_size_gb(), false),
        "get_parallel_threads" => (system::parallel_threads(calls), false),
        "is_process_alive" => (system::process_alive(calls), false),
        "base36_encode" => (strings::base36(calls), false),
        "format_float" => (strings::format_float(calls), false),
        "truncate_long_string" => (strings::truncate(calls), false),
        _ => return None,
    };
    Some(Floor { id, calls: count, slow: slow && count <= SLOW_ITERATION_CALLS, run })
}

fn floors(directory: &Path) -> Vec<Floor> {
    read_inputs(directory)
        .into_iter()
        .filter_map(|(function, workload, calls)| floor_for(&function, &workload, calls))
        .collect()
}

fn marker(text: &[u8]) {
    // SAFETY: writing to an invalid descriptor only fails with EBADF.
    unsafe { libc::write(-1, text.as_ptr().cast(), text.len()) };
}

/// One warm-up pass (libraries loaded, caches filled), then the traced pass between the markers.
fn run_once(mut floor: Floor) {
    (floor.run)();
    marker(START_MARKER);
    (floor.run)();
    marker(END_MARKER);
}

fn bench(criterion: &mut Criterion, floors: Vec<Floor>) {
    for mut floor in floors {
        let (function, workload) = floor.id.split_once('/').expect("function/workload");
        let mut group = criterion.benchmark_group(function);
        group.throughput(Throughput::Elements(floor.calls as u64));
        if floor.slow {
            // Large files and directories: a few flat samples of one call each are enough for a median.
            group.sampling_mode(SamplingMode::Flat).sample_size(10);
        }
        group.bench_function(workload, |b| b.iter(&mut floor.run));
        group.finish();
    }
}

fn main() {
    let directory = std::env::var_os("SKYBENCH_FLOOR_INPUTS")
        .map_or_else(|| PathBuf::from("../.skybench/workloads/floor-inputs"), PathBuf::from);
    let mut floors = floors(&directory);
    if let Ok(id) = std::env::var("SKYBENCH_FLOOR_ONCE") {
        let index = floors.iter().position(|floor| floor.id == id);
        let Some(index) = index else {
            eprintln!("floors: no floor {id} in {}", directory.display());
            std::process::exit(2);
        };
        run_once(floors.swap_remove(index));
        return;
    }
    // Ids are the functions bench's: keep the floors' estimates out of its folder (the harness sets it too).
    let mut criterion = Criterion::default();
    if std::env::var_os("CRITERION_HOME").is_none() {
        criterion = criterion.output_directory(Path::new("target/criterion-floors"));
    }
    let mut criterion = criterion.configure_from_args();
    bench(&mut criterion, floors);
    criterion.final_summary();
}
