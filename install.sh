#!/usr/bin/env bash
# Builds the release binary and installs `refguard` into PREFIX/bin (default /usr/local),
# its man pages into PREFIX/share/man/man1 and its bash, zsh and fish completions.
# Usage: ./install.sh [--prefix DIR]
set -euo pipefail

prefix=/usr/local
while (($#)); do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
# A relative prefix means relative to where install.sh was run, not to the project.
[[ $prefix == /* ]] || prefix=$PWD/$prefix

cd "$(dirname "$0")"
for tool in cargo git ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "install.sh: $tool is required" >&2; exit 2; }
done
cargo build --release --locked
# Where cargo put the binary: CARGO_TARGET_DIR, build.target-dir in a cargo config, or
# ./target; cargo itself says which.
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin=${target_dir:-target}/release/refguard
[[ -x $bin ]] || { echo "install.sh: the build left no binary at $bin" >&2; exit 2; }

install -d "$prefix/bin"
install -m 0755 "$bin" "$prefix/bin/refguard"
# Man pages and completions come from the installed binary's own command definitions.
man_dir=$prefix/share/man/man1
"$prefix/bin/refguard" generate man "$man_dir" >/dev/null
chmod 0644 "$man_dir"/refguard*.1
install -d "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" \
  "$prefix/share/fish/vendor_completions.d"
"$prefix/bin/refguard" generate completions bash >"$prefix/share/bash-completion/completions/refguard"
"$prefix/bin/refguard" generate completions zsh >"$prefix/share/zsh/site-functions/_refguard"
"$prefix/bin/refguard" generate completions fish >"$prefix/share/fish/vendor_completions.d/refguard.fish"
echo "installed $prefix/bin/refguard ($("$prefix/bin/refguard" --version))"
echo "  man pages in $man_dir; completions for bash, zsh and fish under $prefix/share"
