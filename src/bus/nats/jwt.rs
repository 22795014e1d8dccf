//! NATS's decentralized authentication: operator, account and user JWTs
//! signed with NKeys (the `ed25519-nkey` profile of nats-io/jwt v2), and
//! the credentials file a client presents. The server checks the chain
//! operator → account → user and enforces each user's permissions; vigie
//! only mints what the server trusts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use nkeys::KeyPair;
use serde_json::{Value, json};

/// A JWT or key that could not be made.
#[derive(Debug, thiserror::Error)]
#[error("NATS credentials: {0}")]
pub struct JwtError(pub String);

fn err(e: impl std::fmt::Display) -> JwtError {
    JwtError(e.to_string())
}

/// `pub` and `sub` permissions of a user: subjects it may publish to and
/// subscribe to (nothing else).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
}

/// No limit, as NATS writes it.
const NO_LIMIT: i64 = -1;

/// The JWT's `jti`: base32 (no padding) of the SHA-512/256 of the standard
/// claims, as nats-io/jwt computes it.
fn jti(standard: &Value) -> String {
    let bytes = serde_json::to_vec(standard).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA512_256, &bytes);
    data_encoding::BASE32_NOPAD.encode(digest.as_ref())
}

/// Signs `nats` (the type's claims) about `subject` with `issuer`.
fn sign(
    issuer: &KeyPair,
    subject: &str,
    name: &str,
    issued_at: i64,
    expires: Option<i64>,
    nats: Value,
) -> Result<String, JwtError> {
    let mut standard = json!({
        "iat": issued_at,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
    });
    if let Some(exp) = expires {
        standard["exp"] = json!(exp);
    }
    let mut claims = standard.clone();
    claims["jti"] = json!(jti(&standard));
    claims["nats"] = nats;
    let header = B64.encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = B64.encode(serde_json::to_vec(&claims).map_err(err)?);
    let input = format!("{header}.{body}");
    let signature = issuer.sign(input.as_bytes()).map_err(err)?;
    Ok(format!("{input}.{}", B64.encode(signature)))
}

/// The operator's JWT, self-signed, naming its system account.
pub fn operator(
    operator: &KeyPair,
    name: &str,
    system_account: &str,
    issued_at: i64,
) -> Result<String, JwtError> {
    sign(
        operator,
        &operator.public_key(),
        name,
        issued_at,
        None,
        json!({"system_account": system_account, "type": "operator", "version": 2}),
    )
}

/// An account's JWT, signed by the operator. `jetstream` turns JetStream
/// on without limits; `signing_keys` may sign its users; users named in
/// `revoked` (public key → revoked at, seconds) are refused from then on.
pub fn account(
    operator: &KeyPair,
    account: &str,
    name: &str,
    jetstream: bool,
    signing_keys: &[String],
    revoked: &[(String, i64)],
    issued_at: i64,
) -> Result<String, JwtError> {
    let storage = if jetstream { NO_LIMIT } else { 0 };
    let mut nats = json!({
        "limits": {
            "subs": NO_LIMIT, "data": NO_LIMIT, "payload": NO_LIMIT,
            "imports": NO_LIMIT, "exports": NO_LIMIT, "wildcards": true,
            "conn": NO_LIMIT, "leaf": NO_LIMIT,
            "mem_storage": storage, "disk_storage": storage,
            "streams": NO_LIMIT, "consumer": NO_LIMIT,
        },
        "default_permissions": {"pub": {}, "sub": {}},
        "type": "account",
        "version": 2,
    });
    if !signing_keys.is_empty() {
        nats["signing_keys"] = json!(signing_keys);
    }
    if !revoked.is_empty() {
        let map: serde_json::Map<String, Value> = revoked
            .iter()
            .map(|(k, at)| (k.clone(), json!(at)))
            .collect();
        nats["revocations"] = Value::Object(map);
    }
    sign(operator, account, name, issued_at, None, nats)
}

/// A user's JWT, signed by one of its account's signing keys, allowed
/// exactly `perms`; it expires at `expires` when given.
pub fn user(
    signer: &KeyPair,
    account: &str,
    user: &str,
    name: &str,
    perms: &Permissions,
    issued_at: i64,
    expires: Option<i64>,
) -> Result<String, JwtError> {
    let list = |subjects: &[String]| -> Value {
        if subjects.is_empty() {
            json!({})
        } else {
            json!({"allow": subjects})
        }
    };
    let mut nats = json!({
        "pub": list(&perms.publish),
        "sub": list(&perms.subscribe),
        "subs": NO_LIMIT,
        "data": NO_LIMIT,
        "payload": NO_LIMIT,
        "type": "user",
        "version": 2,
    });
    if signer.public_key() != account {
        nats["issuer_account"] = json!(account);
    }
    sign(signer, user, name, issued_at, expires, nats)
}

/// A credentials file: the user's JWT and its seed, as `nsc` writes them.
pub fn creds_file(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}

