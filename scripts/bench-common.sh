# Shared by scripts/bench.sh and scripts/bench-alone.sh (sourced, not run): timing helpers,
# the pre-receive environment, and the fixtures both build the same way. The caller sets RG
# (the refguard binary), RUNS and TMP.

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
elapsed() { calc "$(now) - $1"; }
tip() { sed -n "s/^$2=//p" "$1/tips"; }
# The environment receive-pack gives pre-receive (GIT-FACTS.md, "Hooks and quarantine").
# A fixture without pending objects (the import, whose objects are all in the store) runs
# without a quarantine.
hook_env() {
  echo GIT_DIR="$1/repo.git" REFGUARD_USER=user00000
  [[ -d $1/quarantine ]] && echo GIT_QUARANTINE_PATH="$1/quarantine" \
    GIT_OBJECT_DIRECTORY="$1/quarantine" GIT_ALTERNATE_OBJECT_DIRECTORIES="$1/repo.git/objects"
  true
}
# Median wall time in ms of RUNS pre-receive runs of `stdin` in fixture $1. With cold=1 in
# the environment, the policy cache is removed before each run (the first push after a
# policy change: parsed, validated and cached).
median_hook_ms() {
  local dir=$1 stdin=$2 t
  for _ in $(seq "$RUNS"); do
    [[ -n ${cold:-} ]] && rm -rf "$dir/repo.git/refguard/policy-cache"
    t=$(now)
    env $(hook_env "$dir") "$RG" hook pre-receive <<<"$stdin" || { echo "hook rejected: $stdin" >&2; exit 1; }
    calc "($(now) - $t) * 1000"
  done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'
}
# The one-commit push of a `genrepo --push 1` fixture.
policy_in() { echo "$(tip "$1" main) $(tip "$1" push) refs/heads/main"; }

# The many-refs repository (bench.sh section 2b) at $1/repo.git from the genrepo fixture
# $2: its objects (hard links), its packed refs without the policy branch, and a one-user
# policy whose one rule governs every branch (policy size has its own row).
many_repo() {
  local dir=$1 hist=$2 repo=$1/repo.git
  mkdir -p "$dir"
  git init -q --bare "$repo"
  ln "$hist"/repo.git/objects/pack/* "$repo/objects/pack/" 2>/dev/null \
    || cp "$hist"/repo.git/objects/pack/* "$repo/objects/pack/"
  cp -r "$hist"/quarantine/. "$repo/objects/"
  grep -v ' refs/meta/policy$' "$hist/repo.git/packed-refs" >"$repo/packed-refs"
  {
    printf 'version = 1\n[users.user00000]\n'
    sed -n '/^\[users\.user00000\]$/{n;p;q}' "$hist/roles.toml"
    printf '[roles]\ndevelopers = ["user00000"]\nmaintainers = ["user00000"]\n'
    printf '[policy]\nadmins = ["maintainers"]\n'
    printf '[[rule]]\nrefs = ["refs/heads/**"]\npush = ["developers"]\nsigners = ["developers"]\n'
  } >"$dir/roles.toml"
  "$RG" init --repo "$repo" --policy "$dir/roles.toml" >/dev/null
}

# The organisation project (bench.sh section 6c) at $TMP/org-project: a copy of the
# $TMP/policy-big fixture whose own roles.toml has no users, under an organisation policy
# ($TMP/org.git) that is the fixture's big roles.toml.
org_project() {
  cp -a "$TMP/policy-big" "$TMP/org-project"
  git init -q --bare "$TMP/org.git"
  "$RG" init --repo "$TMP/org.git" --policy "$TMP/policy-big/roles.toml" >/dev/null
  git --git-dir="$TMP/org-project/repo.git" config refguard.orgPolicy "$TMP/org.git"
  printf 'version = 1\n[policy]\nadmins = ["maintainers"]\n[[rule]]\nrefs = ["refs/heads/**"]\npush = ["developers"]\nforce_push = ["maintainers"]\nsigners = ["developers"]\n' \
    >"$TMP/org-project/repo-roles.toml"
  "$RG" policy reset --repo "$TMP/org-project/repo.git" --policy "$TMP/org-project/repo-roles.toml" \
    --yes-i-hold-the-server >/dev/null
}
