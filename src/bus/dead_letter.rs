//! What a dead-lettered message looks like on `vigie.dlq.{reason}`: the
//! reason, the error naming the field, the subject and the original
//! message, bounded so that a letter always fits in one message whatever
//! arrived.

use serde::Serialize;

/// Most bytes of the original message a dead letter carries: a letter
/// must fit in the server's largest message (1 MiB by default) whatever
/// arrived, so a larger message is cut and its size and SHA-256 kept.
pub const DLQ_PAYLOAD_MAX: usize = 64 * 1024;
/// Most characters of the error text a dead letter carries.
const DLQ_ERROR_MAX: usize = 2_048;

/// What a dead-lettered message looks like on `vigie.dlq.{reason}`.
#[derive(Debug, Serialize)]
pub struct DeadLetter<'a> {
    pub reason: &'a str,
    pub error: String,
    pub subject: &'a str,
    pub delivered: u32,
    pub received: chrono::DateTime<chrono::Utc>,
    /// The original message's size in bytes and its SHA-256 (hex).
    pub payload_bytes: usize,
    pub payload_sha256: String,
    /// True when only the first [`DLQ_PAYLOAD_MAX`] bytes are kept.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub payload_truncated: bool,
    /// The original message (or its start) when it is UTF-8…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<&'a str>,
    /// …and base64 of its bytes otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_b64: Option<String>,
}

impl<'a> DeadLetter<'a> {
    /// The letter for `payload`, bounded whatever its size.
    pub fn new(
        reason: &'a str,
        error: &str,
        subject: &'a str,
        delivered: u32,
        received: chrono::DateTime<chrono::Utc>,
        payload: &'a [u8],
    ) -> Self {
        use base64::Engine as _;
        let digest = ring::digest::digest(&ring::digest::SHA256, payload);
        let sha: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let truncated = payload.len() > DLQ_PAYLOAD_MAX;
        let kept = &payload[..payload.len().min(DLQ_PAYLOAD_MAX)];
        // A cut may split a character: keep the valid UTF-8 prefix.
        let text = match std::str::from_utf8(kept) {
            Ok(t) => Some(t),
            Err(e) if truncated && e.error_len().is_none() => {
                std::str::from_utf8(&kept[..e.valid_up_to()]).ok()
            }
            Err(_) => None,
        };
        let error: String = if error.chars().count() > DLQ_ERROR_MAX {
            error.chars().take(DLQ_ERROR_MAX).chain(['…']).collect()
        } else {
            error.to_string()
        };
        Self {
            reason,
            error,
            subject: {
                // Cut on a character boundary: a subject is anyone's text.
                let mut end = subject.len().min(super::subject::MAX_LEN);
                while !subject.is_char_boundary(end) {
                    end -= 1;
                }
                &subject[..end]
            },
            delivered,
            received,
            payload_bytes: payload.len(),
            payload_sha256: sha,
            payload_truncated: truncated,
            payload: text,
            payload_b64: match text {
                Some(_) => None,
                None => Some(base64::engine::general_purpose::STANDARD.encode(kept)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_always_fits_whatever_arrived() {
        // 800 KB that is not UTF-8: base64 alone would be 1.07 MB.
        let poison: Vec<u8> = (0..800_000u32).map(|i| (i % 251) as u8 | 0x80).collect();
        let letter = DeadLetter::new(
            "malformed",
            &"x".repeat(100_000),
            "vigie.tel.acme.rtr-01.metrics",
            3,
            chrono::DateTime::UNIX_EPOCH,
            &poison,
        );
        let body = serde_json::to_vec(&letter).unwrap_or_default();
        assert!(body.len() < 128 * 1024, "{} bytes", body.len());
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(v["payload_bytes"], 800_000);
        assert_eq!(v["payload_truncated"], true);
        assert_eq!(v["payload_sha256"].as_str().map(str::len), Some(64));
        assert!(v["payload_b64"].is_string());
        // A UTF-8 message cut inside a character keeps its valid start.
        let text = "é".repeat(DLQ_PAYLOAD_MAX);
        let letter = DeadLetter::new(
            "x",
            "",
            "s",
            1,
            chrono::DateTime::UNIX_EPOCH,
            text.as_bytes(),
        );
        assert!(letter.payload.is_some_and(|p| p.len() == DLQ_PAYLOAD_MAX));
        // A subject of multi-byte characters over the limit is cut on a
        // character boundary, never inside one.
        let subject = format!("vigie.tel.x{}", "é".repeat(400));
        let cut = DeadLetter::new("x", "", &subject, 1, chrono::DateTime::UNIX_EPOCH, b"{}");
        assert!(cut.subject.len() <= crate::bus::subject::MAX_LEN);
        assert!(subject.starts_with(cut.subject));
    }
}
