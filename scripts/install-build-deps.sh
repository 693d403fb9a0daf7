#!/usr/bin/env bash
# Install the Debian packages building sky_rs needs beyond Python and Rust: OpenSSL's headers (libssl-dev),
# found through pkg-config, since hash_file links the system libcrypto that hashlib uses. Idempotent and fast
# when everything is there: apt runs only for missing packages. `make venv` (so `make test`, `make bench`)
# runs it first.
set -euo pipefail

PACKAGES=(libssl-dev pkg-config)

missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-build-deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-build-deps: need root to install ${missing[*]} (run as root or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt may be running (CI images, parallel jobs): wait for its lock rather than failing.
apt-get update -qq -o DPkg::Lock::Timeout=300
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
