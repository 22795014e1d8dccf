//! docs/PROTOCOL.md against the api's verb table (`src/api/verbs.rs`):
//! every verb is documented with its request and answer, under the role
//! it needs, and the document names no verb the api does not have.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use vigie::api::verbs::VERBS;
use vigie::domain::access::Role;

fn protocol() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROTOCOL.md")).unwrap()
}

/// The `code` spans of a piece of Markdown that look like a verb's name.
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            !t.is_empty()
                && t.starts_with(|c: char| c.is_ascii_lowercase())
                && t.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

/// The rows of the table whose header row is `header`, as cells.
fn table(doc: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = doc.lines().skip_while(|l| l.trim() != header).skip(2);
    let mut rows = Vec::new();
    for line in lines.by_ref() {
        let Some(inner) = line.trim().strip_prefix('|') else {
            break;
        };
        rows.push(
            inner
                .trim_end_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect(),
        );
    }
    assert!(
        !rows.is_empty(),
        "no table headed {header:?} in PROTOCOL.md"
    );
    rows
}

#[test]
fn every_verb_is_documented_with_its_request_and_answer() {
    let doc = protocol();
    let documented: BTreeSet<String> = table(&doc, "| verb | request | answer |")
        .iter()
        .flat_map(|row| names(&row[0]))
        .collect();
    let api: BTreeSet<String> = VERBS.iter().map(|v| v.name.to_string()).collect();
    assert_eq!(
        documented, api,
        "PROTOCOL.md's verb table and src/api/verbs.rs disagree"
    );
}

#[test]
fn every_verb_is_listed_under_the_role_it_needs() {
    let doc = protocol();
    let mut listed: BTreeMap<String, Role> = BTreeMap::new();
    for row in table(&doc, "| role | may also |") {
        let role = Role::parse(row[0].trim_matches('`')).expect("a role name");
        for name in names(&row[1]) {
            if Role::parse(&name).is_none() {
                assert!(
                    listed.insert(name.clone(), role).is_none(),
                    "{name} listed twice"
                );
            }
        }
    }
    let needs: BTreeMap<String, Role> = VERBS
        .iter()
        .filter_map(|v| Some((v.name.to_string(), v.need?)))
        .collect();
    assert_eq!(
        listed, needs,
        "PROTOCOL.md's role table and src/api/verbs.rs disagree"
    );
}
