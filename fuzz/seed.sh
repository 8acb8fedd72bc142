#!/usr/bin/env bash
# Writes the seed corpus of every fuzz target to fuzz/seeds/<target>/ (or DIR/<target>/):
# the project's roles fixtures, and real objects made here with git and ssh-keygen (signed
# commits and tags of every key type, SSHSIGs, a push certificate from `git push --signed`),
# plus the hand-made edge cases the unit tests use. Nothing generated is committed: fresh
# keys every run, a few dozen small files per target.
#
# usage: fuzz/seed.sh [DIR]       needs git and ssh-keygen (and gpg for the openpgp seeds)
set -euo pipefail

fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
out=${1:-$fuzz/seeds}
mkdir -p "$out"
out=$(cd "$out" && pwd)   # the push hook below runs in another directory
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# git isolated from the caller's configuration and environment (STYLE.md, Tests).
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(GIT_[A-Za-z0-9_]*\)=.*/\1/p')
export HOME=$work/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="A U Thor" GIT_AUTHOR_EMAIL=author@example.com
export GIT_COMMITTER_NAME="C O Mitter" GIT_COMMITTER_EMAIL=committer@example.com
export GIT_AUTHOR_DATE="1735689600 +0000" GIT_COMMITTER_DATE="1735689600 +0000"
mkdir -p "$HOME"

# Every target gets a directory, seeded below or not (libFuzzer then starts from nothing).
mapfile -t targets < <(cd "$fuzz/fuzz_targets" && ls -- *.rs | sed 's/\.rs$//')
for t in "${targets[@]}"; do
  rm -rf "${out:?}/$t"
  mkdir -p "$out/$t"
done

# ---- keys: one of each type ssh-keygen makes without a security key ----------------------
keys=(ed25519 ecdsa256 ecdsa384 ecdsa521 rsa)
mkdir "$work/keys"
for k in "${keys[@]}"; do
  case $k in
    ed25519) args=(-t ed25519) ;;
    ecdsa*) args=(-t ecdsa -b "${k#ecdsa}") ;;
    rsa) args=(-t rsa -b 3072) ;;
  esac
  ssh-keygen -q "${args[@]}" -N '' -C "$k@fuzz" -f "$work/keys/$k"
done

# ---- sshsig, sshsig_blob: signatures over payload.txt --------------------------------------
# sshsig takes `armor NUL payload`; sshsig_blob takes the binary SSHSIG and verifies it over
# payload.txt, so these seeds verify.
sign() { # KEY NAMESPACE OUTNAME [ssh-keygen options...]
  local key=$1 ns=$2 name=$3
  shift 3
  ssh-keygen -q -Y sign -f "$work/keys/$key" -n "$ns" "$@" < "$fuzz/payload.txt" > "$work/$name.sig"
  { cat "$work/$name.sig"; printf '\0'; cat "$fuzz/payload.txt"; } > "$out/sshsig/$name"
  sed '1d;$d' "$work/$name.sig" | base64 -d > "$out/sshsig_blob/$name"
}
for k in "${keys[@]}"; do
  sign "$k" git "$k"
  sign "$k" git "$k-sha256" -O hashalg=sha256
done
sign ed25519 file ed25519-namespace-file
printf '%s\0%s' "-----BEGIN PGP SIGNATURE-----" "payload" > "$out/sshsig/pgp"
printf '%s\0%s' "-----BEGIN SIGNED MESSAGE-----" "payload" > "$out/sshsig/x509"
printf -- '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n' > "$out/sshsig/magic-only"
printf 'SSHSIG' > "$out/sshsig_blob/magic-only"

# ---- commit_split, tag_split: real objects --------------------------------------------------
repo=$work/repo
git init -q -b main "$repo"
g() { git -C "$repo" "$@"; }
g config gpg.format ssh
g config commit.gpgSign false
g commit -q --allow-empty -m "unsigned root"
for k in "${keys[@]}"; do
  g config user.signingKey "$work/keys/$k.pub"
  g commit -q --allow-empty -S -m "signed with $k"
  g cat-file commit HEAD > "$out/commit_split/$k"
  g tag -s -m "release signed with $k" "v-$k"
  g cat-file tag "v-$k" > "$out/tag_split/$k"
