//! How a repository names the server's refs: the server by their own names; a clone through
//! the refs its fetches write (remote-tracking refs from `remote.<name>.fetch`, and the
//! policy branch and approvals refguard's pre-push check fetches). Pure: refspec text in,
//! lookups out; the session lists the local refs.

/// One correspondence between server ref names and the local refs that hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The server's name, or the prefix of the server's names (`refs/heads/`).
    pub server: String,
    /// The local name, or the prefix the same names get locally (`refs/remotes/origin/`).
    pub local: String,
    /// Whether both are full names (a refspec without `*`) rather than prefixes.
    pub exact: bool,
}

impl Mapping {
    /// A mapping of one full name.
    pub fn exact(server: impl Into<String>, local: impl Into<String>) -> Mapping {
        Mapping {
            server: server.into(),
            local: local.into(),
            exact: true,
        }
    }

    /// A mapping of every name under a prefix (both ending in `/`, or both empty).
    pub fn prefix(server: impl Into<String>, local: impl Into<String>) -> Mapping {
        Mapping {
            server: server.into(),
            local: local.into(),
            exact: false,
        }
    }

    /// The mapping a fetch refspec (`+refs/heads/*:refs/remotes/origin/*`) sets up, if it is
    /// one refguard can follow: a glob whose `*` ends both sides, or a full name on both
    /// sides. Negative refspecs (`^...`), refspecs without a destination and globs with a `*`
    /// inside a name map nothing (their refs then hide no commits: the check is stricter,
    /// never laxer).
    pub fn from_fetch_refspec(spec: &str) -> Option<Mapping> {
        let spec = spec.trim();
        if spec.starts_with('^') {
            return None;
        }
        let spec = spec.strip_prefix('+').unwrap_or(spec);
        let (src, dst) = spec.split_once(':')?;
        if src.is_empty() || dst.is_empty() || !dst.starts_with("refs/") {
            return None;
        }
        let src_globs = src.matches('*').count();
        let dst_globs = dst.matches('*').count();
        match (src_globs, dst_globs) {
            (0, 0) if src.starts_with("refs/") => Some(Mapping::exact(src, dst)),
            (1, 1) => {
                let server = src.strip_suffix('*')?;
                let local = dst.strip_suffix('*')?;
                (server.ends_with('/') && local.ends_with('/'))
                    .then(|| Mapping::prefix(server, local))
            }
            _ => None,
        }
    }
}

/// Where to find, locally, the server's refs under one server prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// One server ref, held by one local ref.
    Exact {
        /// The server's name.
        server: String,
        /// The local ref to resolve.
        local: String,
    },
    /// The local refs under `list`, each named on the server by replacing `local` (a prefix
    /// of `list`) with `server`.
    Prefix {
        /// The local prefix to list.
        list: String,
        /// The local part to replace.
        local: String,
        /// What replaces it.
        server: String,
    },
}

impl Lookup {
    /// The server's name of `local_name`, found under this lookup (`None` if it does not
    /// belong to it).
    pub fn server_name(&self, local_name: &str) -> Option<String> {
        match self {
            Lookup::Exact { server, local } => (local_name == local).then(|| server.clone()),
            Lookup::Prefix {
                list,
                local,
                server,
            } => {
                if !local_name.starts_with(list.as_str()) {
                    return None;
                }
                let rest = local_name.strip_prefix(local.as_str())?;
                Some(format!("{server}{rest}"))
            }
        }
    }
}

/// The server's refs as a repository sees them: the first mapping that covers a name wins,
/// as git's own refspec order does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefMap {
    mappings: Vec<Mapping>,
}

impl RefMap {
    /// The server itself: every ref under its own name.
    pub fn identity() -> RefMap {
        RefMap {
            mappings: vec![Mapping::prefix("", "")],
        }
    }

    /// A clone's view, from its mappings in order of precedence.
    pub fn new(mappings: Vec<Mapping>) -> RefMap {
        RefMap { mappings }
    }

    /// Whether every ref is under its own name (the server's view).
    pub fn is_identity(&self) -> bool {
        self.mappings == [Mapping::prefix("", "")]
    }

    /// The local ref that holds the server's ref `name`, if any mapping covers it.
    pub fn local_name(&self, name: &str) -> Option<String> {
        self.mappings.iter().find_map(|m| {
            if m.exact {
                (m.server == name).then(|| m.local.clone())
            } else {
                name.strip_prefix(m.server.as_str())
                    .map(|rest| format!("{}{rest}", m.local))
            }
        })
    }

