//! Settings, themes and keymaps.
//!
//! Precedence, lowest first: the defaults built into the binary
//! (`config/vigie.toml`), the user file (`--config FILE`, else
//! `$VIGIE_CONFIG_DIR/vigie.toml`, else the platform config directory),
//! `VIGIE_<SECTION>_<KEY>` environment variables, then command-line flags.
//! An unknown key or a bad value is an error naming the file (or variable),
//! the line and the key.

pub mod config;
pub mod depth;
pub mod keymap;
pub mod keys;
pub mod nats;
pub mod paths;
pub mod secret;
pub mod theme;

pub use config::{ColorMode, ConfigError, Settings};
pub use keymap::KeyMap;
pub use paths::Paths;
pub use theme::Theme;

/// Line (1-based) of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset.min(text.len()))
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
