//! refguard behind real git servers, end to end: OpenSSH with `git-shell`, gitolite, smart
//! HTTP (`git http-backend` behind nginx + fcgiwrap), and signed pushes (`git push --signed`).
//!
//! Each test starts its own server on a free port of 127.0.0.1 in a temporary directory and
//! stops it when the test ends, failed or not (a guard kills the server's process group on
//! drop). Servers run as the current user (root in CI); "the git account" is that user.
//! A test whose server is not installed is skipped with a loud message outside CI and fails
//! when `CI=true` (`.ci/run` installs openssh-server, gitolite3, nginx and fcgiwrap).

mod gitolite;
mod harness;
mod http;
mod signed;
mod ssh;
