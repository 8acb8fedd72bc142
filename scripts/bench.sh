#!/usr/bin/env bash
# refguard's benchmark, side by side with git's own verification on the same repositories.
#
#   scripts/bench.sh           full configuration (issue 6 targets; a few minutes)
#   scripts/bench.sh --small   CI smoke configuration (must complete; times are not judged)
#
# Generates fixtures with `cargo run --release --example genrepo` into a temporary directory
# and prints one table: each figure, the git baseline from the same run, and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

small=false
[[ ${1:-} == --small ]] && small=true
if $small; then
  HIST=2000 USERS=50 REFS=200 IMPORT=2000 BIG=5000 ROLES=500 GITCAP=100 RUNS=5 KT_RSA=100 KT_ECDSA=500
  KT_PGP_ED25519=300 KT_PGP_RSA=300
  BIGPOLICY=500
  WIDE_DIRS=20 WIDE=500
else
  HIST=100000 USERS=1000 REFS=10000 IMPORT=100000 BIG=1000000 ROLES=10000 GITCAP=2000 RUNS=21
  # Big policies (issue 20): a one-commit push under a BIGPOLICY-user roles.toml.
  BIGPOLICY=10000
  # Imports signed with other key types; RSA fixtures sign at ~100 commits/s, hence fewer.
  KT_RSA=5000 KT_ECDSA=20000
  # Imports signed with OpenPGP keys (issue 16); the RSA-3072 keys take seconds to generate.
  KT_PGP_ED25519=5000 KT_PGP_RSA=2000
  # Path entries: a tree of WIDE_DIRS x 100 files, WIDE commits each changing one file.
  WIDE_DIRS=100 WIDE=5000
fi

