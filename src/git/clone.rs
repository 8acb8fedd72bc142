//! What the client side needs from a clone (spec §13): multi-valued config (a remote's fetch
//! refspecs), writing a config string, the work tree, whether an object is present, and a
//! commit's parents (the policy chain is walked parent by parent).

use std::path::Path;

use git2::{ErrorCode, ObjectType};

use super::{Error, Repo, Result, to_id, to_oid};
use crate::engine::ObjectId;

impl Repo {
    /// Every value of a multi-valued config variable (`remote.origin.fetch`), in the order
    /// git reads them; empty if unset.
    pub fn config_strings(&self, name: &str) -> Result<Vec<String>> {
        let config_error = |cause| Error::Config {
            name: name.to_owned(),
            cause,
        };
        let config = self.repo.config().map_err(config_error)?;
        let mut values = Vec::new();
        let mut entries = match config.multivar(name, None) {
            Ok(entries) => entries,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(values),
            Err(cause) => return Err(config_error(cause)),
        };
        while let Some(entry) = entries.next() {
            let entry = entry.map_err(config_error)?;
            values.push(String::from_utf8_lossy(entry.value_bytes()).into_owned());
        }
        Ok(values)
    }

    /// Sets a string in the repository's own config file (`git config NAME VALUE`).
    pub fn set_config_string(&self, name: &str, value: &str) -> Result<()> {
        self.set_local_config(name, |local| local.set_str(name, value))
    }

    /// The work tree of a non-bare repository.
    pub fn work_dir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// Whether the object `id` is in the object store.
    pub fn contains(&self, id: &ObjectId) -> Result<bool> {
        let oid = to_oid(id)?;
        let odb = self.repo.odb().map_err(|cause| Error::Object {
            id: id.clone(),
            cause,
        })?;
        Ok(odb.exists(oid))
    }

    /// Whether `id` names a commit in the store (`false` for another kind of object or a
    /// missing one).
    pub fn is_commit(&self, id: &ObjectId) -> Result<bool> {
        let oid = to_oid(id)?;
        let odb = self.repo.odb().map_err(|cause| Error::Object {
            id: id.clone(),
            cause,
        })?;
        match odb.read_header(oid) {
            Ok((_, kind)) => Ok(kind == ObjectType::Commit),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(false),
            Err(cause) => Err(Error::Object {
                id: id.clone(),
                cause,
            }),
        }
    }

    /// The parents of commit `id`, first parent first.
    pub fn parent_ids(&self, id: &ObjectId) -> Result<Vec<ObjectId>> {
        let commit = self
            .repo
            .find_commit(to_oid(id)?)
            .map_err(|cause| Error::Object {
                id: id.clone(),
                cause,
            })?;
        Ok(commit.parent_ids().map(to_id).collect())
    }
}
