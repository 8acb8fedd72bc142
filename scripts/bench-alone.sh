#!/usr/bin/env bash
# The load-sensitive rows of scripts/bench.sh, each run alone, in rounds: the typical push,
# the many-refs check (without and with a commit-graph, beside `git rev-list`), and the
# one-commit push under a big policy and a big organisation policy (beside a 3-user policy).
#
#   scripts/bench-alone.sh            three rounds of each (a few minutes)
#   ROUNDS=1 scripts/bench-alone.sh   one round
#
# Why it exists: in full runs of scripts/bench.sh on a shared VM, the rows measured right after
# the imports have come out 2-6x slower than the same measurements run alone (see the README,
# Performance). Same fixtures, commands and statistics as bench.sh, one row at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3} RUNS=21
unset RUST_BACKTRACE REFGUARD_LOG REFGUARD_LOG_FORMAT
cargo build --quiet --release --bin refguard --example genrepo
RG=$PWD/target/release/refguard
GEN=$PWD/target/release/examples/genrepo
TMP=$(mktemp -d "${TMPDIR:-/tmp}/refguard-bench-alone.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export HOME=$TMP/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
mkdir -p "$HOME"
unset GIT_DIR GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH

# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh
now_ns() { date +%s%N; }
# Best wall time (ms) of 11 runs of a command (exit 1 counts as a run).
best_ms() {
  local best="" t d
  for _ in $(seq 11); do
    t=$(now_ns)
    "$@" >/dev/null 2>&1 || [[ $? -eq 1 ]]
    d=$(( $(now_ns) - t ))
    [[ -z $best || $d -lt $best ]] && best=$d
  done
  awk -v b="$best" 'BEGIN {printf "%.1f", b / 1e6}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }

echo "== fixtures in $TMP"
"$GEN" --out "$TMP/hist" --commits 100000 --users 1000 --refs 10000 --merge-every 50 >/dev/null
"$GEN" --out "$TMP/policy-big" --commits 10 --users 10000 --push 1 >/dev/null
"$GEN" --out "$TMP/policy-small" --commits 10 --users 3 --push 1 >/dev/null
# The many-refs repository and the organisation project, as bench.sh sections 2b and 6c.
many=$TMP/many/repo.git
many_repo "$TMP/many" "$TMP/hist"
org_project >/dev/null 2>&1
sync

push_in="$(tip "$TMP/hist" main) $(tip "$TMP/hist" push) refs/heads/main"
many_old=$(tip "$TMP/hist" main) many_new=$(tip "$TMP/hist" push)
many_check() { "$RG" check --repo "$many" --as user00000 refs/heads/main "$many_old" "$many_new"; }
many_git() { git --git-dir="$many" rev-list --count "$many_new" --not --all; }
[[ $(many_git) == 10 ]] || { echo "many refs: git counts $(many_git) new commits" >&2; exit 1; }

for round in $(seq "$ROUNDS"); do
  echo "== round $round (load $(cut -d' ' -f1 /proc/loadavg))"
  echo "typical push (10 commits, 10,002 refs, 1,000 users), median of $RUNS: $(median_hook_ms "$TMP/hist" "$push_in" 2>/dev/null) ms"
  big=$(median_hook_ms "$TMP/policy-big" "$(policy_in "$TMP/policy-big")" 2>/dev/null)
  small=$(median_hook_ms "$TMP/policy-small" "$(policy_in "$TMP/policy-small")" 2>/dev/null)
  org=$(median_hook_ms "$TMP/org-project" "$(policy_in "$TMP/org-project")" 2>/dev/null)
  echo "one-commit push, 10,000-user policy (cached): $big ms vs 3 users $small ms: $(ratio "$big" "$small")"
  echo "one-commit push, 10,000-user org policy (cached): $org ms vs 3 users $small ms: $(ratio "$org" "$small")"
  rm -f "$many/objects/info/commit-graph"
  rm -rf "$many/objects/info/commit-graphs"
  rg=$(best_ms many_check) git=$(best_ms many_git)
  echo "many refs, no commit-graph, best of 11: $rg ms vs rev-list $git ms: $(ratio "$rg" "$git")"
  git --git-dir="$many" commit-graph write --reachable 2>/dev/null
  rg=$(best_ms many_check) git=$(best_ms many_git)
  echo "many refs, commit-graph, best of 11: $rg ms vs rev-list $git ms: $(ratio "$rg" "$git")"
done
