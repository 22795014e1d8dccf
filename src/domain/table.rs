//! Rows as files people open: a JSON array, JSON lines, or CSV (RFC 4180,
//! nested objects flattened to `parent.child` columns, formulas defused).
//! One set of writers for `vigie dump` and the console's `:export`.

use std::fmt::Write as _;

use serde_json::Value;

/// The formats rows are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    /// One JSON object a line.
    Jsonl,
    Csv,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Json, Format::Jsonl, Format::Csv];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }

    /// `rows` written in this format.
    pub fn write(self, rows: &[Value]) -> String {
        match self {
            Format::Json => to_json(rows) + "\n",
            Format::Jsonl => to_jsonl(rows),
            Format::Csv => to_csv(rows),
        }
    }
}

/// The rows as JSON lines.
pub fn to_jsonl(rows: &[Value]) -> String {
    let mut out = String::new();
    for r in rows {
        out.push_str(&r.to_string());
        out.push('\n');
    }
    out
}

/// The rows as a pretty JSON array.
pub fn to_json(rows: &[Value]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into())
}

/// Flattens nested objects into `parent.child` columns.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// One CSV cell (RFC 4180 quoting). Text that a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@` first) is prefixed with `'`: device names
/// come from customers' networks.
fn cell(v: &Value) -> String {
    let text = match v {
        Value::Null => return String::new(),
        Value::String(s) => {
            if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{s}")
            } else {
                s.clone()
            }
        }
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The rows as CSV with a header; columns in the first row's order (JSON
/// fields sorted by name), then any new ones.
pub fn to_csv(rows: &[Value]) -> String {
    let flat: Vec<Vec<(String, Value)>> = rows
        .iter()
        .map(|r| {
            let mut out = Vec::new();
            flatten("", r, &mut out);
            out
        })
        .collect();
    let mut columns: Vec<String> = Vec::new();
    for row in &flat {
        for (name, _) in row {
            if !columns.contains(name) {
                columns.push(name.clone());
            }
        }
    }
    let mut out = columns
        .iter()
        .map(|c| cell(&Value::String(c.clone())))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for row in &flat {
        let line = columns
            .iter()
            .map(|c| {
                row.iter()
                    .find(|(n, _)| n == c)
                    .map_or(String::new(), |(_, v)| cell(v))
            })
            .collect::<Vec<_>>()
            .join(",");
        let _ = write!(out, "{line}\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonl_is_one_object_a_line() {
        let rows = vec![json!({"a": "x\ny"}), json!({"b": 2})];
        assert_eq!(to_jsonl(&rows), "{\"a\":\"x\\ny\"}\n{\"b\":2}\n");
        assert_eq!(Format::parse("jsonl"), Some(Format::Jsonl));
        assert_eq!(Format::parse("xml"), None);
    }

    #[test]
    fn csv_flattens_quotes_and_defuses_formulas() {
        let rows = vec![
            json!({"name": "=HYPERLINK(\"x\")", "site": {"id": "lyon", "n": 3}, "signal": -61.5}),
            json!({"name": "plain, with comma", "site": {"id": "nice", "n": 1}, "extra": ["a", "b"]}),
        ];
        let csv = to_csv(&rows);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        // Columns in the first row's order (fields sorted by name), then new ones.
        assert_eq!(lines[0], "name,signal,site.id,site.n,extra");
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"x\"\")\",-61.5,lyon,3,");
        assert_eq!(lines[2], "\"plain, with comma\",,nice,1,a;b");
        assert_eq!(lines[3], "");
        assert_eq!(to_csv(&[]), "\r\n");
        assert!(to_json(&rows).starts_with("[\n"));
    }
}
