//! The stable reason codes of verdicts (spec §4), with the hint each shows the pusher. Pure
//! data, shared by the policy's list table, the engine and the renderers.

/// A stable reason code (spec §4). Each is documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// The pusher may not fast-forward this ref.
    PushDenied,
    /// The pusher may not create this ref.
    CreateDenied,
    /// The pusher may not delete this ref.
    DeleteDenied,
    /// The pusher may not make a non-fast-forward update.
    ForcePushDenied,
    /// A new commit carries no signature.
    Unsigned,
    /// A signature is malformed, in the wrong namespace, or does not verify; or a FIDO key
    /// that requires a touch signed without one.
    BadSignature,
    /// A signature verifies, but with a key no user of the policy holds.
    UnknownKey,
    /// The signer is a known user but not in the rule's `signers`.
    SignerNotAllowed,
    /// The signing key is listed under `[[revoked]]`.
    RevokedKey,
    /// The signing key's `expires` is in the past at push time.
    ExpiredKey,
    /// A new merge commit is not signed by a member of `merge`.
    MergeDenied,
    /// A new commit touches paths a `[[path]]` entry protects and is not signed by one of
    /// its `signers` (spec §9).
    PathDenied,
    /// A new merge commit under a `linear = true` rule.
    Nonlinear,
    /// A tag under a rule with `signers` is lightweight or unsigned.
    UnsignedTag,
    /// An OpenPGP or X.509 signature.
    UnsupportedSignature,
    /// The push certificate (`git push --signed`) does not verify, is signed with a key that
    /// is unknown, revoked or expired, names another repository, has a bad nonce, or does
    /// not match the pushed commands.
    PushCertInvalid,
    /// The ref needs a signed push (`signed_push` / `require_signed_push`) and the push
    /// carries no certificate.
    SignedPushRequired,
    /// The push to the policy branch is not allowed.
    PolicyDenied,
    /// Not enough distinct admins signed a policy change, or an update lacks the approvals
    /// its rule asks for (spec §7).
    ApprovalsMissing,
    /// A push under `refs/approvals/` that is not a well-formed, verifiable approval created
    /// once (approvals are evidence: never moved or deleted).
    BadApproval,
    /// The pushed roles.toml does not validate.
    PolicyInvalid,
    /// The repository has no policy branch.
    NoPolicy,
    /// Something broke; refguard fails closed.
    InternalError,
}

impl Code {
    /// Every code, in documentation order.
    pub const ALL: [Code; 23] = [
        Code::PushDenied,
        Code::CreateDenied,
        Code::DeleteDenied,
        Code::ForcePushDenied,
        Code::Unsigned,
        Code::BadSignature,
        Code::UnknownKey,
        Code::SignerNotAllowed,
        Code::RevokedKey,
        Code::ExpiredKey,
        Code::MergeDenied,
        Code::PathDenied,
        Code::Nonlinear,
        Code::UnsignedTag,
        Code::UnsupportedSignature,
        Code::PushCertInvalid,
        Code::SignedPushRequired,
        Code::PolicyDenied,
        Code::ApprovalsMissing,
        Code::BadApproval,
        Code::PolicyInvalid,
        Code::NoPolicy,
        Code::InternalError,
    ];

    /// The kebab-case code shown in brackets.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::PushDenied => "push-denied",
            Code::CreateDenied => "create-denied",
            Code::DeleteDenied => "delete-denied",
            Code::ForcePushDenied => "force-push-denied",
            Code::Unsigned => "unsigned",
            Code::BadSignature => "bad-signature",
            Code::UnknownKey => "unknown-key",
            Code::SignerNotAllowed => "signer-not-allowed",
            Code::RevokedKey => "revoked-key",
            Code::ExpiredKey => "expired-key",
            Code::MergeDenied => "merge-denied",
            Code::PathDenied => "path-denied",
            Code::Nonlinear => "nonlinear",
            Code::UnsignedTag => "unsigned-tag",
            Code::UnsupportedSignature => "unsupported-signature",
            Code::PushCertInvalid => "push-cert-invalid",
            Code::SignedPushRequired => "signed-push-required",
            Code::PolicyDenied => "policy-denied",
            Code::ApprovalsMissing => "approvals-missing",
            Code::BadApproval => "bad-approval",
            Code::PolicyInvalid => "policy-invalid",
            Code::NoPolicy => "no-policy",
            Code::InternalError => "internal-error",
        }
    }

    /// A one-line hint on how to fix it, shown to the pusher.
    pub fn hint(self) -> &'static str {
        match self {
            Code::PushDenied | Code::CreateDenied | Code::DeleteDenied => {
                "ask an admin to add you to the rule's list, or push a branch you may write"
            }
            Code::ForcePushDenied => {
                "git pull --rebase onto the server's tip, then push without --force"
            }
            Code::Unsigned => {
                "git config gpg.format ssh; git config user.signingKey ~/.ssh/id_ed25519.pub; git commit --amend -S"
            }
            Code::BadSignature => {
                "re-sign with git commit --amend -S (with a security key: touch it when it blinks); nothing may rewrite a commit after it is signed"
            }
            Code::UnknownKey => {
                "sign with your key listed in roles.toml, or ask an admin to add your public key"
            }
            Code::SignerNotAllowed => {
                "have a member of the rule's signers sign it, or ask an admin to add you"
            }
            Code::RevokedKey => {
                "this key is revoked: make a new key, have an admin add it, and re-sign with it"
            }
            Code::ExpiredKey => {
                "this key has expired: have an admin extend it or add a new key, then re-sign"
            }
            Code::MergeDenied => {
                "have a member of the rule's merge list merge and sign it, or rebase instead"
            }
            Code::PathDenied => {
                "have a member of the path's signers sign the commit (git commit --amend -S), or leave those paths out of it"
            }
            Code::Nonlinear => "this ref takes no merge commits: git rebase onto the tip instead",
            Code::UnsignedTag => {
                "git config gpg.format ssh; git tag -s NAME -m MESSAGE (an annotated, signed tag)"
            }
            Code::UnsupportedSignature => {
                "refguard verifies SSH and OpenPGP signatures: git config gpg.format ssh (or openpgp), then re-sign"
            }
            Code::PushCertInvalid => {
                "sign the push with your key listed in roles.toml (git config gpg.format ssh; git config user.signingKey KEY) and push again with git push --signed"
            }
            Code::SignedPushRequired => {
                "git config gpg.format ssh; git config user.signingKey ~/.ssh/id_ed25519.pub; git push --signed (or git config push.gpgSign true)"
            }
            Code::PolicyDenied => {
                "changes to the policy branch need an admin as pusher and admins' signatures"
            }
            Code::ApprovalsMissing => {
                "an approver runs: refguard approve COMMIT --ref REF (on the policy branch, another admin adds a signed commit: git commit --allow-empty -S -m approve), then push again"
            }
            Code::BadApproval => {
                "create approvals with refguard approve COMMIT --ref REF; an approval ref is never moved or deleted"
            }
            Code::PolicyInvalid => "run refguard policy lint roles.toml and fix what it reports",
            Code::NoPolicy => {
                "the server admin must run: refguard init --repo DIR --policy roles.toml"
            }
            Code::InternalError => {
                "refguard failed and rejected the push to stay safe: tell the server admin"
            }
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