    /// Where to look for the server's refs whose names start with `prefix`, in order of
    /// precedence (a server name found by an earlier lookup wins).
    pub fn lookups(&self, prefix: &str) -> Vec<Lookup> {
        let mut out = Vec::new();
        for m in &self.mappings {
            if m.exact {
                if m.server.starts_with(prefix) {
                    out.push(Lookup::Exact {
                        server: m.server.clone(),
                        local: m.local.clone(),
                    });
                }
            } else if let Some(rest) = prefix.strip_prefix(m.server.as_str()) {
                // The mapping covers the whole prefix: list its local counterpart.
                out.push(Lookup::Prefix {
                    list: format!("{}{rest}", m.local),
                    local: m.local.clone(),
                    server: m.server.clone(),
                });
            } else if m.server.starts_with(prefix) {
                // The prefix is wider than the mapping: everything the mapping holds.
                out.push(Lookup::Prefix {
                    list: m.local.clone(),
                    local: m.local.clone(),
                    server: m.server.clone(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clone_view() -> RefMap {
        RefMap::new(vec![
            Mapping::exact("refs/meta/policy", "refs/refguard/origin/policy"),
            Mapping::prefix("refs/approvals/", "refs/refguard/origin/approvals/"),
            Mapping::from_fetch_refspec("+refs/heads/*:refs/remotes/origin/*").expect("glob"),
        ])
    }

    #[test]
    fn fetch_refspecs_become_mappings() {
        assert_eq!(
            Mapping::from_fetch_refspec("+refs/heads/*:refs/remotes/origin/*"),
            Some(Mapping::prefix("refs/heads/", "refs/remotes/origin/"))
        );
        assert_eq!(
            Mapping::from_fetch_refspec("refs/heads/main:refs/remotes/origin/main"),
            Some(Mapping::exact(
                "refs/heads/main",
                "refs/remotes/origin/main"
            ))
        );
        for unusable in [
            "^refs/heads/secret",
            "refs/heads/*",
            "+refs/heads/feat*:refs/remotes/origin/feat*",
            "refs/heads/*:refs/remotes/origin/main",
            "main:refs/remotes/origin/main",
            ":refs/x",
        ] {
            assert_eq!(Mapping::from_fetch_refspec(unusable), None, "{unusable}");
        }
    }

    #[test]
    fn identity_maps_every_name_to_itself() {
        let map = RefMap::identity();
        assert!(map.is_identity());
        assert_eq!(
            map.local_name("refs/heads/x").as_deref(),
            Some("refs/heads/x")
        );
        let lookups = map.lookups("refs/heads/release/");
        assert_eq!(lookups.len(), 1);
        assert_eq!(
            lookups[0].server_name("refs/heads/release/1.0").as_deref(),
            Some("refs/heads/release/1.0")
        );
    }

    #[test]
    fn a_clone_finds_the_servers_refs_under_its_own_names() {
        let map = clone_view();
        assert!(!map.is_identity());
        assert_eq!(
            map.local_name("refs/meta/policy").as_deref(),
            Some("refs/refguard/origin/policy")
        );
        assert_eq!(
            map.local_name("refs/heads/main").as_deref(),
            Some("refs/remotes/origin/main")
        );
        assert_eq!(map.local_name("refs/tags/v1"), None);

        let lookups = map.lookups("refs/heads/release/");
        assert_eq!(
            lookups,
            vec![Lookup::Prefix {
                list: "refs/remotes/origin/release/".into(),
                local: "refs/remotes/origin/".into(),
                server: "refs/heads/".into(),
            }]
        );
        assert_eq!(
            lookups[0]
                .server_name("refs/remotes/origin/release/1.0")
                .as_deref(),
            Some("refs/heads/release/1.0")
        );
        assert_eq!(lookups[0].server_name("refs/remotes/other/x"), None);

        // A prefix wider than a mapping lists all it holds.
        let wide = map.lookups("refs/");
        assert_eq!(wide.len(), 3);
        assert_eq!(
            wide[0]
                .server_name("refs/refguard/origin/policy")
                .as_deref(),
            Some("refs/meta/policy")
        );
        assert_eq!(wide[0].server_name("refs/refguard/origin/policy2"), None);

        let approvals = map.lookups("refs/approvals/abc/");
        assert_eq!(
            approvals[0]
                .server_name("refs/refguard/origin/approvals/abc/def")
                .as_deref(),
            Some("refs/approvals/abc/def")
        );
    }
}
