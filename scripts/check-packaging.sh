#!/usr/bin/env bash
# CI check of what an admin installs: `install.sh --prefix P` (binary, man pages that
# `man -l` renders without warnings, a bash completion that completes), then the Debian
# package built by scripts/deb.sh (its contents, and `refguard --version` run from a scratch
# root it was installed into). Needs man-db (for `man`) and cargo-deb; installs neither.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/refguard-packaging.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-packaging: $*" >&2; exit 1; }

echo "== install.sh --prefix"
./install.sh --prefix "$tmp/prefix"
p=$tmp/prefix
"$p/bin/refguard" --version
for page in refguard refguard-audit refguard-audit-verify refguard-hook refguard-policy-lint; do
  [[ -f $p/share/man/man1/$page.1 ]] || fail "no man page $page.1"
done
for page in "$p"/share/man/man1/*.1; do
  warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || fail "man -l $page failed"
  [[ -z $warnings ]] || fail "man -l $page: $warnings"
done
MANWIDTH=80 man -l "$p/share/man/man1/refguard-audit.1" | grep -q 'refguard-audit-verify(1)' ||
  fail "refguard-audit(1) does not list refguard-audit-verify(1)"
completed=$(bash -c 'source "$1"; COMP_WORDS=(refguard au); COMP_CWORD=1
  COMP_LINE="refguard au"; COMP_POINT=${#COMP_LINE}; _refguard refguard au refguard
  echo "${COMPREPLY[*]}"' _ "$p/share/bash-completion/completions/refguard")
[[ $completed == audit ]] || fail "bash completes 'refguard au' to '$completed', not 'audit'"
[[ -s $p/share/zsh/site-functions/_refguard ]] || fail "no zsh completion"
[[ -s $p/share/fish/vendor_completions.d/refguard.fish ]] || fail "no fish completion"
echo "install.sh: binary, $(ls "$p"/share/man/man1 | wc -l) man pages, completions: ok"

echo "== Debian package"
deb=$(scripts/deb.sh | tail -n 1)
[[ -f $deb ]] || fail "scripts/deb.sh did not name a package: $deb"
dpkg-deb --info "$deb"
dpkg-deb -c "$deb" | tee "$tmp/contents"
for f in usr/bin/refguard usr/share/man/man1/refguard.1.gz usr/share/man/man1/refguard-audit-verify.1.gz \
    usr/share/bash-completion/completions/refguard usr/share/zsh/vendor-completions/_refguard \
    usr/share/fish/vendor_completions.d/refguard.fish usr/share/doc/refguard/README.md \
    usr/share/doc/refguard/hooks/pre-receive usr/share/doc/refguard/hooks/update \
    usr/share/doc/refguard/copyright; do
  grep -qE " \./$f\$" "$tmp/contents" || fail "the package has no /$f"
done
# Install into a scratch root with dpkg itself (its own database there; the root has no
# libc6 package, so dependencies are not checked), then run the installed binary.
root=$tmp/root
mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --force-not-root --force-script-chrootless --force-depends \
  --log=/dev/null -i "$deb"
dpkg --root="$root" -L refguard | grep -qx /usr/bin/refguard || fail "dpkg does not list /usr/bin/refguard"
"$root/usr/bin/refguard" --version
MANWIDTH=80 man -l "$root/usr/share/man/man1/refguard.1.gz" | grep -q REFGUARD_LOG ||
  fail "the packaged refguard(1) does not render"
echo "Debian package $(basename "$deb"): ok"