# Backtraces captured in errors slow the happy path of some crates (GIT-FACTS.md).
unset RUST_BACKTRACE
cargo build --quiet --release --bin refguard --example genrepo
RG=$PWD/target/release/refguard
GEN=$PWD/target/release/examples/genrepo
TMP=$(mktemp -d "${TMPDIR:-/tmp}/refguard-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
ZERO=0000000000000000000000000000000000000000

# Isolated git: no user or system config.
export HOME=$TMP/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
mkdir -p "$HOME"
unset GIT_DIR GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH
# Diagnostics off (their cost is measured on its own row); backtraces off, as on a server.
unset REFGUARD_LOG REFGUARD_LOG_FORMAT RUST_BACKTRACE

# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh
# Peak resident memory (KiB) of a command, from /usr/bin/time -v when present.
peak_kib() {
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%M' -o "$TMP/mem" "$@" >/dev/null 2>&1 || true
    cat "$TMP/mem"
  else
    echo "n/a"
  fi
}
# Best wall time in seconds of three runs of a command (exit 1, "violations found", counts
# as a run).
best_of_3_s() {
  local best="" t s
  for _ in 1 2 3; do
    t=$(now)
    "$@" >/dev/null || [[ $? -eq 1 ]]
    s=$(elapsed "$t")
    best=$(awk -v a="$best" -v b="$s" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  echo "$best"
}
rows=()
row() { rows+=("$(printf '%-58s %14s %16s %10s' "$1" "$2" "$3" "$4")"); }

echo "== generating fixtures in $TMP"
t=$(now)
"$GEN" --out "$TMP/hist" --commits "$HIST" --users "$USERS" --refs "$REFS" --merge-every 50
gen_s=$(elapsed "$t")
"$GEN" --out "$TMP/import" --commits "$IMPORT" --users "$USERS" --merge-every 50 --detached --push 0
"$GEN" --out "$TMP/big" --commits "$BIG" --users 10 --unsigned 100 --push 0
"$GEN" --out "$TMP/roles" --commits 1 --users "$ROLES" --push 0
"$GEN" --out "$TMP/policy-big" --commits 10 --users "$BIGPOLICY" --push 1
"$GEN" --out "$TMP/policy-small" --commits 10 --users 3 --push 1
"$GEN" --out "$TMP/import-rsa" --commits "$KT_RSA" --users "$USERS" --merge-every 50 --detached \
  --push 0 --key-types rsa
"$GEN" --out "$TMP/import-ecdsa" --commits "$KT_ECDSA" --users "$USERS" --merge-every 50 --detached \
  --push 0 --key-types ecdsa-p256
"$GEN" --out "$TMP/import-openpgp-ed25519" --commits "$KT_PGP_ED25519" --users "$USERS" \
  --merge-every 50 --detached --push 0 --key-types openpgp-ed25519
"$GEN" --out "$TMP/import-openpgp-rsa" --commits "$KT_PGP_RSA" --users "$USERS" \
  --merge-every 50 --detached --push 0 --key-types openpgp-rsa
row "genrepo: $HIST signed commits, $USERS users, $REFS refs" "$(printf '%.2f s' "$gen_s")" "" ""
# The fixtures are gigabytes of fresh files: flush them now, or the audit log's fsync in the
# rows below queues behind their writeback (seen: a 13 ms push measured at 68 ms).
sync

echo "== git baselines"
hist_main=$(tip "$TMP/hist" main)
t=$(now)
git --git-dir="$TMP/hist/repo.git" rev-list --count "$hist_main" >/dev/null
revlist_s=$(elapsed "$t")
revlist_rate=$(calc "$HIST / $revlist_s")
t=$(now)
good=$(git --git-dir="$TMP/hist/repo.git" -c gpg.ssh.allowedSignersFile="$TMP/hist/allowed_signers" \
  log --show-signature -n "$GITCAP" "$hist_main" 2>&1 | grep -c '^Good "git" signature' || true)
gitlog_s=$(elapsed "$t")
gitlog_rate=$(calc "$GITCAP / $gitlog_s")
[[ $good -ge $((GITCAP * 9 / 10)) ]] || { echo "git verified only $good of $GITCAP commits" >&2; exit 1; }

echo "== refguard"
# 1. Signature checking end to end: a whole-history import of ed25519-signed commits.
import_main=$(tip "$TMP/import" main)
import_in="$ZERO $import_main refs/heads/main"
t=$(now)
env $(hook_env "$TMP/import") "$RG" hook pre-receive <<<"$import_in"
import_s=$(elapsed "$t")
import_rate=$(calc "$IMPORT / $import_s")
import_kib=$(peak_kib env $(hook_env "$TMP/import") "$RG" hook pre-receive <<<"$import_in")
row "signature check, commits/s (import of $IMPORT)" "$(printf '%.0f' "$import_rate")" \
  "$(printf 'git log %.0f' "$gitlog_rate")" "$(printf '%.0fx' "$(calc "$import_rate / $gitlog_rate")")"
row "  walk floor: git rev-list, commits/s" "" "$(printf '%.0f' "$revlist_rate")" \
  "$(printf '%.2fx' "$(calc "$import_rate / $revlist_rate")")"
row "import of $IMPORT commits: wall time" "$(printf '%.2f s' "$import_s")" \
  "$(printf 'git log ~%.0f s' "$(calc "$IMPORT / $gitlog_rate")")" ""
# The crypto floor (issue 20): the time OpenSSL needs on one core to verify $IMPORT ed25519
# signatures (`openssl speed`, one process), against the same import end to end, best of 3
# (process start, walk, policy and the fsync'ed audit append included). Target <= 0.35x.
if command -v openssl >/dev/null; then
  ossl_rate=$(openssl speed -seconds 3 ed25519 2>/dev/null | awk '/Ed25519/ { v = $NF } END { print v + 0 }')
  import_run() { env $(hook_env "$TMP/import") "$RG" hook pre-receive <<<"$import_in"; }
  import_best_s=$(best_of_3_s import_run)
  floor_s=$(calc "$IMPORT / $ossl_rate")
  row "  crypto floor: openssl ed25519 verify x $IMPORT, 1 core" "$(printf '%.3f s' "$import_best_s")" \
    "$(printf 'openssl %.3f s' "$floor_s")" "$(printf '%.2fx' "$(calc "$import_best_s / $floor_s")")"
fi
row "import of $IMPORT commits: peak memory" "$((import_kib / 1024)) MiB" "" ""
# The same import signed with rsa-3072 (rsa-sha2-512) and ecdsa-p256 keys (ring-verified).
for kt in rsa:$KT_RSA ecdsa:$KT_ECDSA; do
  name=${kt%%:*} count=${kt#*:}
  kt_in="$ZERO $(tip "$TMP/import-$name" main) refs/heads/main"
  t=$(now)
  env $(hook_env "$TMP/import-$name") "$RG" hook pre-receive <<<"$kt_in"
  kt_rate=$(calc "$count / $(elapsed "$t")")
  row "  same, $name-signed (import of $count), commits/s" "$(printf '%.0f' "$kt_rate")" "" ""
done
# The same import signed with OpenPGP keys (issue 16): v4 ed25519 (legacy EdDSA, as gpg makes
# it) and RSA-3072 certificates in the policy branch, each commit carrying a detached armored
# signature as `git commit -S` with gpg writes it; beside the ssh-ed25519 import above.
for kt in openpgp-ed25519:$KT_PGP_ED25519 openpgp-rsa:$KT_PGP_RSA; do
  name=${kt%%:*} count=${kt#*:}
  kt_in="$ZERO $(tip "$TMP/import-$name" main) refs/heads/main"
  t=$(now)
  env $(hook_env "$TMP/import-$name") "$RG" hook pre-receive <<<"$kt_in"
  kt_rate=$(calc "$count / $(elapsed "$t")")
  row "  same, $name-signed (import of $count), commits/s" "$(printf '%.0f' "$kt_rate")" \
    "$(printf 'ssh ed25519 %.0f' "$import_rate")" "$(printf '%.2fx' "$(calc "$kt_rate / $import_rate")")"
done

# 2. A typical push: 10 signed commits onto main, $REFS refs, $USERS users.
push_in="$(tip "$TMP/hist" main) $(tip "$TMP/hist" push) refs/heads/main"
push_ms=$(median_hook_ms "$TMP/hist" "$push_in")
row "typical push (10 commits), median of $RUNS, ms" "$push_ms" \
  "$(printf 'git log ~%.0f ms' "$(calc "10000 / $gitlog_rate")")" ""

# 2b. Many refs without quarantine (issue 20): `refguard check` of the same 10 commits with
#     their objects already in the store (no quarantine to prove them new), so the other
#     $REFS refs/heads/feature/* tips, governed by the same rule, must all be hidden; against
#     git's own answer to "which commits are new", `git rev-list --count NEW --not --all`,
#     both best of 3. The hist objects (hard links), its packed refs and a one-user policy
#     (policy size has its own row); then the same after `git commit-graph write`, which both
#     git and refguard read.
many=$TMP/many/repo.git
many_repo "$TMP/many" "$TMP/hist"
many_old=$(tip "$TMP/hist" main) many_new=$(tip "$TMP/hist" push)
many_check() { "$RG" check --repo "$many" --as user00000 refs/heads/main "$many_old" "$many_new" 2>&1; }
many_git() { git --git-dir="$many" rev-list --count "$many_new" --not --all; }
[[ $(many_git) == 10 ]] || { echo "many refs: git counts $(many_git) new commits" >&2; exit 1; }
out=$(many_check || true)
grep -q '^refguard: accepted' <<<"$out" || { echo "many refs: not accepted: $out" >&2; exit 1; }
for graph in no yes; do
  if [[ $graph == yes ]]; then
    git --git-dir="$many" commit-graph write --reachable 2>/dev/null
    label="  same, with a commit-graph file"
  else
    label="many refs: check 10 commits, $REFS same-rule refs, best of 3"
  fi
  rg_s=$(best_of_3_s many_check)
  git_s=$(best_of_3_s many_git)
  row "$label" "$(printf '%.1f ms' "$(calc "$rg_s * 1000")")" \
    "$(printf 'rev-list %.1f ms' "$(calc "$git_s * 1000")")" "$(printf '%.2fx' "$(calc "$rg_s / $git_s")")"
done

# 3. A branch created at the tip of a protected branch in a $BIG-commit history.
create_in="$ZERO $(tip "$TMP/big" main) refs/heads/topic"
create_ms=$(median_hook_ms "$TMP/big" "$create_in")
t=$(now)
git --git-dir="$TMP/big/repo.git" rev-list --count "$(tip "$TMP/big" main)" >/dev/null
big_revlist_ms=$(calc "$(elapsed "$t") * 1000")
row "branch at a tip, $BIG-commit history, median ms" "$create_ms" \
  "$(printf 'rev-list %.0f' "$big_revlist_ms")" ""

# 4. The audit append (one fsync'ed line per push): the same push with the log on tmpfs,
#    where fsync costs nothing.
if [[ -d /dev/shm && -w /dev/shm ]]; then
  shm=$(mktemp -d /dev/shm/refguard-bench.XXXXXX)
  git --git-dir="$TMP/hist/repo.git" config refguard.auditLog "$shm/audit.jsonl"
  shm_ms=$(median_hook_ms "$TMP/hist" "$push_in")
  git --git-dir="$TMP/hist/repo.git" config --unset refguard.auditLog
  rm -rf "$shm"
  row "  same push, audit log on tmpfs (no fsync cost), ms" "$shm_ms" "" ""
fi
# 5. Diagnostics (spec §15): the same push at REFGUARD_LOG=debug, its spans and timings
#    written to refguard.logFile (the pusher still sees one line).
git --git-dir="$TMP/hist/repo.git" config refguard.logFile "$TMP/diag.log"
export REFGUARD_LOG=debug
debug_ms=$(median_hook_ms "$TMP/hist" "$push_in" 2>/dev/null)
unset REFGUARD_LOG
git --git-dir="$TMP/hist/repo.git" config --unset refguard.logFile
row "  same push, REFGUARD_LOG=debug to refguard.logFile, ms" "$debug_ms" "" ""
# 6. roles.toml with $ROLES users.
roles_ms=$(for _ in $(seq "$RUNS"); do
  t=$(now)
  "$RG" policy lint "$TMP/roles/roles.toml" >/dev/null 2>&1
  calc "($(now) - $t) * 1000"
done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}')
row "policy lint, $ROLES users, median ms (process incl.)" "$roles_ms" "" ""
# 6b. Big policies (issue 20): a one-commit push under a $BIGPOLICY-user roles.toml beside the
#     same push under a 3-user one, warm (the policy read back from the parse-once cache)
#     and cold (the first push after a policy change: parsed, validated, cached). Target
#     <= 3x warm.
big_warm=$(median_hook_ms "$TMP/policy-big" "$(policy_in "$TMP/policy-big")")
small_warm=$(median_hook_ms "$TMP/policy-small" "$(policy_in "$TMP/policy-small")")
big_cold=$(cold=1 median_hook_ms "$TMP/policy-big" "$(policy_in "$TMP/policy-big")")
small_cold=$(cold=1 median_hook_ms "$TMP/policy-small" "$(policy_in "$TMP/policy-small")")
row "one-commit push, $BIGPOLICY-user policy (cached), median ms" "$big_warm" \
  "3 users: $small_warm" "$(printf '%.2fx' "$(calc "$big_warm / $small_warm")")"
row "  same, cold (first push after a policy change), ms" "$big_cold" \
  "3 users: $small_cold" "$(printf '%.2fx' "$(calc "$big_cold / $small_cold")")"
# 6c. Organisation policy (issue 15): the same one-commit push into a repository whose own
#     roles.toml has no users (it names the organisation's roles) under a $BIGPOLICY-user
#     organisation policy, warm and cold, beside the push under the 3-user policy alone.
org_project
org_warm=$(median_hook_ms "$TMP/org-project" "$(policy_in "$TMP/org-project")")
org_cold=$(cold=1 median_hook_ms "$TMP/org-project" "$(policy_in "$TMP/org-project")")
row "one-commit push under a $BIGPOLICY-user org policy (cached), ms" "$org_warm" \
  "3 users: $small_warm" "$(printf '%.2fx' "$(calc "$org_warm / $small_warm")")"
row "  same, cold (first push after an org change), ms" "$org_cold" \
  "3 users: $small_cold" "$(printf '%.2fx' "$(calc "$org_cold / $small_cold")")"

# 6. History audit of every protected ref: the $HIST-commit history with $REFS feature branches
#    and main (all under one rule) against the same objects with main alone (hard links).
mkdir -p "$TMP/hist1"
git init -q --bare "$TMP/hist1/repo.git"
ln "$TMP"/hist/repo.git/objects/pack/* "$TMP/hist1/repo.git/objects/pack/" 2>/dev/null \
  || cp "$TMP"/hist/repo.git/objects/pack/* "$TMP/hist1/repo.git/objects/pack/"
grep -E '^#| refs/(heads/main|meta/policy)$' "$TMP/hist/repo.git/packed-refs" \
  >"$TMP/hist1/repo.git/packed-refs"
many_s=$(best_of_3_s "$RG" audit history --repo "$TMP/hist/repo.git" --format json)
one_s=$(best_of_3_s "$RG" audit history --repo "$TMP/hist1/repo.git" --format json)
row "audit history, $HIST commits, $((REFS + 1)) refs vs 1, best of 3" "$(printf '%.2f s' "$many_s")" \
  "$(printf '1 ref: %.2f s' "$one_s")" "$(printf '%.2fx' "$(calc "$many_s / $one_s")")"
history_kib=$(peak_kib "$RG" audit history --repo "$TMP/hist/repo.git" --format json)
row "  same, $((REFS + 1)) refs: peak memory" "$((history_kib / 1024)) MiB" "" ""

# 7. [[path]] entries (spec §9) on a wide tree: a root commit with WIDE_DIRS x 100 files, then
#    WIDE commits each changing one file (none under secrets/, none named *.key). The rule
#    wants signatures the commits lack, so every check walks and judges all of them the same
#    way (and rejects them as unsigned); the entries add finding what each commit touches.
#    `refguard check` of all of them with no entry, with `secrets/**` (pruned to one
#    directory), and with `**/*.key` (no literal prefix: every changed path compared),
#    against the check without entries and against git's own answer to "what does each
#    commit touch": rev-list piped into diff-tree.
wide=$TMP/wide/repo.git
mkdir -p "$TMP/wide"
git init -q --bare "$wide"
awk -v dirs="$WIDE_DIRS" -v n="$WIDE" 'BEGIN {
  print "commit refs/heads/wide"; print "committer bench <bench@localhost> 1700000000 +0000"
  print "data <<E"; print "root"; print "E"
  for (d = 0; d < dirs; d++) for (f = 0; f < 100; f++) {
    printf "M 100644 inline src/d%03d/f%03d.txt\ndata <<E\n%d %d\nE\n", d, f, d, f
  }
  for (i = 1; i <= n; i++) {
    print "commit refs/heads/wide"; printf "committer bench <bench@localhost> %d +0000\n", 1700000000 + i
    print "data <<E"; printf "change %d\n", i; print "E"
    printf "M 100644 inline src/d%03d/f%03d.txt\ndata <<E\nchange %d\nE\n", (i * 7) % dirs, i % 100, i
  }
}' | git --git-dir="$wide" fast-import --quiet
wide_new=$(git --git-dir="$wide" rev-parse refs/heads/wide)
wide_root=$(git --git-dir="$wide" rev-list --max-parents=0 refs/heads/wide)
git --git-dir="$wide" update-ref refs/heads/main "$wide_root"
git --git-dir="$wide" update-ref -d refs/heads/wide
ssh-keygen -q -t ed25519 -N '' -f "$TMP/wide/alice"
wide_policy() {
  printf 'version = 1\n[users.alice]\nkeys = ["%s"]\n[roles]\nadmins = ["alice"]\n' \
    "$(cat "$TMP/wide/alice.pub")"
  printf '[policy]\nadmins = ["admins"]\napprovals = 1\n'
  printf '[[rule]]\nrefs = ["refs/heads/**"]\npush = ["*"]\nsigners = ["admins"]\n'
  [[ -n $1 ]] && printf '[[path]]\npaths = ["%s"]\nsigners = ["admins"]\n' "$1"
  true
}
wide_check() {
  local variant=$1 repo=$TMP/wide/$1.git
  if [[ ! -d $repo ]]; then
    git init -q --bare "$repo"
    echo "$wide/objects" >"$repo/objects/info/alternates"
    git --git-dir="$repo" update-ref refs/heads/main "$wide_root"
    wide_policy "$2" >"$TMP/wide/$variant.toml"
    "$RG" init --repo "$repo" --policy "$TMP/wide/$variant.toml" >/dev/null
    local out
    out=$("$RG" check --repo "$repo" --as alice refs/heads/main "$wide_root" "$wide_new" || true)
    if ! grep -q '\[unsigned\]' <<<"$out" || grep -q '\[path-denied\]' <<<"$out"; then
      echo "wide $variant: expected only unsigned commits: $out" >&2
      exit 1
    fi
  fi
  best_of_3_s "$RG" check --repo "$repo" --as alice refs/heads/main "$wide_root" "$wide_new"
}
none_s=$(wide_check none "")
secrets_s=$(wide_check secrets "secrets/**")
keys_s=$(wide_check keys "**/*.key")
git_touched() {
  git --git-dir="$wide" rev-list "$wide_root..$wide_new" \
    | git --git-dir="$wide" diff-tree --stdin -r --name-only >/dev/null
}
git_s=$(best_of_3_s git_touched)
row "check $WIDE commits, $((WIDE_DIRS * 100))-file tree: no [[path]]" "$(printf '%.3f s' "$none_s")" \
  "$(printf 'diff-tree %.3f s' "$git_s")" ""
row "  same, [[path]] secrets/** (pruned), vs no [[path]]" "$(printf '%.3f s' "$secrets_s")" \
  "$(printf 'diff-tree x%.2f' "$(calc "$secrets_s / $git_s")")" "$(printf '%.2fx' "$(calc "$secrets_s / $none_s")")"
row "  same, [[path]] **/*.key (every path), vs no [[path]]" "$(printf '%.3f s' "$keys_s")" \
  "$(printf 'diff-tree x%.2f' "$(calc "$keys_s / $git_s")")" "$(printf '%.2fx' "$(calc "$keys_s / $none_s")")"

echo
printf '%-58s %14s %16s %10s\n' "figure" "refguard" "git (same run)" "ratio"
printf '%s\n' "${rows[@]}"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
