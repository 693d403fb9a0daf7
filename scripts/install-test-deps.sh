#!/usr/bin/env bash
# What the test suites need beyond Python and Rust, from Debian's packages: strace (tests/bench/
# test_floor_syscalls.py counts each floor's system calls), chromium (tests/report/test_html.py opens
# report.html headless through Playwright's Python API; no browser is downloaded) and stress-ng (the cpu
# and memory neighbours of `experiment/calibrate --neighbour`, tests/test_neighbour.py) and valgrind
# (callgrind's instruction counts: `gate --instructions`, and the quick CI gate's count of its Rust suspects,
# docs/gate.md). Starts nothing.
exec bash "$(dirname "$0")/install-debian-packages.sh" install-test-deps strace chromium stress-ng valgrind
