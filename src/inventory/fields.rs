//! One field of an inventory item, checked: each helper returns the value
//! or records an error naming the line and the field.

use super::{Errors, FileError};
use crate::domain::model::DeviceKind;
use crate::domain::text::TEXT_CAP;
use crate::domain::{Id, SafeText};

/// A device's heartbeat interval when the file gives none, in seconds.
pub const DEFAULT_HEARTBEAT_S: u32 = 60;

/// Bounds of a heartbeat interval, in seconds.
pub const HEARTBEAT_S: (u32, u32) = (5, 86_400);

/// Checks one item's fields, recording what is wrong in `errors`.
pub struct Fields<'a> {
    pub line: usize,
    pub errors: &'a mut Errors,
}

impl Fields<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FileError::new(self.line, field, message));
    }

    /// An identifier (a tenant's may not start with `_`).
    pub fn id(&mut self, field: &str, value: &str) -> Option<Id> {
        let value = value.trim();
        if value.is_empty() {
            self.fail(field, "is missing");
            return None;
        }
        if field == "tenant" && value.starts_with('_') {
            self.fail(
                field,
                format!("{value:?}: ids starting with '_' are reserved"),
            );
            return None;
        }
        match Id::parse(value) {
            Ok(id) => Some(id),
            Err(e) => {
                self.fail(field, format!("{value:?}: {e}"));
                None
            }
        }
    }

    /// An optional identifier: empty is none.
    pub fn opt_id(&mut self, field: &str, value: Option<&str>) -> Option<Option<Id>> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Some(None),
            Some(v) => self.id(field, v).map(Some),
        }
    }

    /// Display text of at most [`TEXT_CAP`] characters, with no control
    /// or invisible characters; `required` refuses an empty one.
    pub fn text(&mut self, field: &str, value: &str, required: bool) -> Option<SafeText> {
        let value = value.trim();
        if required && value.is_empty() {
            self.fail(field, "is missing");
            return None;
        }
        if value.chars().count() > TEXT_CAP {
            self.fail(field, format!("is longer than {TEXT_CAP} characters"));
            return None;
        }
        let safe = SafeText::new(value);
        if safe.as_str() != value {
            self.fail(
                field,
                format!("{value:?} holds control or invisible characters"),
            );
            return None;
        }
        Some(safe)
    }

    /// A number within `lo..=hi`.
    pub fn number(&mut self, field: &str, value: f64, lo: f64, hi: f64) -> Option<f64> {
        if !value.is_finite() || value < lo || value > hi {
            self.fail(field, format!("{value} is not between {lo} and {hi}"));
            return None;
        }
        Some(value)
    }

    /// A number written as text (CSV), within `lo..=hi`.
    pub fn number_text(&mut self, field: &str, value: &str, lo: f64, hi: f64) -> Option<f64> {
        let value = value.trim();
        match value.parse::<f64>() {
            Ok(n) => self.number(field, n, lo, hi),
            Err(_) if value.is_empty() => {
                self.fail(field, "is missing");
                None
            }
            Err(_) => {
                self.fail(field, format!("{value:?} is not a number"));
                None
            }
        }
    }

    /// A whole number within `lo..=hi`.
    pub fn whole(&mut self, field: &str, value: i64, lo: u32, hi: u32) -> Option<u32> {
        match u32::try_from(value) {
            Ok(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                self.fail(
                    field,
                    format!("{value} is not a whole number from {lo} to {hi}"),
                );
                None
            }
        }
    }

    /// A whole number written as text (CSV); empty gives `default`.
    pub fn whole_text(
        &mut self,
        field: &str,
        value: Option<&str>,
        lo: u32,
        hi: u32,
        default: u32,
    ) -> Option<u32> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Some(default);
        };
        match value.parse::<i64>() {
            Ok(n) => self.whole(field, n, lo, hi),
            Err(_) => {
                self.fail(field, format!("{value:?} is not a whole number"));
                None
            }
        }
    }

    /// A device kind by its name.
    pub fn kind(&mut self, field: &str, value: &str) -> Option<DeviceKind> {
        let value = value.trim();
        let found = DeviceKind::parse(value).or_else(|| {
            DeviceKind::ALL
                .into_iter()
                .find(|k| k.label() == value && value != "agent")
        });
        if found.is_none() {
            let known: Vec<&str> = DeviceKind::ALL.iter().map(|k| k.as_str()).collect();
            self.fail(
                field,
                format!("{value:?} is not a device kind: {}", known.join(", ")),
            );
        }
        found
    }
}

/// Latitude bounds.
pub const LAT: (f64, f64) = (-90.0, 90.0);
/// Longitude bounds.
pub const LON: (f64, f64) = (-180.0, 180.0);
/// Azimuth bounds, in degrees.
pub const AZIMUTH: (u32, u32) = (0, 359);
