//! The audit log's entries: who did what to which target, and why.
//!
//! Each tenant's log is a hash chain: entry `seq` carries the hash of entry
//! `seq - 1` (`prev_hash`) and its own hash over both, so that changing or
//! deleting any stored entry breaks the chain at that entry
//! ([`verify_chain`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Id, LongText, SafeText};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log (0 before it is stored).
    pub id: u64,
    pub tenant: Id,
    pub at: DateTime<Utc>,
    /// A person, or `worker`/`agent:{device}` for what the system did.
    pub actor: SafeText,
    /// `push.create`, `push.confirm`, `push.applied`, …
    pub action: String,
    /// `push/{id}`, `rollout/{id}`, `device/{id}`.
    pub target: String,
    /// The state before and after, as short text.
    pub before: Option<String>,
    pub after: Option<String>,
    /// Why; a note's whole text (up to [`crate::domain::text::LONG_CAP`]).
    pub reason: Option<LongText>,
    /// Set for entries caused by a message that may be delivered again:
    /// the entry is stored once per key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dedup: Option<String>,
    /// Position in the tenant's chain, from 1 (0 before it is stored).
    #[serde(default)]
    pub seq: u64,
    /// The hash of the tenant's previous entry ([`GENESIS`] for the first).
    #[serde(default)]
    pub prev_hash: String,
    /// This entry's hash ([`AuditEntry::chain_hash`]).
    #[serde(default)]
    pub hash: String,
}