done
g cat-file commit HEAD~5 > "$out/commit_split/unsigned"
g tag -a -m "annotated, unsigned" v-unsigned
g cat-file tag v-unsigned > "$out/tag_split/unsigned"
g config user.signingKey "$work/keys/ed25519.pub"
g tag -s -m "$(printf 'looks signed\n\n-----BEGIN SSH SIGNATURE-----\nnot really\n')" v-fake
g cat-file tag v-fake > "$out/tag_split/fake-armor-in-message"
# A signed merge of a signed tag: the whole tag sits in a `mergetag` header.
g checkout -q -b side HEAD~2
g commit -q --allow-empty -m "side"
g tag -s -m "side release" v-side
g checkout -q main
# (git checks the tag's signature and, with no allowed signers file, says so: not an error.)
g merge -q --no-ff -S -m "merge the signed side tag" v-side 2>/dev/null
g cat-file commit HEAD > "$out/commit_split/signed-merge-mergetag"
commit=$(g rev-parse HEAD)
tip=$(g rev-parse HEAD~1)

# A SHA-256 repository signs with `gpgsig-sha256`.
repo256=$work/repo256
git init -q -b main --object-format=sha256 "$repo256"
git -C "$repo256" config gpg.format ssh
git -C "$repo256" config user.signingKey "$work/keys/ed25519.pub"
git -C "$repo256" commit -q --allow-empty -S -m "signed in a sha256 repository"
git -C "$repo256" cat-file commit HEAD > "$out/commit_split/sha256-repository"
commit256=$(git -C "$repo256" rev-parse HEAD)

# Hand-made edge cases, as in src/verify/tests.rs.
tree=4b825dc642cb6eb9a060e54bf8d69288fbee4904
printf 'tree %s\ngpgsig -----BEGIN SSH SIGNATURE-----\n abc\n \n def\n -----END SSH SIGNATURE-----\nencoding UTF-8\n\nmsg\n' $tree > "$out/commit_split/continuations"
printf 'tree %s\ngpgsig one\ngpgsig-sha256 two\n more\ngpgsig three\n\nmsg\ngpgsig in the message\n' $tree > "$out/commit_split/both-headers-repeated"
printf 'tree %s\ngpgsig no newline at the end' $tree > "$out/commit_split/unterminated"
printf 'object %s\ntype commit\ntag t\n\n-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n' "$commit" > "$out/tag_split/pgp"
printf 'object x\n-----BEGIN SSH SIGNATURE-----\n\nmessage\n' > "$out/tag_split/armor-in-headers"

# ---- push_cert: what `git push --signed` stores, captured by a pre-receive hook -----------
server=$work/project.git   # the name the push_cert target checks pushee against
git init -q --bare "$server"
git -C "$server" config receive.certNonceSeed fuzz-seed
git -C "$server" config receive.advertisePushOptions true
cat > "$server/hooks/pre-receive" <<EOF
#!/bin/sh
git cat-file blob "\$GIT_PUSH_CERT" > "$out/push_cert/git-push-signed"
EOF
chmod +x "$server/hooks/pre-receive"
g config user.signingKey "$work/keys/ed25519.pub"
g push -q --signed -o ci.skip "file://$server" main v-ed25519 2> "$work/push.log" ||
  { cat "$work/push.log" >&2; exit 1; }
cert=$out/push_cert/git-push-signed
# The same certificate with other key types, signed as git does (namespace `git`).
head=$(sed '/^-----BEGIN/,$d' "$cert")
for k in rsa ecdsa256; do
  printf '%s\n' "$head" > "$work/cert-$k"
  ssh-keygen -q -Y sign -f "$work/keys/$k" -n git < "$work/cert-$k" >> "$work/cert-$k"
  cp "$work/cert-$k" "$out/push_cert/$k"
done
printf 'certificate version 0.1\npusher T <t@example.com> 1735689600 +0000\n\n%s %s refs/heads/x\n-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n' \
  "$tip" "$commit" > "$out/push_cert/no-pushee-garbage-signature"

# ---- hook_input: pre-receive lines and NUL-separated update hook arguments -----------------
zero=0000000000000000000000000000000000000000
h=$out/hook_input
printf '%s %s refs/heads/main\n' "$tip" "$commit" > "$h/update"
printf '%s %s refs/heads/main\n%s %s refs/tags/v1\n%s %s refs/heads/old\n' \
  "$tip" "$commit" $zero "$commit" "$tip" $zero > "$h/three-lines"
printf '%s %s refs/heads/main' "$(printf '%064d' 0)" "$commit256" > "$h/sha256-create-no-newline"
printf 'refs/heads/main\0%s\0%s' "$tip" "$commit" > "$h/update-args"
printf '%s %s refs/heads/a..b\n' "$tip" "$commit" > "$h/bad-refname"
printf '%s  %s refs/heads/a\n' "$tip" "$commit" > "$h/two-spaces"
printf '%s %s refs/heads/a\r\n\n' "$tip" "$commit" > "$h/crlf-blank-line"
printf '%s %s refs/heads/x.lock\n' $zero $zero > "$h/both-zero-lock"

