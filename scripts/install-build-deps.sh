#!/usr/bin/env bash
# The Debian packages building sky_rs needs beyond Python and Rust: OpenSSL's headers (libssl-dev), found
# through pkg-config, since hash_file links the system libcrypto that hashlib uses. `make venv` (so `make
# test`, `make bench`) runs it first.
exec bash "$(dirname "$0")/install-debian-packages.sh" install-build-deps libssl-dev pkg-config
