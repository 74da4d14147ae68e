//! API tokens: created with a random secret shown once, stored by the SHA-256 of the secret,
//! listed, revoked, and checked on every request.

use sha2::{Digest, Sha256};
use tradeassist_model::{ApiToken, Role};

use crate::{Service, ServiceError, now};

/// Prefix of every secret (`ta_` + 64 hex digits of 32 random bytes), so a leaked one is easy to
/// recognise in a scan.
pub const TOKEN_PREFIX: &str = "ta_";

/// Longest accepted token name.
const MAX_NAME: usize = 100;

/// Hex SHA-256 of a secret, as stored.
pub fn token_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Service {
    /// Create a token with `role`; returns it and its secret (not stored: shown once).
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
    ) -> Result<(ApiToken, String), ServiceError> {
        let name = name.trim();
        if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "name",
                format!("a token name has at most {MAX_NAME} printable characters"),
            ));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ServiceError::Internal(format!("no randomness for a token: {e}")))?;
        let secret: String = std::iter::once(TOKEN_PREFIX.to_string())
            .chain(bytes.iter().map(|b| format!("{b:02x}")))
            .collect();
        let token = self
            .store
            .create_token(name, role, &token_hash(&secret), now())
            .await?;
        Ok((token, secret))
    }

    /// Every token, revoked ones included.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, ServiceError> {
        Ok(self.store.list_tokens().await?)
    }

    /// Revoke token `id` (a running server refuses it once its short lookup cache expires).
    pub async fn revoke_token(&self, id: i64) -> Result<ApiToken, ServiceError> {
        Ok(self.store.revoke_token(id, now()).await?)
    }

    /// The active token whose secret is `secret`, if any. Malformed secrets are not looked up.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiToken>, ServiceError> {
        let well_formed = secret.len() == TOKEN_PREFIX.len() + 64
            && secret.starts_with(TOKEN_PREFIX)
            && secret[TOKEN_PREFIX.len()..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Ok(None);
        }
        let token = self.store.token_by_hash(&token_hash(secret)).await?;
        Ok(token.filter(ApiToken::active))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Limits;

    async fn service() -> (Service, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = tradeassist_store::sqlite::SqliteStore::open(dir.path().join("t.db"))
            .await
            .unwrap();
        (Service::new(Arc::new(store), Limits::default()), dir)
    }

    #[tokio::test]
    async fn a_token_authenticates_until_revoked() {
        let (s, _dir) = service().await;
        let (token, secret) = s.create_token("ci", Role::Write).await.unwrap();
        assert!(secret.starts_with(TOKEN_PREFIX) && secret.len() == 67);
        assert_eq!(s.authenticate(&secret).await.unwrap(), Some(token.clone()));
        // Only the hash is stored.
        let listed = s.tokens().await.unwrap();
        assert_eq!(listed, vec![token.clone()]);
        // Near misses: another secret, a changed digit, a wrong prefix, junk.
        let (_, other) = s.create_token("other", Role::Read).await.unwrap();
        assert_ne!(other, secret);
        let mut changed = secret.clone();
        changed.replace_range(10..11, if &secret[10..11] == "0" { "1" } else { "0" });
        for bad in [
            changed.as_str(),
            &secret.replace("ta_", "tb_"),
            "",
            "ta_",
            &secret[..66],
        ] {
            assert_eq!(s.authenticate(bad).await.unwrap(), None, "{bad}");
        }
        s.revoke_token(token.id).await.unwrap();
        assert_eq!(s.authenticate(&secret).await.unwrap(), None);
        assert!(s.authenticate(&other).await.unwrap().is_some());
        assert!(matches!(
            s.revoke_token(999).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(s.create_token(&"x".repeat(101), Role::Read).await.is_err());
        assert!(s.create_token("tab\tname", Role::Read).await.is_err());
    }
}
