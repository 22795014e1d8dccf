//! NATS credentials per user: at `login` a client brings an NKey user
//! public key (`U…`) and a curve public key (`X…`) it made itself; the
//! worker answers with a session and a short-lived user JWT for that key,
//! allowed only the user's scope, the whole answer sealed to the curve
//! key. Whoever else reads the login inbox (every holder of the login
//! credential may) sees ciphertext, and the JWT is useless without the
//! seed that never left the client. `renew` gives a fresh JWT for the
//! same key while the session lasts.

use chrono::{DateTime, Utc};
use nkeys::XKey;
use serde::{Deserialize, Serialize};

use super::{ApiError, ErrorCode};

/// The keys a client brings to `login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientKeys {
    /// The NKey user public key the JWT is made for (`U…`).
    pub nkey: String,
    /// The curve public key the answer is sealed to (`X…`).
    pub xkey: String,
}

/// A user's NATS credentials, without the seed (which only the client
/// has): the JWT, when it expires, and the inbox prefix it may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatsGrant {
    pub jwt: String,
    pub expires: DateTime<Utc>,
    pub inbox_prefix: String,
}

/// `renew`: the key to make a fresh JWT for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewArgs {
    pub nkey: String,
}

/// A sealed answer: `sealed` is the answer's JSON, sealed (NATS xkeys:
/// curve25519, xsalsa20-poly1305) from the curve key `from` to the
/// client's; base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    pub sealed: String,
    pub from: String,
}

/// The longest key text a request may carry.
const MAX_KEY: usize = 64;

/// `keys` when both are public keys of their kind; a `bad-request`
/// naming the field otherwise.
pub fn check_keys(keys: &ClientKeys) -> Result<XKey, ApiError> {
    check_nkey(&keys.nkey)?;
    if keys.xkey.len() > MAX_KEY {
        return Err(ApiError::bad_request("keys.xkey: not a curve public key"));
    }
    XKey::from_public_key(&keys.xkey)
        .map_err(|_| ApiError::bad_request("keys.xkey: not a curve public key (X…)"))
}

/// `nkey` when it is an NKey user public key.
pub fn check_nkey(nkey: &str) -> Result<(), ApiError> {
    if nkey.len() <= MAX_KEY && crate::domain::enrolment::is_user_key(nkey) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "keys.nkey: not an NKey user public key (U…)",
        ))
    }
}

/// `answer` sealed to `to` under a key made for this answer alone.
pub fn seal(answer: &[u8], to: &XKey) -> Result<Vec<u8>, ApiError> {
    use base64::Engine as _;
    let ours = XKey::new();
    let sealed = ours
        .seal(answer, to)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("sealing: {e}")))?;
    serde_json::to_vec(&Sealed {
        sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
        from: ours.public_key(),
    })
    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
}

/// The answer inside a sealed `reply`, opened with `key`; `None` when the
/// reply is not sealed (errors are not); an error when it is sealed but
/// does not open (not for us, or altered).
pub fn open(reply: &[u8], key: &XKey) -> Result<Option<Vec<u8>>, ApiError> {
    use base64::Engine as _;
    let Ok(s) = serde_json::from_slice::<Sealed>(reply) else {
        return Ok(None);
    };
    let bad = |what: &str| ApiError::new(ErrorCode::BadAnswer, format!("sealed answer: {what}"));
    let from = XKey::from_public_key(&s.from).map_err(|_| bad("no sender key"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.sealed)
        .map_err(|_| bad("not base64"))?;
    key.open(&bytes, &from)
        .map(Some)
        .map_err(|_| bad("does not open with this client's key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_answer_opens_only_with_the_clients_key() {
        let client = XKey::new();
        let other = XKey::new();
        let reply = seal(br#"{"ok":{"token":"vgs1.secret"}}"#, &client).unwrap();
        assert!(!String::from_utf8_lossy(&reply).contains("vgs1.secret"));
        assert_eq!(
            open(&reply, &client).unwrap().unwrap(),
            br#"{"ok":{"token":"vgs1.secret"}}"#
        );
        assert!(open(&reply, &other).is_err());
        // Altered on the way: refused, not garbled.
        let mut s: Sealed = serde_json::from_slice(&reply).unwrap();
        s.sealed.replace_range(10..12, "AA");
        assert!(open(&serde_json::to_vec(&s).unwrap(), &client).is_err());
        // An error answer is not sealed.
        assert_eq!(open(br#"{"error":{}}"#, &client).unwrap(), None);
    }

    #[test]
    fn keys_must_be_public_keys_of_their_kind() {
        let good = ClientKeys {
            nkey: nkeys::KeyPair::new_user().public_key(),
            xkey: XKey::new().public_key(),
        };
        assert!(check_keys(&good).is_ok());
        let swapped = ClientKeys {
            nkey: good.xkey.clone(),
            xkey: good.nkey.clone(),
        };
        assert!(
            check_keys(&swapped)
                .unwrap_err()
                .message
                .contains("keys.nkey")
        );
        let seed = ClientKeys {
            xkey: XKey::new().seed().unwrap(),
            ..good.clone()
        };
        assert!(check_keys(&seed).unwrap_err().message.contains("keys.xkey"));
        let long = ClientKeys {
            xkey: "X".repeat(10_000),
            ..good
        };
        assert!(check_keys(&long).is_err());
    }
}