# ---- roles_toml: the fixtures, and the scenario files with real keys -----------------------
cp "$root"/fixtures/roles/*.toml "$out/roles_toml/"
for f in "$root"/fixtures/scenarios/*.toml; do
  sed "s|{{key:[a-z]*}}|$(cat "$work/keys/ed25519.pub")|g" "$f" > "$out/roles_toml/scenario-$(basename "$f")"
done
{
  echo 'version = 1'
  echo '[users.all]'
  echo 'keys = ['
  for k in "${keys[@]}"; do echo "  \"$(cat "$work/keys/$k.pub")\","; done
  echo "  { key = \"$(cat "$work/keys/ed25519.pub")x\", expires = 2027-01-01T12:00:00Z },"
  echo ']'
  echo '[policy]'
  echo 'admins = ["all"]'
  echo '[settings]'
  echo 'signed_push = true'
  echo '[[rule]]'
  echo 'refs = ["refs/heads/**", "refs/tags/v*"]'
  echo 'push = ["*"]'
  echo 'signers = ["all"]'
  echo 'linear = true'
} > "$out/roles_toml/every-key-type.toml"

# ---- audit_line: records as refguard writes them, and broken ones ---------------------------
a=$out/audit_line
genesis=$(printf '%064d' 0)
printf '{"v":1,"time":"2026-11-30T12:00:00Z","repo":"/srv/git/project.git","hook":"pre-receive","pusher":"alice","user":"alice","ref":"refs/heads/main","old":"%s","new":"%s","decision":"accept","reasons":[],"policy":"%s","prev":"%s"}' \
  "$tip" "$commit" "$tip" "$genesis" > "$a/accept"
printf '{"v":1,"time":"2026-11-30T12:00:01Z","repo":"/srv/git/project.git","hook":"update","pusher":null,"user":null,"ref":"refs/heads/main","old":"%s","new":"%s","decision":"reject","reasons":[{"code":"unsigned","commit":"%s","detail":"not signed"},{"code":"push-denied","commit":null,"detail":"x"}],"policy":null,"prev":"%s"}' \
  "$tip" "$commit" "$commit" "$genesis" > "$a/reject"
printf '{"v":1,"time":"2026-11-30T12:00:02.5+01:00","repo":"r","hook":"reset","pusher":"\\u202e","user":null,"ref":"refs/heads/\\u00e9","old":"%s","new":"%s","decision":"reject","reasons":[{"code":"a-code-from-the-future","commit":null,"detail":"\\n"}],"policy":null,"prev":"%s"}' \
  "$zero" "$commit256" "$genesis" > "$a/offset-fraction-escapes"
printf '{"v":2,"time":"2026-11-30T12:00:00Z"}' > "$a/version-2"
printf '{"v":1,"hook":"a\\nb\\u001b[2J"}' > "$a/control-characters"
printf '{"v":1,' > "$a/truncated"

# ---- openpgp: gpg certificates and their signatures over payload.txt -----------------------
# Input: 2-byte big-endian certificate length, the certificate, the armored signature, NUL,
# the payload. Skipped without gpg (the target then starts from nothing).
if command -v gpg >/dev/null; then
  export GNUPGHOME=$work/gnupg
  mkdir -m 700 "$GNUPGHOME"
  pgp() { gpg --batch --no-tty --pinentry-mode loopback --passphrase '' "$@"; }
  be16() { printf "\\x$(printf %02x $(($1 >> 8)))\\x$(printf %02x $(($1 & 255)))"; }
  for algo in ed25519 rsa3072; do
    pgp -q --quick-gen-key "$algo <$algo@fuzz>" "$algo" sign,cert never 2>/dev/null
    pgp --armor --detach-sign -u "$algo@fuzz" < "$fuzz/payload.txt" > "$work/$algo.sig"
    for form in armor binary; do
      if [[ $form == armor ]]; then pgp --armor --export "$algo@fuzz"; else pgp --export "$algo@fuzz"; fi > "$work/cert"
      { be16 "$(stat -c %s "$work/cert")"; cat "$work/cert" "$work/$algo.sig"; printf '\0'; cat "$fuzz/payload.txt"; } \
        > "$out/openpgp/$algo-$form"
    done
  done
  gpgconf --kill all
fi

for t in "${targets[@]}"; do
  printf '%-14s %3d seeds\n' "$t" "$(find "$out/$t" -type f | wc -l)"
done