/// The JWT of a credentials file's text.
pub fn jwt_of_creds(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN NATS USER JWT-----")? + "-----BEGIN NATS USER JWT-----".len();
    let rest = &text[start..];
    let end = rest.find("------END NATS USER JWT------")?;
    Some(rest[..end].trim())
}

/// The inbox prefix a user JWT lets its holder read: its one
/// subscribe permission, when that is `_INBOX.<something>.>`.
pub fn inbox_of(jwt: &str) -> Option<String> {
    let c = claims(jwt).ok()?;
    let allow = c["nats"]["sub"]["allow"].as_array()?;
    let [only] = allow.as_slice() else {
        return None;
    };
    let prefix = only.as_str()?.strip_suffix(".>")?;
    (prefix.starts_with("_INBOX.") && crate::bus::subject::is_valid(prefix))
        .then(|| prefix.to_string())
}

/// The claims of a JWT, unchecked (to read what a file holds).
pub fn claims(jwt: &str) -> Result<Value, JwtError> {
    let body = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| JwtError("not a JWT".into()))?;
    let bytes = B64.decode(body).map_err(err)?;
    serde_json::from_slice(&bytes).map_err(err)
}

/// Whether `jwt` is signed by the key it names as issuer.
pub fn verify(jwt: &str) -> Result<(), JwtError> {
    let claims = claims(jwt)?;
    let issuer = claims["iss"]
        .as_str()
        .ok_or_else(|| JwtError("no issuer".into()))?;
    let (input, signature) = jwt
        .rsplit_once('.')
        .ok_or_else(|| JwtError("not a JWT".into()))?;
    let signature = B64.decode(signature).map_err(err)?;
    KeyPair::from_public_key(issuer)
        .map_err(err)?
        .verify(input.as_bytes(), &signature)
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_jwt_names_its_account_and_permissions_and_verifies() {
        let account = KeyPair::new_account();
        let signer = KeyPair::new_account();
        let u = KeyPair::new_user();
        let perms = Permissions {
            publish: vec!["vigie.tel.acme.rtr-1.>".into()],
            subscribe: vec!["_INBOX.agent-acme-rtr-1.>".into()],
        };
        let jwt = user(
            &signer,
            &account.public_key(),
            &u.public_key(),
            "rtr-1",
            &perms,
            1_000,
            Some(2_000),
        )
        .unwrap();
        verify(&jwt).unwrap();
        let c = claims(&jwt).unwrap();
        assert_eq!(c["sub"], json!(u.public_key()));
        assert_eq!(c["iss"], json!(signer.public_key()));
        assert_eq!(c["exp"], json!(2_000));
        assert_eq!(c["nats"]["issuer_account"], json!(account.public_key()));
        assert_eq!(c["nats"]["pub"]["allow"], json!(["vigie.tel.acme.rtr-1.>"]));
        assert_eq!(c["jti"].as_str().map(str::len), Some(52));
        // Changed after signing: refused.
        let (head, rest) = jwt.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let forged = B64
            .encode(serde_json::to_vec(&json!({"iss": signer.public_key(), "sub": "x"})).unwrap());
        assert!(verify(&format!("{head}.{forged}.{sig}")).is_err());
    }

    #[test]
    fn the_inbox_a_credentials_file_may_read_is_found_in_it() {
        let signer = KeyPair::new_account();
        let u = KeyPair::new_user();
        let make = |subscribe: Vec<String>| {
            let perms = Permissions {
                publish: vec![],
                subscribe,
            };
            let jwt = user(
                &signer,
                &signer.public_key(),
                &u.public_key(),
                "x",
                &perms,
                1,
                None,
            )
            .unwrap();
            creds_file(&jwt, "SUAxxxx")
        };
        let creds = make(vec!["_INBOX.login.>".into()]);
        let jwt = jwt_of_creds(&creds).unwrap();
        assert_eq!(inbox_of(jwt).as_deref(), Some("_INBOX.login"));
        for other in [
            vec!["_INBOX.a.>".into(), "_INBOX.b.>".into()],
            vec!["vigie.>".into()],
            vec!["_INBOX.>".into()],
            vec![],
        ] {
            let creds = make(other.clone());
            assert_eq!(inbox_of(jwt_of_creds(&creds).unwrap()), None, "{other:?}");
        }
        assert_eq!(jwt_of_creds("no jwt here"), None);
    }

    #[test]
    fn an_account_lists_its_signing_keys_and_revocations() {
        let op = KeyPair::new_operator();
        let acc = KeyPair::new_account();
        let jwt = account(
            &op,
            &acc.public_key(),
            "VIGIE",
            true,
            &["AKEY".into()],
            &[("UKEY".into(), 5)],
            1,
        )
        .unwrap();
        let c = claims(&jwt).unwrap();
        assert_eq!(c["nats"]["signing_keys"], json!(["AKEY"]));
        assert_eq!(c["nats"]["revocations"]["UKEY"], json!(5));
        assert_eq!(c["nats"]["limits"]["disk_storage"], json!(-1));
    }
}
