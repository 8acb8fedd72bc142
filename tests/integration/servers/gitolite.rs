//! gitolite
