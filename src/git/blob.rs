//! Reading a blob by id: the push certificate that `GIT_PUSH_CERT` names (in pre-receive it
//! is still in the quarantine, which [`Repo::open_from_env`] sees).

use git2::Oid;

use super::{Error, Repo, Result};
use crate::engine::ObjectId;

impl Repo {
    /// The contents of the blob `id`; an error if it is missing or not a blob.
    pub fn blob(&self, id: &ObjectId) -> Result<Vec<u8>> {
        let object_error = |cause| Error::Object {
            id: id.clone(),
            cause,
        };
        let oid = Oid::from_str(id.as_str()).map_err(object_error)?;
        let blob = self.repo.find_blob(oid).map_err(object_error)?;
        Ok(blob.content().to_vec())
    }
}
