//! Display-safe text.
//!
//! Every string that comes from outside (device names, log lines, alert
//! summaries, config bodies) is turned into a [`SafeText`] or [`SafeBlock`]
//! once, when it is decoded. From then on it can be written to a terminal, a
//! log file or JSON output without any control sequence reaching a reader:
//!
//! * C0 controls and DEL become their visible Unicode "control picture"
//!   (ESC shows as `␛`), so an escape sequence is shown, never executed;
//! * C1 controls (U+0080–U+009F) become `�`;
//! * bidirectional overrides, embeddings, isolates and marks are removed, so
//!   text cannot be visually reordered;
//! * invisible characters (zero-width spaces and joiners, the word joiner
//!   and invisible operators, the byte-order mark, the soft hyphen, tag
//!   characters, variation selectors, blank fillers) are removed, so two
//!   names that look the same are the same;
//! * the line and paragraph separators (U+2028, U+2029) become a line feed
//!   in blocks and `␤` in a line;
//! * length is capped in characters, with a trailing `…` when cut.
//!
//! [`SafeBlock`] keeps line feeds and tabs (for config bodies); [`SafeText`]
//! is a single line.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest [`SafeText`], in characters.
pub const TEXT_CAP: usize = 512;
/// Longest [`LongText`], in characters.
pub const LONG_CAP: usize = 4_096;
/// Longest [`SafeBlock`], in characters.
pub const BLOCK_CAP: usize = 65_536;

/// Returns true for characters that reorder text visually.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Returns true for characters that take no room on screen (or look like
/// none), which would let two different strings look identical.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Sanitises `input` into display-safe text of at most `cap` characters.
pub fn sanitize(input: &str, cap: usize, multiline: bool) -> String {
    let mut out = String::with_capacity(input.len().min(cap * 4));
    let mut count = 0usize;
    for c in input.chars() {
        if count >= cap {
            out.push('…');
            return out;
        }
        let mapped = match c {
            '\n' | '\t' if multiline => Some(c),
            '\r' if multiline => None,
            '\u{0}'..='\u{1F}' => char::from_u32(0x2400 + c as u32),
            '\u{7F}' => Some('\u{2421}'),
            '\u{80}'..='\u{9F}' => Some('\u{FFFD}'),
            '\u{2028}' | '\u{2029}' if multiline => Some('\n'),
            '\u{2028}' | '\u{2029}' => Some('\u{2424}'),
            c if is_bidi_control(c) || is_invisible(c) => None,
            c => Some(c),
        };
        if let Some(m) = mapped {
            out.push(m);
            count += 1;
        }
    }
    out
}

/// True when `s` is already display-safe single-line text.
fn is_clean(s: &str, cap: usize, multiline: bool) -> bool {
    let mut n = 0usize;
    for c in s.chars() {
        n += 1;
        let bad = match c {
            '\n' | '\t' => !multiline,
            '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{2028}' | '\u{2029}' => true,
            c => is_bidi_control(c) || is_invisible(c),
        };
        if bad || n > cap {
            return false;
        }
    }
    true
}

macro_rules! safe_type {
    ($name:ident, $cap:expr, $multi:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Sanitises `s`.
            pub fn new(s: &str) -> Self {
                if is_clean(s, $cap, $multi) {
                    Self(s.to_owned())
                } else {
                    Self(sanitize(s, $cap, $multi))
                }
            }

            /// The display-safe text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::new(s)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                if is_clean(&s, $cap, $multi) {
                    Self(s)
                } else {
                    Self::new(&s)
                }
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok(Self::new(&s))
            }
        }
    };
}

safe_type!(
    SafeText,
    TEXT_CAP,
    false,
    "Single-line display-safe text, at most [`TEXT_CAP`] characters."
);
safe_type!(
    LongText,
    LONG_CAP,
    false,
    "Single-line display-safe text of at most [`LONG_CAP`] characters: the reasons and notes of the audit log, kept whole."
);

impl From<SafeText> for LongText {
    fn from(t: SafeText) -> Self {
        // Already display-safe and shorter than the cap.
        Self(t.0)
    }
}

impl From<&SafeText> for LongText {
    fn from(t: &SafeText) -> Self {
        Self(t.as_str().to_string())
    }
}

safe_type!(
    SafeBlock,
    BLOCK_CAP,
    true,
    "Multi-line display-safe text (keeps `\\n` and `\\t`), at most [`BLOCK_CAP`] characters."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible() {
        let t = SafeText::new("\u{1b}[31mred\u{1b}]0;title\u{7}");
        assert_eq!(t.as_str(), "␛[31mred␛]0;title␇");
    }

    #[test]
    fn c1_and_del_are_neutralised() {
        assert_eq!(SafeText::new("a\u{9b}2Jb\u{7f}").as_str(), "a\u{FFFD}2Jb␡");
    }

    #[test]
    fn bidi_controls_are_removed() {
        assert_eq!(
            SafeText::new("abc\u{202E}fed\u{2066}x\u{2069}").as_str(),
            "abcfedx"
        );
    }

    #[test]
    fn invisible_characters_cannot_make_two_names_look_alike() {
        let plain = SafeText::new("rtr-01");
        for hidden in [
            "\u{200B}",
            "\u{200C}",
            "\u{200D}",
            "\u{2060}",
            "\u{FEFF}",
            "\u{00AD}",
            "\u{E0041}",
            "\u{E007F}",
            "\u{2063}",
            "\u{180E}",
            "\u{3164}",
            "\u{FE0F}",
            "\u{E0100}",
        ] {
            let sneaky = SafeText::new(&format!("rtr{hidden}-01"));
            assert_eq!(
                sneaky,
                plain,
                "U+{:04X}",
                hidden.chars().next().map_or(0, u32::from)
            );
        }
        assert_eq!(SafeText::new("a\u{2028}b\u{2029}c").as_str(), "a␤b␤c");
        assert_eq!(SafeBlock::new("a\u{2028}b").as_str(), "a\nb");
    }

    #[test]
    fn newlines_depend_on_kind() {
        assert_eq!(SafeText::new("a\nb\tc").as_str(), "a␊b␉c");
        assert_eq!(SafeBlock::new("a\r\nb\tc").as_str(), "a\nb\tc");
    }

    #[test]
    fn length_is_capped() {
        let long = "x".repeat(TEXT_CAP + 10);
        let t = SafeText::new(&long);
        assert_eq!(t.as_str().chars().count(), TEXT_CAP + 1);
        assert!(t.as_str().ends_with('…'));
    }

    #[test]
    fn clean_text_is_kept_as_is() {
        assert_eq!(SafeText::new("rtr-01 Zürich ✓").as_str(), "rtr-01 Zürich ✓");
    }
}
