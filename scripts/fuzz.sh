#!/usr/bin/env bash
# Fuzzes the parsers that face attackers (fuzz/, cargo-fuzz + libFuzzer) for a bounded time.
#
# usage: scripts/fuzz.sh [--ci] [--seconds N] [TARGET...]
#   --ci          the CI run: every target for 20 s (160 s of fuzzing in all, plus the build)
#   --seconds N   fuzz each target for N seconds (default 60)
#   TARGET...     only these targets (default: every one in fuzz/Cargo.toml)
#
# Installs what is missing (cargo-fuzz, a C++ compiler for libFuzzer, git and ssh-keygen for
# the seeds; apt-get needs root), builds every target on the default (stable) toolchain,
# writes the seeds (fuzz/seed.sh), then runs each target over fuzz/corpus/TARGET (kept
# between runs) and fuzz/seeds/TARGET. Exits 1 if any target crashed, panicked, timed out or
# ran out of memory, naming the input that did it (under fuzz/artifacts/TARGET/) and the
# command that replays it.
#
# No sanitizer (`-s none`): refguard forbids unsafe code, so what the fuzzer hunts is panics
# (debug assertions on, so integer overflow is one), broken invariants the targets assert,
# hangs and memory blow-ups. That builds on stable Rust; a nightly toolchain is not needed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=()
while (($#)); do
  case $1 in
    --ci) seconds=20 ;;
    --seconds)
      [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seconds needs a number" >&2; exit 2; }
      seconds=$2
      shift
      ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done

# ---- what the build and the seeds need -----------------------------------------------------
need=()
command -v c++ >/dev/null || need+=(g++)
command -v git >/dev/null || need+=(git)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
if ((${#need[@]})); then
  echo "== apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
cargo_fuzz_version=0.13.2
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== cargo install cargo-fuzz $cargo_fuzz_version"
  cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi

# The same flags for build and run, or `cargo fuzz run` rebuilds everything.
flags=(--sanitizer none --debug-assertions)

all=$(cargo fuzz list --fuzz-dir fuzz)
if ((${#targets[@]} == 0)); then
  mapfile -t targets <<<"$all"
fi
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$all" || { echo "fuzz.sh: no target $t; targets: $(echo $all)" >&2; exit 2; }
done

echo "== build (cargo fuzz build ${flags[*]})"
cargo fuzz build --fuzz-dir fuzz "${flags[@]}"

echo "== seeds"
fuzz/seed.sh fuzz/seeds

# ---- run ---------------------------------------------------------------------------------------
mkdir -p fuzz/logs
failed=()
summary=()
for t in "${targets[@]}"; do
  echo "== $t: ${seconds}s"
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log=fuzz/logs/$t.log
  # -timeout: one input taking 10 s is a hang (a push would stall on it); -rss_limit_mb: the
  # hook must not balloon on hostile input either.
  set +e
  cargo fuzz run --fuzz-dir fuzz "${flags[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1
  status=$?
  set -e
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
  if ((status == 0)); then
    summary+=("$(printf '%-13s %10s execs %7s/s  %s' "$t" "$(stat number_of_executed_units)" \
      "$(stat average_exec_per_sec)" "$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' <<<"$done_line")")")
    continue
  fi
  failed+=("$t")
  { grep -A1 'panicked at' "$log" | head -n 2; grep -E '^==[0-9]+== ERROR' "$log" | head -n 1; } >&2 || true
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  if [[ -n $artifact ]]; then
    echo "fuzz.sh: $t failed on the input $artifact" >&2
    echo "fuzz.sh: replay: cargo fuzz run --fuzz-dir fuzz ${flags[*]} $t $artifact" >&2
    echo "fuzz.sh: shrink: cargo fuzz tmin --fuzz-dir fuzz ${flags[*]} $t $artifact" >&2
  else
    echo "fuzz.sh: $t failed (exit $status) without an input; see $log" >&2
    tail -n 20 "$log" >&2
  fi
  summary+=("$(printf '%-13s FAILED, see %s' "$t" "$log")")
done

echo "== fuzzing summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
