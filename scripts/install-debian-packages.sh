#!/usr/bin/env bash
# install-debian-packages.sh LABEL PACKAGE...: install the Debian packages that are missing, and nothing else.
# Idempotent and fast when everything is there (dpkg-query only); apt-get runs only as root, waiting for
# another apt's lock rather than failing. Exit 1 (with what to install) when packages are missing and this is
# not root. The project's install-*-deps.sh scripts name their packages and call this.
set -euo pipefail

label=$1
shift
missing=()
for package in "$@"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "$label: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "$label: need root to install ${missing[*]} (run as root or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq -o DPkg::Lock::Timeout=300
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