/// The `prev_hash` of a tenant's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditEntry {
    /// A new entry, not yet stored.
    pub fn new(
        tenant: &Id,
        at: DateTime<Utc>,
        actor: impl Into<SafeText>,
        action: &str,
        target: String,
    ) -> Self {
        Self {
            id: 0,
            tenant: tenant.clone(),
            at,
            actor: actor.into(),
            action: action.to_string(),
            target,
            before: None,
            after: None,
            reason: None,
            dedup: None,
            seq: 0,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// With the state before and after.
    pub fn change(mut self, before: &str, after: &str) -> Self {
        self.before = Some(before.to_string());
        self.after = Some(after.to_string());
        self
    }

    /// With a reason.
    pub fn because(mut self, reason: impl Into<LongText>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Stored at most once for `key`.
    pub fn once(mut self, key: String) -> Self {
        self.dedup = Some(key);
        self
    }
}

impl AuditEntry {
    /// SHA-256 (hex) over the previous hash and every field that records
    /// what happened: tenant, seq, time (ms), actor, action, target, before,
    /// after and reason. Each field is length-prefixed, so no two different
    /// entries hash the same bytes. `id` and `dedup` are storage details
    /// and are not covered.
    pub fn chain_hash(&self, prev_hash: &str, seq: u64) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut field = |b: Option<&[u8]>| match b {
            None => ctx.update(&[0]),
            Some(b) => {
                ctx.update(&[1]);
                ctx.update(&(b.len() as u64).to_be_bytes());
                ctx.update(b);
            }
        };
        field(Some(b"vigie-audit-v1"));
        field(Some(prev_hash.as_bytes()));
        field(Some(self.tenant.as_str().as_bytes()));
        field(Some(&seq.to_be_bytes()));
        field(Some(&self.at.timestamp_millis().to_be_bytes()));
        field(Some(self.actor.as_str().as_bytes()));
        field(Some(self.action.as_bytes()));
        field(Some(self.target.as_bytes()));
        field(self.before.as_deref().map(str::as_bytes));
        field(self.after.as_deref().map(str::as_bytes));
        field(self.reason.as_ref().map(|r| r.as_str().as_bytes()));
        hex(ctx.finish().as_ref())
    }

    /// This entry placed after `prev_hash` at `seq`.
    pub fn chained(mut self, prev_hash: &str, seq: u64) -> Self {
        self.hash = self.chain_hash(prev_hash, seq);
        self.prev_hash = prev_hash.to_string();
        self.seq = seq;
        self
    }
}

use super::hex;

/// Where a chain is broken, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant {tenant}: audit entry {seq}: {why}")]
pub struct ChainBreak {
    pub tenant: Id,
    pub seq: u64,
    pub why: String,
}

/// Checks one tenant's entries, in `seq` order, as a chain that starts
/// after `(start_seq, start_hash)` (`(0, GENESIS)` for the whole log) and
/// ends at `head` when the head is known. Reports the first broken link.
pub fn verify_chain(
    tenant: &Id,
    entries: &[AuditEntry],
    start: (u64, &str),
    head: Option<(u64, &str)>,
) -> Result<(), ChainBreak> {
    let brk = |seq: u64, why: String| ChainBreak {
        tenant: tenant.clone(),
        seq,
        why,
    };
    let (mut seq, mut prev) = (start.0, start.1.to_string());
    for e in entries {
        let want = seq + 1;
        if e.tenant != *tenant {
            return Err(brk(e.seq, format!("belongs to tenant {}", e.tenant)));
        }
        if e.seq != want {
            return Err(brk(
                want,
                if e.seq > want {
                    format!("missing (deleted); the log goes on at {}", e.seq)
                } else {
                    format!("out of order (found {} after {seq})", e.seq)
                },
            ));
        }
        if e.prev_hash != prev {
            return Err(brk(want, "does not link to the entry before it".into()));
        }
        if e.chain_hash(&prev, want) != e.hash {
            return Err(brk(
                want,
                "changed after it was written (hash mismatch)".into(),
            ));
        }
        seq = want;
        prev = e.hash.clone();
    }
    if let Some((head_seq, head_hash)) = head {
        if head_seq > seq {
            return Err(brk(
                seq + 1,
                format!("missing (deleted); the chain's head is at {head_seq}"),
            ));
        }
        if head_seq == seq && head_hash != prev {
            return Err(brk(seq, "does not match the chain's recorded head".into()));
        }
        if head_seq < seq {
            return Err(brk(
                head_seq + 1,
                format!(
                    "after the chain's recorded head ({head_seq}): the head was set back, or entries were added beside the append path"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> (Id, Vec<AuditEntry>) {
        let t = Id::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        let mut prev = GENESIS.to_string();
        let mut out = Vec::new();
        for seq in 1..=n {
            let e = AuditEntry::new(
                &t,
                DateTime::UNIX_EPOCH,
                "ana",
                "push.create",
                format!("push/{seq}"),
            )
            .change("none", "sent")
            .because("maintenance")
            .chained(&prev, seq);
            prev = e.hash.clone();
            out.push(e);
        }
        (t, out)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (t, c) = chain(5);
        let head = c.last().map(|e| (e.seq, e.hash.as_str()));
        assert_eq!(verify_chain(&t, &c, (0, GENESIS), head), Ok(()));
        assert_eq!(verify_chain(&t, &c[2..], (2, &c[1].hash), head), Ok(()));
    }

    #[test]
    fn every_kind_of_tampering_is_found_at_its_entry() {
        let (t, c) = chain(5);
        let head = c.last().map(|e| (e.seq, e.hash.clone()));
        let head = head.as_ref().map(|(s, h)| (*s, h.as_str()));
        let at = |c: &[AuditEntry]| verify_chain(&t, c, (0, GENESIS), head).map_err(|b| b.seq);

        let mut changed = c.clone();
        changed[2].reason = Some("nothing to see".into());
        assert_eq!(at(&changed), Err(3));

        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(at(&deleted), Err(2));

        let mut truncated = c.clone();
        truncated.pop();
        assert_eq!(at(&truncated), Err(5));

        let five = c.last().map(|e| (e.seq, e.hash.clone()));
        let lagging = c[2].hash.clone();
        assert_eq!(
            verify_chain(&t, &c, (0, GENESIS), Some((3, lagging.as_str()))).map_err(|b| b.seq),
            Err(4),
            "a head set back"
        );
        drop(five);

        let mut rehashed = c.clone();
        rehashed[3].actor = "mallory".into();
        rehashed[3].hash = rehashed[3].chain_hash(&c[2].hash, 4);
        assert_eq!(at(&rehashed), Err(5), "the next entry no longer links");
    }
}
