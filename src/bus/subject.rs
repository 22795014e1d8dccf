//! Subject names and NATS-style wildcard matching.

use crate::domain::Id;

use crate::domain::telemetry::Kind;

/// `vigie.tel.{tenant}.{device}.{kind}`
pub fn telemetry(tenant: &Id, device: &Id, kind: Kind) -> String {
    format!("vigie.tel.{tenant}.{device}.{}", kind.as_str())
}

/// `vigie.evt.{tenant}.{entity}`
pub fn event(tenant: &Id, entity: &str) -> String {
    format!("vigie.evt.{tenant}.{entity}")
}

/// `vigie.dlq.{reason}`
pub fn dlq(reason: &str) -> String {
    format!("vigie.dlq.{reason}")
}

/// `vigie.ord.{tenant}.{device}`: the orders of one device.
pub fn order(tenant: &Id, device: &Id) -> String {
    format!("vigie.ord.{tenant}.{device}")
}

/// `vigie.api.{scope}.{verb}`; scope is a tenant id or [`ALL_TENANTS`].
pub fn api(scope: &str, verb: &str) -> String {
    format!("vigie.api.{scope}.{verb}")
}

/// The api scope that spans every tenant (tenant ids never start with `_`).
pub const ALL_TENANTS: &str = "_all";

/// Where an agent asks to be enrolled (see `api::enrol`).
pub const ENROL: &str = "vigie.enrol";

/// The inbox prefix of enrolment answers: all a bootstrap credential may read.
pub const ENROL_INBOX: &str = "_INBOX.enrol";

/// The tokens of a telemetry subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySubject<'a> {
    pub tenant: &'a str,
    pub device: &'a str,
    pub kind: &'a str,
}

/// Splits `vigie.tel.{tenant}.{device}.{kind}`, with or without the
/// `.{partition}` number a NATS subject mapping appends (see
/// [`partition_filter`]).
pub fn parse_telemetry(subject: &str) -> Option<TelemetrySubject<'_>> {
    let mut it = subject.split('.');
    let parsed = match (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) {
        (Some("vigie"), Some("tel"), Some(tenant), Some(device), Some(kind), partition)
            if partition.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            TelemetrySubject {
                tenant,
                device,
                kind,
            }
        }
        _ => return None,
    };
    it.next().is_none().then_some(parsed)
}

/// The telemetry of partition `k`: `vigie.tel.*.*.*.{k}`. The server maps
/// `vigie.tel.{tenant}.{device}.{kind}` to it with
/// `{{partition(N,1,2)}}`, so one device always lands in one partition.
pub fn partition_filter(k: u32) -> String {
    format!("vigie.tel.*.*.*.{k}")
}

