//! Who may see and change what. One table of rules, used by every edge.
//!
//! A record a role may not read must look exactly like a record that does not
//! exist (HTTP 404, absent from lists and counts): the existence of a
//! restricted record is itself sensitive.

use serde::{Deserialize, Serialize};

use crate::record::{EntityKind, Module};

/// A user's role in the mission; one per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// Manages users, tokens and mission settings; sees everything.
    Admin,
    /// Mission leadership: reads everything operational, may change it.
    Commander,
    /// Operations-centre analyst: verifies, grades, maps.
    Analyst,
    /// Observer or patrol leader: files reports.
    Observer,
    /// Humanitarian logistics officer.
    Logistics,
    /// Mine-action officer.
    MineAction,
    /// Protection officer: the only role (with admin) that sees people.
    Protection,
    /// Read-only access to public records.
    Viewer,
}

impl Role {
    /// Every role, for matrices in tests, docs and the admin screen.
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Commander,
        Role::Analyst,
        Role::Observer,
        Role::Logistics,
        Role::MineAction,
        Role::Protection,
        Role::Viewer,
    ];

    /// The wire name, e.g. `mine_action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Commander => "commander",
            Role::Analyst => "analyst",
            Role::Observer => "observer",
            Role::Logistics => "logistics",
            Role::MineAction => "mine_action",
            Role::Protection => "protection",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How widely a record may be read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sensitivity {
    /// Anyone with an account, including viewers.
    Public,
    /// Mission staff.
    #[default]
    Mission,
    /// Only roles with a need to know; every read is journaled.
    Restricted,
}

impl Sensitivity {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Public => "public",
            Sensitivity::Mission => "mission",
            Sensitivity::Restricted => "restricted",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Sensitivity> {
        [
            Sensitivity::Public,
            Sensitivity::Mission,
            Sensitivity::Restricted,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A change a user asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// New record.
    Create,
    /// Change to an existing record.
    Update,
    /// Withdraw a record (it stays in the journal).
    Retract,
    /// Change an incident's verification state or grading.
    Verify,
}

/// The most sensitive level `role` may read for records of `kind`.
pub fn max_readable(role: Role, kind: EntityKind) -> Option<Sensitivity> {
    use Role::*;
    if kind.is_people() {
        return matches!(role, Admin | Protection).then_some(Sensitivity::Restricted);
    }
    Some(match role {
        Admin | Commander | Analyst | Protection => Sensitivity::Restricted,
        Observer | Logistics | MineAction => Sensitivity::Mission,
        Viewer => Sensitivity::Public,
    })
}

/// Whether `role` may read a record of `kind` at `sensitivity`.
pub fn can_read(role: Role, kind: EntityKind, sensitivity: Sensitivity) -> bool {
    max_readable(role, kind).is_some_and(|max| sensitivity <= max)
}

/// Whether `role` may perform `action` on records of `kind`.
pub fn can_write(role: Role, kind: EntityKind, action: Action) -> bool {
    use EntityKind as K;
    use Module as M;
    use Role::*;
    let module = kind.module();
    match role {
        Admin => true,
        Viewer => false,
        Commander => module != M::Mission && module != M::People,
        Analyst => matches!(module, M::Operations | M::Intake | M::Agreements),
        Observer => match kind {
            K::Incident => action == Action::Create,
            K::Patrol => matches!(action, Action::Create | Action::Update),
            _ => false,
        },
        Logistics => module == M::Logistics || (kind == K::Incident && action == Action::Create),
        MineAction => module == M::MineAction || (kind == K::Incident && action == Action::Create),
        Protection => {
            matches!(module, M::People | M::Shelter)
                || (kind == K::Incident && action == Action::Create)
        }
    }
}

/// Whether `role` may manage users and tokens.
pub fn can_administer(role: Role) -> bool {
    role == Role::Admin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_reads_public_only() {
        assert!(can_read(
            Role::Viewer,
            EntityKind::Incident,
            Sensitivity::Public
        ));
        assert!(!can_read(
            Role::Viewer,
            EntityKind::Incident,
            Sensitivity::Mission
        ));
        assert!(!can_read(
            Role::Viewer,
            EntityKind::Incident,
            Sensitivity::Restricted
        ));
        assert!(!can_write(
            Role::Viewer,
            EntityKind::Incident,
            Action::Create
        ));
    }

    #[test]
    fn observer_files_but_does_not_verify() {
        assert!(can_write(
            Role::Observer,
            EntityKind::Incident,
            Action::Create
        ));
        assert!(!can_write(
            Role::Observer,
            EntityKind::Incident,
            Action::Verify
        ));
        assert!(can_write(
            Role::Analyst,
            EntityKind::Incident,
            Action::Verify
        ));
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
