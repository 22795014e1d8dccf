//! One-time enrolment codes: what a code binds (one tenant's device, and
//! where to create it when the inventory lacks it), how it is kept (only
//! its SHA-256), and why one is refused. Pure: the code's random bytes and
//! the time are given.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Id;
use super::model::DeviceKind;

/// Letters of a code: RFC 4648 base32, unambiguous to read aloud.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Longest code accepted in a request (a code is 26 letters and 6 dashes).
pub const MAX_CODE_LEN: usize = 64;

/// What a code was created for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub tenant: Id,
    pub device: Id,
    /// With `kind`: create the device at this site if it is unknown.
    pub site: Option<Id>,
    pub kind: Option<DeviceKind>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a code is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    #[error("no such enrolment code")]
    Unknown,
    #[error("the enrolment code was used already, at {at}")]
    Used {
        tenant: Id,
        device: Id,
        at: DateTime<Utc>,
    },
    #[error("the enrolment code expired at {at}")]
    Expired {
        tenant: Id,
        device: Id,
        at: DateTime<Utc>,
    },
    #[error("the public key is not an NKey user key (U…, 56 characters)")]
    BadKey,
    #[error("the enrolment code names device {device} of {tenant}, which is not in the inventory")]
    NoDevice { tenant: Id, device: Id },
}

impl Refusal {
    /// The tenant whose audit log records the refusal, if the code was known.
    pub fn tenant(&self) -> Option<&Id> {
        match self {
            Refusal::Used { tenant, .. }
            | Refusal::Expired { tenant, .. }
            | Refusal::NoDevice { tenant, .. } => Some(tenant),
            Refusal::Unknown | Refusal::BadKey => None,
        }
    }
}

/// A code written from 16 random bytes: 26 letters in groups of four or
/// fewer, `ABCD-EFGH-…`.
pub fn code_from(random: &[u8; 16]) -> String {
    let mut bits: u32 = 0;
    let mut have = 0;
    let mut letters = Vec::with_capacity(26);
    for b in random {
        bits = (bits << 8) | u32::from(*b);
        have += 8;
        while have >= 5 {
            have -= 5;
            letters.push(ALPHABET[((bits >> have) & 31) as usize]);
        }
    }
    if have > 0 {
        letters.push(ALPHABET[((bits << (5 - have)) & 31) as usize]);
    }
    letters
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as typed, reduced to what identifies it: dashes and spaces
/// dropped, letters upper-cased. `None` when it cannot be a code.
pub fn normalize(code: &str) -> Option<String> {
    if code.len() > MAX_CODE_LEN {
        return None;
    }
    let c: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (c.len() == 26 && c.bytes().all(|b| ALPHABET.contains(&b))).then_some(c)
}

/// What is stored of a code: the SHA-256 (hex) of its normal form.
pub fn code_hash(normal: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, normal.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `key` reads as an NKey user public key (the server checks the
/// rest: a JWT for a malformed key is refused at connect).
pub fn is_user_key(key: &str) -> bool {
    key.len() == 56 && key.starts_with('U') && key.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_26_base32_letters_in_groups_and_reads_back_however_typed() {
        let code = code_from(&[0xAB; 16]);
        assert_eq!(code.len(), 26 + 6);
        assert_eq!(code.split('-').count(), 7);
        let plain = normalize(&code).unwrap();
        assert_eq!(
            normalize(&code.to_lowercase().replace('-', " ")),
            Some(plain.clone())
        );
        assert_ne!(code_from(&[0xAC; 16]), code);
        for bad in [
            "",
            "ABCD",
            "0000-0000-0000-0000-0000-0000-00",
            &"A".repeat(200),
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_user_keys_are_taken() {
        let user = format!("U{}", "A".repeat(55));
        assert!(is_user_key(&user));
        assert!(!is_user_key(&format!("A{}", "A".repeat(55))));
        assert!(!is_user_key("U"));
        assert!(!is_user_key(&format!("U{}1", "A".repeat(54))));
    }
}
