#!/usr/bin/env bash
# What the test suites need beyond Python and Rust, from Debian's packages: strace (tests/bench/
# test_floor_syscalls.py counts each floor's system calls) and chromium (tests/report/test_html.py opens
# report.html headless through Playwright's Python API; no browser is downloaded). Starts nothing.
exec bash "$(dirname "$0")/install-debian-packages.sh" install-test-deps strace chromium
