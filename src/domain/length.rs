//! Lengths of time as people type them: `90s`, `30m`, `2h`, `1d`.

/// Parses a length (a snooze, an enrolment code's life): `90s`, `30m`, `2h`, `1d` (a bare number is
/// minutes).
pub fn parse_length(s: &str) -> Option<u32> {
    let s = s.trim();
    let (n, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "m"),
    };
    let n: u32 = n.parse().ok()?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snooze_lengths() {
        assert_eq!(parse_length("30m"), Some(1_800));
        assert_eq!(parse_length("2h"), Some(7_200));
        assert_eq!(parse_length("1d"), Some(86_400));
        assert_eq!(parse_length("45"), Some(2_700));
        assert_eq!(parse_length("90s"), Some(90));
        assert_eq!(parse_length("soon"), None);
        assert_eq!(parse_length("5w"), None);
        assert_eq!(parse_length(""), None);
    }
}
