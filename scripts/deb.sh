#!/usr/bin/env bash
# Builds refguard's Debian package into CARGO_TARGET_DIR/debian (default target/debian):
# the release binary, its man pages and bash/zsh/fish completions (generated from the
# binary's own command definitions), and README.md and hooks/ under /usr/share/doc/refguard.
#
#   scripts/deb.sh [cargo deb options]      needs cargo-deb: cargo install cargo-deb --locked
#
# Prints the path of the package on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || {
  echo "scripts/deb.sh: cargo-deb is required: cargo install cargo-deb --locked" >&2
  exit 2
}

cargo build --release --locked
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
release=${target_dir:-target}/release
gen=$release/generated
rm -rf "$gen"
mkdir -p "$gen/man" "$gen/completions"
"$release/refguard" generate man "$gen/man" >/dev/null
gzip -9n "$gen"/man/*.1   # Debian policy §12.1: man pages compressed with gzip -9n
"$release/refguard" generate completions bash >"$gen/completions/refguard"
"$release/refguard" generate completions zsh >"$gen/completions/_refguard"
"$release/refguard" generate completions fish >"$gen/completions/refguard.fish"
cargo deb --no-build --locked "$@"
