//! The decision: policy + facts about a ref update + pusher → verdict. Pure: no I/O, no git2,
//! no environment, no clock (push time arrives in [`PushContext`]).

mod commits;
mod evaluate;
mod facts;
mod policy_branch;
mod signer;
mod tag;
mod verdict;

#[cfg(test)]
mod tests;

pub use evaluate::evaluate;
pub use facts::{
    CommitFacts, KeyId, ObjectId, PolicyCandidate, PushContext, RefUpdate, SignatureCheck,
    TagTarget, UpdateFacts, UpdateKind,
};
pub use verdict::{Code, Reason, Verdict};
