//! `vigie audit verify` and `vigie audit export`: walk every tenant's hash
//! chain and report the first broken link; write a signed evidence bundle
//! that anyone can check offline with the provider's public key.
//!
//! A bundle is the JSON body followed by one last line,
//! `ed25519 KEY_BASE64 SIGNATURE_BASE64`, signing every byte before it.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Id;
use crate::domain::audit::{AuditEntry, ChainBreak, GENESIS, verify_chain};
use crate::orders::keys::{KeyId, SigningKey, TrustedKeys};
use crate::store::{Store, StoreError};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const PAGE: u32 = 10_000;
const FORMAT: &str = "vigie-audit-bundle/1";

/// What a walk over the chains found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Entries checked, by tenant.
    pub tenants: Vec<(Id, u64)>,
    /// The first broken link, if any.
    pub broken: Option<String>,
}

/// Checks the chain of `tenant`, or of every tenant with a chain. The
/// tenants come from the log itself as well as from the heads, so that a
/// deleted head cannot hide a tenant's chain from the check.
pub async fn verify(store: &dyn Store, tenant: Option<&Id>) -> Result<Verified, StoreError> {
    let heads = store.audit_heads().await?;
    let mut out = Verified {
        tenants: Vec::new(),
        broken: None,
    };
    let head_of = |t: &Id| {
        heads
            .iter()
            .find(|h| h.tenant == *t)
            .map(|h| (h.seq, h.hash.clone()))
    };
    let mut names: Vec<Id> = match tenant {
        Some(t) => vec![t.clone()],
        None => {
            let mut all = store.audit_tenants().await?;
            all.extend(heads.iter().map(|h| h.tenant.clone()));
            all
        }
    };
    names.sort();
    names.dedup();
    for t in names {
        let head = head_of(&t);
        if head.is_none() && !store.audit_chain(&t, 0, 1).await?.is_empty() {
            out.broken = Some(format!(
                "tenant {t}: the chain has entries but no head: it was deleted"
            ));
            return Ok(out);
        }
        match verify_one(store, &t, head).await? {
            Ok(n) => out.tenants.push((t, n)),
            Err(b) => {
                out.broken = Some(b.to_string());
                return Ok(out);
            }
        }
    }
    Ok(out)
}

async fn verify_one(
    store: &dyn Store,
    tenant: &Id,
    head: Option<(u64, String)>,
) -> Result<Result<u64, ChainBreak>, StoreError> {
    let (mut seq, mut hash) = (0u64, GENESIS.to_string());
    loop {
        let page = store.audit_chain(tenant, seq, PAGE).await?;
        let last = page.len() < PAGE as usize;
        let end = if last {
            head.as_ref().map(|(s, h)| (*s, h.as_str()))
        } else {
            None
        };
        if let Err(b) = verify_chain(tenant, &page, (seq, &hash), end) {
            return Ok(Err(b));
        }
        if let Some(e) = page.last() {
            seq = e.seq;
            hash = e.hash.clone();
        }
        if last {
            return Ok(Ok(seq));
        }
    }
}

/// The signed part of a bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub tenant: Id,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub exported_at: DateTime<Utc>,
    /// The chain position just before the first entry.
    pub start_seq: u64,
    pub start_hash: String,
    pub entries: Vec<AuditEntry>,
}

/// Exports a tenant's entries written in `[since, until)` after checking
/// the whole chain; refuses to sign a broken one.
pub async fn export(
    store: &dyn Store,
    key: &SigningKey,
    tenant: &Id,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, ExportError> {
    let checked = verify(store, Some(tenant)).await?;
    if let Some(b) = checked.broken {
        return Err(ExportError::Broken(b));
    }
    let entries = store.audit_range(tenant, since, until).await?;
    let (start_seq, start_hash) = entries.first().map_or((0, GENESIS.to_string()), |e| {
        (e.seq - 1, e.prev_hash.clone())
    });
    let bundle = Bundle {
        format: FORMAT.into(),
        tenant: tenant.clone(),
        since,
        until,
        exported_at: now,
        start_seq,
        start_hash,
        entries,
    };
    let mut body =
        serde_json::to_vec_pretty(&bundle).map_err(|e| ExportError::Encode(e.to_string()))?;
    body.push(b'\n');
    let sig = key.sign(&body);
    body.extend_from_slice(
        format!("ed25519 {} {}\n", key.public_base64(), B64.encode(sig)).as_bytes(),
    );
    Ok(body)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the chain is broken, nothing was exported: {0}")]
    Broken(String),
    #[error("could not encode the bundle: {0}")]
    Encode(String),
}

/// What checking a bundle found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleCheck {
    pub tenant: Id,
    pub entries: usize,
    pub key: KeyId,
    /// Whether the signing key is one the caller trusts (`None`: no
    /// trusted key given).
    pub trusted: Option<bool>,
}

/// Checks a bundle's signature and its chain, offline. `trust`: public
/// keys (base64) the signer must be one of.
pub fn check_bundle(bytes: &[u8], trust: &[String]) -> Result<BundleCheck, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the bundle is not UTF-8".to_string())?;
    let body_end = text
        .trim_end_matches('\n')
        .rfind('\n')
        .map(|i| i + 1)
        .ok_or("the bundle has no signature line")?;
    let (body, sig_line) = text.split_at(body_end);
    let parts: Vec<&str> = sig_line.trim_end_matches('\n').split(' ').collect();
    let [algo, public, sig] = parts[..] else {
        return Err("the last line is not `ed25519 KEY SIGNATURE`".into());
    };
    if algo != "ed25519" {
        return Err(format!("unknown signature algorithm {algo:?}"));
    }
    let mut keys = TrustedKeys::default();
    let key = keys.add_base64(public).map_err(|e| e.to_string())?;
    let sig = B64
        .decode(sig)
        .map_err(|_| "the signature is not base64".to_string())?;
    if keys.verify(&key, body.as_bytes(), &sig) != Some(true) {
        return Err(format!(
            "the signature does not match: the bundle was changed after key {key} signed it"
        ));
    }
    let trusted = if trust.is_empty() {
        None
    } else {
        let mut ok = TrustedKeys::default();
        let mut ids = Vec::new();
        for t in trust {
            ids.push(ok.add_base64(t).map_err(|e| e.to_string())?);
        }
        Some(ids.contains(&key))
    };
    let bundle: Bundle = serde_json::from_str(body).map_err(|e| format!("bundle body: {e}"))?;
    if bundle.format != FORMAT {
        return Err(format!("unknown bundle format {:?}", bundle.format));
    }
    verify_chain(
        &bundle.tenant,
        &bundle.entries,
        (bundle.start_seq, &bundle.start_hash),
        None,
    )
    .map_err(|b| b.to_string())?;
    Ok(BundleCheck {
        tenant: bundle.tenant,
        entries: bundle.entries.len(),
        key,
        trusted,
    })
}
