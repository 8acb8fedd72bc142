//! `[roles]` and every list of principals: role members, cycles, expansion into user ids.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;
use std::sync::Arc;

use super::{Checker, did_you_mean};
use crate::policy::node::{Node, fields};
use crate::policy::{Location, Principals, User};

/// Where a user or role id is defined.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Def {
    User(usize),
    Role(usize),
    /// A user of the organisation policy the file is read under (spec §10).
    OrgUser,
    /// A role of the organisation policy.
    OrgRole,
}

/// A role as written, before expansion.
pub(super) struct RoleDraft<'a> {
    pub(super) name: &'a str,
    pub(super) members: Vec<(&'a str, Location)>,
}

/// Users and roles, resolved: what a list of principals is checked against.
pub(super) struct Names<'a> {
    pub(super) defs: HashMap<&'a str, Def>,
    pub(super) all_users: BTreeSet<String>,
    /// Per role (index as in `Def::Role`): what it expands to.
    pub(super) expanded: Vec<Expanded>,
}

/// One role, expanded.
#[derive(Debug, Clone, Default)]
pub(super) struct Expanded {
    /// Its user ids, transitively (every user when `*` is included).
    pub(super) users: BTreeSet<String>,
    /// Whether `*` is included, directly or through another role.
    pub(super) star: bool,
    /// Its own name and the names of the roles it includes, transitively.
    pub(super) roles: BTreeSet<String>,
}

