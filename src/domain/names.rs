//! The names of unit enum variants as serde writes them: one spelling for
//! the wire, the database, the keymap files and the screen.

use serde::Serialize;

/// The serde name of a unit enum variant (`Tier::Starter` → `starter`).
pub fn enum_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Parses a serde name back into a unit enum variant.
pub fn enum_parse<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}
