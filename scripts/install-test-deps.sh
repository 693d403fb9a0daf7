#!/usr/bin/env bash
# Install what the test suites need beyond Python and Rust from Debian's packages: strace, with which
# tests/bench/test_floor_syscalls.py counts the system calls of each floor and of the real calls.
# Idempotent and fast when everything is there: apt runs only for missing packages.
set -euo pipefail

PACKAGES=(strace)

missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-test-deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-test-deps: need root to install ${missing[*]} (run as root or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq -o DPkg::Lock::Timeout=300
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
