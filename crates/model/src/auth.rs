//! API tokens and their roles.

use std::fmt;
use std::str::FromStr;

/// What a token may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Fetch, export, gaps, instruments, futures, analytics, running saved queries, fetch and
    /// export jobs (its own), the WebSocket.
    Read,
    /// Read, plus creating, updating and deleting saved queries.
    Write,
    /// Everything: imports, backfills, maintenance, token management.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Read, Role::Write, Role::Admin];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`: read, write or admin"))
    }
}

/// A stored API token (never its secret: the store keeps only a hash of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl ApiToken {
    pub fn active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_print_and_order() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!(Role::Read < Role::Write && Role::Write < Role::Admin);
        assert!(
            "root"
                .parse::<Role>()
                .unwrap_err()
                .contains("read, write or admin")
        );
    }
}