/// The partition of `n` that the server's `{{partition(n,1,2)}}` mapping
/// gives a device: FNV-1a (32 bits) of the tenant and device tokens
/// written one after the other, modulo `n` (as nats-server computes it).
pub fn partition_of(tenant: &Id, device: &Id, n: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in tenant.as_str().bytes().chain(device.as_str().bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % n.max(1)
}

/// Splits `vigie.api.{scope}.{verb}`.
pub fn parse_api(subject: &str) -> Option<(&str, &str)> {
    let mut it = subject.split('.');
    match (it.next(), it.next(), it.next(), it.next(), it.next()) {
        (Some("vigie"), Some("api"), Some(scope), Some(verb), None) => Some((scope, verb)),
        _ => None,
    }
}

/// The longest subject vigie publishes to or answers at.
pub const MAX_LEN: usize = 512;

/// True when a subject is publishable: non-empty tokens, no wildcards, no
/// white space or control characters.
pub fn is_valid(subject: &str) -> bool {
    !subject.is_empty()
        && subject.split('.').all(|t| {
            !t.is_empty()
                && t != "*"
                && t != ">"
                && !t.contains(|c: char| c.is_whitespace() || c.is_control())
        })
}

/// NATS wildcard matching: `*` matches one token, a final `>` one or more.
pub fn matches(pattern: &str, subject: &str) -> bool {
    // The common filter `prefix.>`: a prefix test, no tokenising.
    if let Some(prefix) = pattern.strip_suffix(">")
        && !prefix.contains('*')
        && !prefix.contains('>')
    {
        return subject.len() > prefix.len() && subject.starts_with(prefix);
    }
    let mut p = pattern.split('.');
    let mut s = subject.split('.');
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("vigie.tel.*.*.*", "vigie.tel.acme.r1.heartbeat"));
        assert!(!matches("vigie.tel.*.*.*", "vigie.tel.acme.r1"));
        assert!(matches("vigie.evt.>", "vigie.evt.acme.device"));
        assert!(!matches("vigie.evt.>", "vigie.evt"));
        assert!(!matches("vigie.evt.>", "vigie.evt."));
        assert!(!matches("vigie.evt.>", "vigie.evtx.a"));
        assert!(matches("vigie.*.>", "vigie.evt.a"));
        assert!(matches("vigie.api.acme.fleet", "vigie.api.acme.fleet"));
        assert!(!matches("vigie.api.acme.fleet", "vigie.api.acme.fleets"));
    }

    #[test]
    fn parse_subjects() {
        let t = parse_telemetry("vigie.tel.acme.r1.metrics");
        assert_eq!(
            t,
            Some(TelemetrySubject {
                tenant: "acme",
                device: "r1",
                kind: "metrics"
            })
        );
        assert_eq!(parse_telemetry("vigie.tel.acme.r1"), None);
        assert_eq!(
            parse_telemetry("vigie.tel.acme.r1.metrics.3"),
            t,
            "partitioned"
        );
        assert_eq!(parse_telemetry("vigie.tel.acme.r1.metrics.x"), None);
        assert_eq!(parse_telemetry("vigie.tel.acme.r1.metrics.3.4"), None);
        assert_eq!(
            parse_api("vigie.api._all.snapshot"),
            Some(("_all", "snapshot"))
        );
    }

    #[test]
    fn validity() {
        assert!(is_valid("vigie.tel.a.b.c"));
        assert!(!is_valid("vigie..x"));
        assert!(!is_valid("vigie.*"));
        assert!(!is_valid(""));
        assert!(!is_valid("vigie.a\u{0}b"));
    }

    #[test]
    fn answers_go_only_under_the_inbox_prefix() {
        use crate::bus::{ReplyTo, reply_allowed};
        let at = |s: &str| ReplyTo::Subject(s.to_string());
        for (prefix, reply, ok) in [
            ("_INBOX", "_INBOX.abc.1", true),
            ("_INBOX.", "_INBOX.abc.1", true),
            ("_INBOX", "_INBOX.console-acme.x.1", true),
            ("_INBOX.console-acme", "_INBOX.console-acme.x.1", true),
            ("_INBOX.console-acme", "_INBOX.console-beta.x.1", false),
            ("_INBOX", "_INBOX", false),
            ("_INBOX", "_INBOX.", false),
            ("_INBOX", "_INBOXES.abc", false),
            ("_INBOX", "_INBOX.*", false),
            ("_INBOX", "_INBOX.>", false),
            ("_INBOX", "_INBOX.a b", false),
            ("_INBOX", "$JS.API.STREAM.PURGE.VIGIE_TELEMETRY", false),
            ("_INBOX", "vigie.tel.acme.r1.metrics", false),
            ("_INBOX", "", false),
            ("", "_INBOX.abc", false),
        ] {
            assert_eq!(
                reply_allowed(&at(reply), prefix),
                ok,
                "{prefix} / {reply:?}"
            );
        }
        let long = format!("_INBOX.{}", "x".repeat(MAX_LEN));
        assert!(!reply_allowed(&at(&long), "_INBOX"));
        assert!(reply_allowed(&ReplyTo::InProcess, "_INBOX"));
    }
}
