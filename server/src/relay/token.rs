//! Access tokens signed by the relay: `fb1.<payload>.<signature>`, where the payload is compact
//! JSON (`{"id","team","member","role","exp"}`) in base64url without padding and the signature
//! is HMAC-SHA256 over `fb1.<payload>` with the relay's secret, also base64url. A token is
//! valid when its signature matches, it has not expired, and storage has it unrevoked (so a
//! token from a deleted data directory, signed with an old secret, fails as forged).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldbook_core::ids::{MemberId, TeamId};
use fieldbook_core::team::Role;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "fb1";

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The token's id (for revocation).
    pub id: String,
    /// Team.
    pub team: TeamId,
    /// Member.
    pub member: MemberId,
    /// Role when issued (the team document decides access; this is for logs and clients).
    pub role: Role,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// Why a token is refused. The message is sent in the 401 body and logged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No token in the query (`?token=`) nor in `Authorization: Bearer`.
    #[error("missing token: pass ?token=... or an Authorization: Bearer header")]
    Missing,
    /// Not three dot-separated base64url parts starting with `fb1`.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The signature does not match this relay's secret.
    #[error("forged token: the signature does not match")]
    Forged,
    /// Past its expiry.
    #[error("expired token: expired at {exp} (now {now}, Unix seconds)")]
    Expired {
        /// Expiry.
        exp: i64,
        /// Now.
        now: i64,
    },
    /// Revoked by an admin (or unknown to this relay's storage).
    #[error("revoked token {0}")]
    Revoked(String),
}

fn mac(secret: &[u8; 32]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length")
}

/// Signs `claims` with `secret`.
pub fn sign(claims: &Claims, secret: &[u8; 32]) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signed = format!("{PREFIX}.{payload}");
    let mut mac = mac(secret);
    mac.update(signed.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{signature}")
}

/// Checks the signature and expiry (revocation is the caller's: it needs storage).
pub fn verify(token: &str, secret: &[u8; 32], now: i64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(prefix), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("expected fb1.<payload>.<signature>"));
    };
    if prefix != PREFIX {
        return Err(TokenError::Malformed(
            "unknown token version (expected fb1)",
        ));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed("the signature is not base64url"))?;
    let mut mac = mac(secret);
    mac.update(prefix.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::Forged)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed("the payload is not base64url"))?;
    let claims: Claims = serde_json::from_slice(&payload)
        .map_err(|_| TokenError::Malformed("the payload is not the expected JSON"))?;
    if claims.exp <= now {
        return Err(TokenError::Expired {
            exp: claims.exp,
            now,
        });
    }
    Ok(claims)
}

/// A new random token id (16 bytes, base64url).
pub fn new_token_id() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    // Hex, not base64url: an id starting with `-` (1 in 64 base64url ids) reads as an option
    // on the command line (`fieldbook token revoke -tX…`).
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            id: "tk1".into(),
            team: TeamId::from("t1"),
            member: MemberId::from("r-yossi"),
            role: Role::Rep,
            exp: 1_000,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let secret = [7u8; 32];
        let token = sign(&claims(), &secret);
        assert!(token.starts_with("fb1."));
        assert_eq!(verify(&token, &secret, 999), Ok(claims()));
        assert_eq!(
            verify(&token, &secret, 1_000),
            Err(TokenError::Expired {
                exp: 1_000,
                now: 1_000
            })
        );
    }

    #[test]
    fn another_secret_or_an_edited_payload_is_forged() {
        let secret = [7u8; 32];
        let token = sign(&claims(), &secret);
        assert_eq!(verify(&token, &[8u8; 32], 0), Err(TokenError::Forged));
        // Promote oneself to admin: the payload changes, the signature no longer matches.
        let mut admin = claims();
        admin.role = Role::Admin;
        let forged_payload = sign(&admin, &[9u8; 32]);
        let payload = forged_payload.split('.').nth(1).unwrap();
        let signature = token.split('.').nth(2).unwrap();
        let forged = format!("fb1.{payload}.{signature}");
        assert_eq!(verify(&forged, &secret, 0), Err(TokenError::Forged));
    }

    #[test]
    fn malformed_tokens_say_what_is_wrong() {
        let secret = [7u8; 32];
        for (token, expect) in [
            ("", "expected fb1.<payload>.<signature>"),
            ("a.b", "expected fb1.<payload>.<signature>"),
            ("a.b.c.d", "expected fb1.<payload>.<signature>"),
            ("fb2.b.c", "unknown token version (expected fb1)"),
            ("fb1.b.!!", "the signature is not base64url"),
        ] {
            assert_eq!(
                verify(token, &secret, 0),
                Err(TokenError::Malformed(expect)),
                "{token}"
            );
        }
        let ids: std::collections::BTreeSet<String> = (0..100).map(|_| new_token_id()).collect();
        assert_eq!(ids.len(), 100);
        // Safe as a command-line argument.
        assert!(
            ids.iter()
                .all(|id| id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }
}
