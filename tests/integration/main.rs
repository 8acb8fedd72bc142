//! refguard's integration tests: one test binary driving the real `git`, `ssh-keygen` and
//! the built `refguard` against bare server repositories.

mod audit;
mod inspect;
