//! The decision function and its checks.

use super::{PushContext, UpdateFacts, Verdict};
use crate::policy::Policy;

/// Judges one ref update under `policy`: every reason to reject, or none.
pub fn evaluate(policy: &Policy, ctx: &PushContext, facts: &UpdateFacts) -> Verdict {
    let _ = (policy, ctx, facts);
    unimplemented!("engine")
}
