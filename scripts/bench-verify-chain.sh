#!/usr/bin/env bash
# `refguard verify --trust-root` on a gpg-signed policy chain: N policy commits signed with
# the real gpg by the admin, bob's certificate file replaced every EVERY-th commit (so the
# chain holds N/EVERY+1 distinct keyrings), verified from a mirror clone, best of 3.
#
#   scripts/bench-verify-chain.sh               1,000 commits, a new certificate every 20th
#   N=200 EVERY=1000 scripts/bench-verify-chain.sh
#
# Needs gpg. Takes about half a minute to build the chain (one gpg signature per commit).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000} EVERY=${EVERY:-20}
cargo build --quiet --release --bin refguard
RG=$PWD/target/release/refguard
TMP=$(mktemp -d "${TMPDIR:-/tmp}/refguard-chain.XXXXXX")
trap 'gpgconf --homedir "$TMP/gnupg" --kill all 2>/dev/null || true; rm -rf "$TMP"' EXIT
mkdir -m 700 "$TMP/gnupg"
export GNUPGHOME=$TMP/gnupg HOME=$TMP GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
gen() {
  gpg --batch -q --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "$1" ed25519 sign,cert never 2>/dev/null
  gpg --list-keys --with-colons "$1" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}'
}
alice=$(gen "Alice <alice@example.com>")
bobs=()
for i in $(seq 0 $((N / EVERY))); do bobs+=("$(gen "Bob$i <bob$i@example.com>")"); done
work=$TMP/work
git init -q -b policy "$work"
cd "$work"
git config user.name Alice
git config user.email alice@example.com
git config gpg.format openpgp
git config user.signingKey "$alice"
mkdir keys
gpg --export --armor "$alice" >keys/alice.asc
gpg --export --armor "${bobs[0]}" >keys/bob.asc
roles() {
  printf 'version = 1\n[users.alice]\nkeys = [{ openpgp = "keys/alice.asc" }]\n'
  printf '[users.bob]\nkeys = [{ openpgp = "keys/bob.asc" }]\n[policy]\nadmins = ["alice"]\n'
  printf '[[rule]]\nrefs = ["refs/heads/**"]\nsigners = ["*"]\n# change %s\n' "$1"
}
roles 0 >roles.toml
git add -A
git commit -q -S -m root
root=$(git rev-parse HEAD)
b=0
for i in $(seq 1 "$N"); do
  if ((i % EVERY == 0)); then
    b=$((b + 1))
    gpg --export --armor "${bobs[$b]}" >keys/bob.asc
  else
    roles "$i" >roles.toml
  fi
  git add -A
  git commit -q -S -m "change $i"
done
git clone -q --mirror "$work" "$TMP/mirror.git"
git --git-dir="$TMP/mirror.git" update-ref refs/meta/policy refs/heads/policy
best=""
for _ in 1 2 3; do
  t=$(date +%s%N)
  "$RG" verify --repo "$TMP/mirror.git" --trust-root "$root" >"$TMP/out" 2>&1 || true
  d=$(($(date +%s%N) - t))
  [[ -z $best || $d -lt $best ]] && best=$d
done
grep -q "chain: unbroken, $N steps verified" "$TMP/out" || { cat "$TMP/out" >&2; exit 1; }
awk -v n="$N" -v k="$((b + 1))" -v t="$best" \
  'BEGIN {printf "verify --trust-root: %d-commit gpg-signed chain, %d certificates for bob: %.2f s (best of 3)\n", n, k, t / 1e9}'
