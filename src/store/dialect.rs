//! One SQL text for both backends: queries are written with `?`
//! placeholders (SQLite's) and numbered `$1, $2, …` for PostgreSQL.

/// Replaces each `?` outside string literals and quoted names with `$n`.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0u32;
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '?') => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
                continue;
            }
            (None, _) => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn numbers_placeholders_outside_literals() {
        assert_eq!(
            numbered("SELECT ? WHERE a = '?' AND \"b?\" = ? AND c LIKE ? ESCAPE '\\'"),
            "SELECT $1 WHERE a = '?' AND \"b?\" = $2 AND c LIKE $3 ESCAPE '\\'"
        );
        assert_eq!(numbered("no params"), "no params");
        // A doubled quote inside a literal closes and reopens it: still inside.
        assert_eq!(numbered("'it''s ?' ?"), "'it''s ?' $1");
    }
}
