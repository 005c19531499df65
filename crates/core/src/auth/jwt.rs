//! Access and refresh tokens: HS256 JWTs with pinned algorithm, issuer, audience and type.
use std::{num::NonZeroUsize, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lru::LruCache;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    db::entities::user::Role,
    error::{AppError, AppResult},
};

pub const ISSUER: &str = "cybermed";
pub const AUDIENCE: &str = "cybermed-api";
/// Clock skew tolerated between replicas, in seconds.
const LEEWAY_SECS: u64 = 5;

/// Which kind of token; one is never accepted where the other is expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// The claims of both token types.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
    pub typ: TokenType,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    /// The login (session) this token belongs to; revoking it stops every token of that login.
    pub sid: Uuid,
}

/// Keys, validation rules and lifetimes.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Access tokens whose signature was already checked, by their exact text: a client sends the
    /// same token with every request for 15 minutes, and decoding plus HMAC was the largest part
    /// of authenticating one. Expiry and type are still checked on every use; revocation is
    /// checked in the database on every use.
    verified: Mutex<LruCache<Box<str>, Claims>>,
}

/// Verified tokens kept at most; a new one evicts the least recently used.
const VERIFIED_CACHE_MAX: NonZeroUsize = NonZeroUsize::new(10_000).expect("not zero");

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        // Expiry is checked in `verify` against the service clock (tests can move it), with a
        // leeway of a few seconds rather than the crate's default minute.
        validation.leeway = 0;
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
            verified: Mutex::new(LruCache::new(VERIFIED_CACHE_MAX)),
        }
    }

    /// Signs a token of `typ` for `user` in login `sid`; returns the token and its expiry.
    ///
    /// # Errors
    /// Internal only (signing cannot fail with an HMAC key in practice).
    pub fn issue(
        &self,
        typ: TokenType,
        user: Uuid,
        role: Role,
        sid: Uuid,
        jti: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<(String, DateTime<Utc>)> {
        let ttl = match typ {
            TokenType::Access => self.access_ttl,
            TokenType::Refresh => self.refresh_ttl,
        };
        let exp =
            now + chrono::Duration::from_std(ttl).map_err(|_| AppError::internal("token lifetime out of range"))?;
        let claims = Claims {
            sub: user,
            exp: exp.timestamp(),
            iat: now.timestamp(),
            jti,
            typ,
            role,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sid,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| AppError::internal("token signing failed"))?;
        Ok((token, exp))
    }

    /// Whether `token` is a genuine token of type `typ` (signature, algorithm, issuer, audience
    /// and type all right) whose only fault is that it has expired.
    pub fn is_expired_but_genuine(&self, token: &str, typ: TokenType, now: DateTime<Utc>) -> bool {
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .is_ok_and(|t| t.claims.typ == typ && t.claims.exp + leeway < now.timestamp())
    }

    /// Verifies signature, algorithm, expiry, issuer, audience and type.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for anything wrong with the token.
    pub fn verify(&self, token: &str, typ: TokenType, now: DateTime<Utc>) -> AppResult<Claims> {
        let cached = if typ == TokenType::Access {
            self.verified.lock().ok().and_then(|mut m| m.get(token).cloned())
        } else {
            None
        };
        let claims = match cached {
            Some(c) => c,
            None => {
                jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
                    .map_err(|_| AppError::Unauthenticated("Invalid or expired token"))?
                    .claims
            }
        };
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        if claims.typ != typ || claims.exp + leeway < now.timestamp() || claims.iat - leeway > now.timestamp() {
            return Err(AppError::Unauthenticated("Invalid or expired token"));
        }
        if typ == TokenType::Access
            && let Ok(mut m) = self.verified.lock()
            && !m.contains(token)
        {
            m.put(token.into(), claims.clone());
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_verified_cache_evicts_the_least_recently_used_token_and_keeps_the_recent_ones() {
        let mut keys = TokenKeys::new(b"a test secret", Duration::from_secs(900), Duration::from_secs(3600));
        keys.verified = Mutex::new(LruCache::new(NonZeroUsize::MIN.saturating_add(1)));
        let now = Utc::now();
        let token = || {
            let (t, _) = keys
                .issue(TokenType::Access, Uuid::new_v4(), Role::Patient, Uuid::new_v4(), Uuid::new_v4(), now)
                .unwrap_or_default();
            t
        };
        let (a, b, c) = (token(), token(), token());
        let cached = |t: &str| keys.verified.lock().is_ok_and(|m| m.contains(t));
        for t in [&a, &b, &a, &c] {
            assert!(keys.verify(t, TokenType::Access, now).is_ok());
        }
        assert!(cached(&a), "a recently used token survives a full cache");
        assert!(cached(&c), "the newest token is kept");
        assert!(!cached(&b), "the least recently used one made room");
    }
}