impl Checker<'_> {
    /// What `name` is: defined in this file (`defs`), else by the organisation policy.
    pub(super) fn def(&self, defs: &HashMap<&str, Def>, name: &str) -> Option<Def> {
        defs.get(name).copied().or_else(|| {
            let org = self.org?;
            if org.users.contains_key(name) {
                Some(Def::OrgUser)
            } else if org.role_members.contains_key(name) {
                Some(Def::OrgRole)
            } else {
                None
            }
        })
    }

    /// An organisation role, expanded: its users, whether it includes `*`, and the roles it
    /// includes (itself too), following the organisation's `[roles]` as written.
    fn org_role(&self, name: &str) -> Expanded {
        let Some(org) = self.org else {
            return Expanded::default();
        };
        let mut roles = BTreeSet::new();
        let mut star = false;
        let mut stack = vec![name];
        while let Some(role) = stack.pop() {
            if !roles.insert(role.to_string()) {
                continue;
            }
            for member in org.roles.get(role).into_iter().flatten() {
                if member == "*" {
                    star = true;
                } else if org.roles.contains_key(member.as_str()) {
                    stack.push(member);
                }
            }
        }
        Expanded {
            users: org
                .role_members
                .get(name)
                .map(|users| (**users).clone())
                .unwrap_or_default(),
            star,
            roles,
        }
    }

    /// Reports `id`, about to be defined in this file as a `kind`, when the organisation
    /// policy already defines it (spec §10: a repository may use an organisation name, never
    /// redefine it). Whether it clashed.
    pub(super) fn org_clash(&mut self, id: &str, at: Location, kind: &str) -> bool {
        let what = match self.def(&HashMap::new(), id) {
            Some(Def::OrgUser) => "a user",
            Some(Def::OrgRole) => "a role",
            _ => return false,
        };
        self.error(
            at,
            "org-name",
            format!(
                "{kind} `{id}` is already {what} of the organisation policy                  (org:roles.toml); a repository may use it but not redefine it: rename this                  {kind} or use the organisation's"
            ),
        );
        true
    }

    /// `[roles]`: role → members as written. Ids join the shared namespace.
    pub(super) fn roles<'a>(
        &mut self,
        field: (Location, Node<'a>),
        defs: &mut HashMap<&'a str, Def>,
        user_locations: &[Location],
    ) -> Vec<RoleDraft<'a>> {
        let Some((table, at)) = self.table(field, &"`roles`") else {
            return Vec::new();
        };
        let mut roles = Vec::new();
        for entry in fields(table) {
            let name = entry.name;
            let name_at = self.at(entry.key_span, at);
            self.check_id(name, name_at, "role");
            if self.org_clash(name, name_at, "role") {
                continue;
            }
            match defs.entry(name) {
                Entry::Occupied(o) => {
                    // TOML rejects a role defined twice, so the clash is with a user.
                    let line = match *o.get() {
                        Def::User(u) => user_locations[u].line,
                        _ => name_at.line,
                    };
                    self.error(
                        name_at,
                        "duplicate-id",
                        format!(
                            "role `{name}` has the same id as user `{name}` (line {line}); \
                             users and roles share one namespace"
                        ),
                    );
                    continue;
                }
                Entry::Vacant(v) => {
                    v.insert(Def::Role(roles.len()));
                }
            }
            let what = format_args!("role `{name}`");
            let members = self
                .strings((name_at, entry.node), &what, "user or role names")
                .unwrap_or_default();
            roles.push(RoleDraft { name, members });
        }
        roles
    }

    /// Checks role members, reports cycles and expands every role into user ids (iterative
    /// depth-first search, so a long chain of roles cannot overflow the stack).
    pub(super) fn expand_roles<'a>(
        &mut self,
        roles: &[RoleDraft<'a>],
        defs: HashMap<&'a str, Def>,
        users: &[User],
    ) -> Names<'a> {
        // Every user a `*` stands for: this file's, and the organisation's it is read under.
        let org_users = self
            .org
            .into_iter()
            .flat_map(|org| org.users.keys().cloned());
        let all_users: BTreeSet<String> = users
            .iter()
            .map(|u| u.id.clone())
            .chain(org_users)
            .collect();
        let mut org_expanded: Vec<Expanded> = Vec::new();

        // Direct members: users, `*`, and edges to other roles (with where they are written).
        let mut direct: Vec<(BTreeSet<String>, bool)> = Vec::with_capacity(roles.len());
        // Per role: the organisation roles it names (indices into `org_expanded`).
        let mut org_included: Vec<Vec<usize>> = Vec::with_capacity(roles.len());
        let mut edges: Vec<Vec<(usize, Location)>> = Vec::with_capacity(roles.len());
        for role in roles {
            let mut set = BTreeSet::new();
            let mut star = false;
            let mut out = Vec::new();
            let mut org_roles = Vec::new();
            for &(member, at) in &role.members {
                match self.def(&defs, member) {
                    _ if member == "*" => star = true,
                    Some(Def::User(u)) => {
                        set.insert(users[u].id.clone());
                    }
                    Some(Def::Role(r)) => out.push((r, at)),
                    Some(Def::OrgUser) => {
                        set.insert(member.to_string());
                    }
                    Some(Def::OrgRole) => {
                        let expanded = self.org_role(member);
                        set.extend(expanded.users.iter().cloned());
                        star |= expanded.star;
                        org_roles.push(org_expanded.len());
                        org_expanded.push(expanded);
                    }
                    None => self.unknown_principal(member, at, &defs),
                }
            }
            direct.push((set, star));
            edges.push(out);
            org_included.push(org_roles);
        }

        const WHITE: u8 = 0;
        const GREY: u8 = 1;
        const BLACK: u8 = 2;
        let mut state = vec![WHITE; roles.len()];
        let mut expanded: Vec<Expanded> = vec![Expanded::default(); roles.len()];
        for root in 0..roles.len() {
            if state[root] != WHITE {
                continue;
            }
            state[root] = GREY;
            let mut stack = vec![(root, 0usize)];
            while let Some(top) = stack.last_mut() {
                let (r, next) = *top;
                if let Some(&(child, at)) = edges[r].get(next) {
                    top.1 += 1;
                    match state[child] {
                        WHITE => {
                            state[child] = GREY;
                            stack.push((child, 0));
                        }
                        GREY => {
                            let from = stack.iter().position(|&(s, _)| s == child).unwrap_or(0);
                            let mut path: Vec<&str> =
                                stack[from..].iter().map(|&(s, _)| roles[s].name).collect();
                            path.push(roles[child].name);
                            self.error(
                                at,
                                "role-cycle",
                                format!("role cycle: {}", path.join(" -> ")),
                            );
                        }
                        _ => {}
                    }
                } else {
                    stack.pop();
                    let (mut set, mut star) = std::mem::take(&mut direct[r]);
                    let mut included = BTreeSet::from([roles[r].name.to_string()]);
                    for &o in &org_included[r] {
                        included.extend(org_expanded[o].roles.iter().cloned());
                    }
                    for &(child, _) in &edges[r] {
                        // A grey child is part of a cycle (already reported): skip it.
                        if state[child] == BLACK {
                            set.extend(expanded[child].users.iter().cloned());
                            star |= expanded[child].star;
                            included.extend(expanded[child].roles.iter().cloned());
                        }
                    }
                    if star {
                        set = all_users.clone();
                    }
                    expanded[r] = Expanded {
                        users: set,
                        star,
                        roles: included,
                    };
                    state[r] = BLACK;
                }
            }
        }
        Names {
            defs,
            all_users,
            expanded,
        }
    }

    pub(super) fn unknown_principal(
        &mut self,
        name: &str,
        at: Location,
        defs: &HashMap<&str, Def>,
    ) {
        let suggestion = did_you_mean(name, defs.keys().copied())
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        self.error(
            at,
            "unknown-principal",
            format!("unknown user or role `{name}`{suggestion}"),
        );
    }

    /// A list of principals (users, roles, `*`), expanded to user ids.
    pub(super) fn principals(
        &mut self,
        field: (Location, Node<'_>),
        what: &dyn Display,
        names: &Names<'_>,
    ) -> Option<Principals> {
        let list = self.strings(field, what, "user or role names")?;
        let mut p = Principals::default();
        let mut users = BTreeSet::new();
        for (name, at) in list {
            p.written.push(name.to_string());
            match self.def(&names.defs, name) {
                _ if name == "*" => p.any_user = true,
                Some(Def::User(_) | Def::OrgUser) => {
                    users.insert(name.to_string());
                }
                Some(Def::Role(r)) => {
                    let role = &names.expanded[r];
                    users.extend(role.users.iter().cloned());
                    p.any_user |= role.star;
                    p.roles.extend(role.roles.iter().cloned());
                }
                Some(Def::OrgRole) => {
                    let role = self.org_role(name);
                    users.extend(role.users);
                    p.any_user |= role.star;
                    p.roles.extend(role.roles);
                }
                None => self.unknown_principal(name, at, &names.defs),
            }
        }
        if p.any_user {
            users = names.all_users.clone();
        }
        p.users = Arc::new(users);
        Some(p)
    }
}
