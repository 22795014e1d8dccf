//! Identifiers that travel in bus subjects and database keys.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest identifier, in bytes.
pub const ID_MAX: usize = 64;

/// Why a string is not an [`Id`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("identifier is empty")]
    Empty,
    #[error("identifier is longer than {ID_MAX} bytes")]
    TooLong,
    #[error("identifier may only hold ASCII letters, digits, '-' and '_' (found {0:?})")]
    BadChar(char),
}

/// A tenant, site, sector or device identifier: 1–64 ASCII letters, digits,
/// `-` or `_`. These rules make every id a valid NATS subject token (no `.`,
/// `*`, `>` or white space) and a plain SQL key. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(Arc<str>);

impl Id {
    /// An id written in this crate's code (a constant). Such ids are
    /// checked by the tests of the module that declares them, so an
    /// invalid one is a bug found on the first test run, never input.
    #[allow(clippy::expect_used)]
    pub fn from_static(s: &'static str) -> Self {
        Self::parse(s).expect("an id constant of this crate is valid")
    }

    /// Checks and wraps `s`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > ID_MAX {
            return Err(IdError::TooLong);
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(IdError::BadChar(c));
        }
        Ok(Self(Arc::from(s)))
    }

    /// The identifier text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The shared text, cheap to hand to a database driver.
    pub fn arc(&self) -> Arc<str> {
        Arc::clone(&self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", &self.0)
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Id {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Id::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_subject_safe_tokens() {
        for ok in ["acme", "rtr-01", "AP_7", "a"] {
            assert!(Id::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        assert_eq!(Id::parse(""), Err(IdError::Empty));
        assert_eq!(Id::parse(&"a".repeat(65)), Err(IdError::TooLong));
        for (bad, c) in [
            ("a.b", '.'),
            ("a*", '*'),
            ("a>", '>'),
            ("a b", ' '),
            ("é", 'é'),
        ] {
            assert_eq!(Id::parse(bad), Err(IdError::BadChar(c)));
        }
    }
}
