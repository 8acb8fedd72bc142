//! The client side (spec §13), run in a developer's or security team's clone: the pre-push
//! check against the remote's policy, and the offline verification of the policy chain and
//! history. The shell of these features: git, files and processes; never prints (the CLI
//! does) and never writes to the server.

pub mod fetch;
pub mod identity;
pub mod prepush;
pub mod verify;
