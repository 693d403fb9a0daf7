#!/usr/bin/env bash
# Headless Chromium from Debian's packages, for the test that opens report.html as a person would
# (tests/report/test_html.py drives it through Playwright's Python API; no browser is downloaded).
# Idempotent: does nothing when chromium is on PATH. Needs root for apt-get. Starts nothing.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "install-browser-deps: $(chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser-deps: chromium is missing and installing it needs root (apt-get install chromium)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends chromium >/dev/null
fi
echo "install-browser-deps: installed $(chromium --version 2>/dev/null)"
