//! The user directory: who a login identity is (role, environments, email). From config
//! (`[[users]]`, then `[[user_rules]]` by email domain), else auto-registered on first login as
//! an agent of the environment they signed in to.

use std::collections::HashMap;

use crate::domain::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub role: Role,
    pub environments: Vec<String>,
    /// Where codes and notifications go.
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRule {
    pub domain: String,
    pub role: Role,
    pub environments: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Normalized identity → entry.
    pub users: HashMap<String, UserEntry>,
    pub rules: Vec<DomainRule>,
}

/// The login identity as an email address, if it is one.
fn as_email(identity: &str) -> Option<String> {
    let (local, domain) = identity.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !identity.contains(char::is_whitespace))
        .then(|| identity.to_string())
}

impl Directory {
    /// The entry for `identity` (already normalized) signing in to `login_env`.
    pub fn lookup(&self, identity: &str, login_env: &str) -> UserEntry {
        if let Some(entry) = self.users.get(identity) {
            return UserEntry {
                email: entry.email.clone().or_else(|| as_email(identity)),
                ..entry.clone()
            };
        }
        let domain = identity.rsplit_once('@').map(|(_, d)| d);
        if let Some(rule) = self
            .rules
            .iter()
            .find(|r| Some(r.domain.as_str()) == domain)
        {
            return UserEntry {
                role: rule.role,
                environments: rule.environments.clone(),
                email: as_email(identity),
            };
        }
        UserEntry {
            role: Role::Agent,
            environments: vec![login_env.to_string()],
            email: as_email(identity),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_users_then_domain_rules_then_agent_of_the_login_environment() {
        let mut d = Directory::default();
        d.users.insert(
            "ada@example.com".into(),
            UserEntry {
                role: Role::Admin,
                environments: vec!["prod".into(), "staging".into()],
                email: None,
            },
        );
        d.rules.push(DomainRule {
            domain: "corp.test".into(),
            role: Role::Supervisor,
            environments: vec!["prod".into()],
        });
        let ada = d.lookup("ada@example.com", "staging");
        assert_eq!(
            (ada.role, ada.environments.len(), ada.email.as_deref()),
            (Role::Admin, 2, Some("ada@example.com"))
        );
        let sup = d.lookup("sam@corp.test", "staging");
        assert_eq!(
            (sup.role, sup.environments.clone()),
            (Role::Supervisor, vec!["prod".to_string()])
        );
        let new = d.lookup("newbie@elsewhere.test", "staging");
        assert_eq!(
            (new.role, new.environments),
            (Role::Agent, vec!["staging".to_string()])
        );
        assert_eq!(d.lookup("plainlogin", "prod").email, None);
    }
}
