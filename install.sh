#!/usr/bin/env bash
# Builds the release binary and installs `refguard` into PREFIX/bin (default /usr/local).
# Usage: ./install.sh [--prefix DIR]
set -euo pipefail

prefix=/usr/local
while (($#)); do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    -h|--help) sed -n '2,3p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")"
for tool in cargo git ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "install.sh: $tool is required" >&2; exit 2; }
done
cargo build --release --locked
install -d "$prefix/bin"
install -m 0755 target/release/refguard "$prefix/bin/refguard"
echo "installed $prefix/bin/refguard ($("$prefix/bin/refguard" --version))"
