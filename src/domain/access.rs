//! Who may do what: roles, the need of every api verb, and the provider's
//! tier limits. Pure: the worker checks a request's principal against
//! [`Principal::may`] before it does anything.

use serde::{Deserialize, Serialize};

use super::Id;

/// A user's role. Ordered: each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A read-only credential for a wall screen: fleet health, map, incidents.
    Wallboard,
    /// Reads everything of its tenant.
    Viewer,
    /// Also triages and pushes configuration.
    Operator,
    /// Also manages its tenant's users and settings.
    Admin,
    /// Provider-wide: every tenant, tenants themselves, provider users.
    SuperAdmin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Wallboard,
        Role::Viewer,
        Role::Operator,
        Role::Admin,
        Role::SuperAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Wallboard => "wallboard",
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::SuperAdmin => "super_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The user behind a request, as the worker found it in its store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// The user's tenant; `None` for a provider-wide user.
    pub tenant: Option<Id>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{verb} needs the {need} role; {user} is {role}")]
    Role {
        verb: String,
        need: Role,
        user: String,
        role: Role,
    },
    #[error("{user} belongs to tenant {own} and may not act on tenant {asked}")]
    OtherTenant { user: String, own: Id, asked: Id },
    #[error(
        "{user} belongs to tenant {own}: call vigie.api.{own}.{verb}, not the provider-wide scope"
    )]
    ProviderScope { user: String, own: Id, verb: String },
}

impl Principal {
    /// Whether this principal may call `verb`, which needs the role
    /// `need` (the api's verb table says which), on `scope` (`None` for
    /// every tenant).
    pub fn may(&self, scope: Option<&Id>, verb: &str, need: Role) -> Result<(), Refusal> {
        // `whoami` tells a user about themselves, and `renew` gives them
        // credentials of their own scope, whatever the scope asked at.
        if verb == "whoami" || verb == "renew" {
            return Ok(());
        }
        if let Some(own) = &self.tenant {
            match scope {
                Some(asked) if asked != own => {
                    return Err(Refusal::OtherTenant {
                        user: self.user.clone(),
                        own: own.clone(),
                        asked: asked.clone(),
                    });
                }
                None => {
                    return Err(Refusal::ProviderScope {
                        user: self.user.clone(),
                        own: own.clone(),
                        verb: verb.to_string(),
                    });
                }
                Some(_) => {}
            }
        }
        match need {
            need if self.role < need => Err(Refusal::Role {
                verb: verb.to_string(),
                need,
                user: self.user.clone(),
                role: self.role,
            }),
            _ => Ok(()),
        }
    }
}

/// How many tenants the provider's tier allows (`None`: no limit).
pub fn tenant_limit(tier: super::model::Tier) -> Option<usize> {
    use super::model::Tier;
    match tier {
        Tier::Starter => Some(10),
        Tier::Professional => Some(50),
        Tier::Enterprise => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_role_may_what_it_needs_and_every_role_below_it_may_not() {
        let p = |role| Principal {
            user: "u".into(),
            role,
            tenant: Some(id("acme")),
        };
        let acme = id("acme");
        for need in Role::ALL {
            for role in Role::ALL {
                assert_eq!(
                    p(role).may(Some(&acme), "verb", need).is_ok(),
                    role >= need,
                    "{role} {need}"
                );
            }
        }
    }

    #[test]
    fn a_tenant_user_never_reaches_another_tenant_or_the_provider_scope() {
        let admin = Principal {
            user: "ana".into(),
            role: Role::Admin,
            tenant: Some(id("acme")),
        };
        let e = admin.may(Some(&id("globex")), "snapshot", Role::Wallboard);
        assert!(matches!(e, Err(Refusal::OtherTenant { .. })), "{e:?}");
        assert!(admin.may(None, "snapshot", Role::Wallboard).is_err());
        let noc = Principal {
            user: "noc".into(),
            role: Role::Wallboard,
            tenant: None,
        };
        assert!(noc.may(None, "snapshot", Role::Wallboard).is_ok());
        assert!(
            noc.may(Some(&id("globex")), "counts", Role::Wallboard)
                .is_ok()
        );
        let e = noc
            .may(None, "fleet", Role::Viewer)
            .map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err("fleet needs the viewer role; noc is wallboard".into())
        );
    }
}
