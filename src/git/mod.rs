//! All repository access through git2: opening from the hook environment (quarantine),
//! reading refs, blobs and raw objects, classifying updates, walking new commits.
//! Knows nothing of the policy.
