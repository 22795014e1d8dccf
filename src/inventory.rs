//! Inventory files: a fleet's sites, sectors, devices and links as CSV (one
//! row per device), TOML or JSON, read with every error naming its file,
//! line and field, and written back in the same shapes. Pure: text in, an
//! inventory out; what to change in the store is [`plan`]'s.

use crate::domain::model::{Device, Link, Sector, Site};

pub mod csv;
pub mod doc;
mod fields;
pub mod plan;

/// The formats of an inventory file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One row per device: `tenant,site,site_name,lat,lon,device,device_name,kind`
    /// and optional columns.
    Csv,
    /// Arrays of tables: `[[sites]]`, `[[sectors]]`, `[[devices]]`, `[[links]]`.
    Toml,
    /// An object of arrays: `sites`, `sectors`, `devices`, `links`.
    Json,
}

impl Format {
    /// The format a file's name says (`.csv`, `.toml`, `.json`).
    pub fn of_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "toml" => Some(Self::Toml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Largest inventory file read, in bytes (2,000 devices take about 200 KB).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// Most items (rows, or sites + sectors + devices + links) in one file.
pub const MAX_ITEMS: usize = 200_000;

/// Most errors reported for one file; the rest are counted.
pub const MAX_ERRORS: usize = 100;

/// What is wrong with a file, where: line 0 means the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl FileError {
    pub fn new(line: usize, field: &str, message: impl Into<String>) -> Self {
        Self {
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// `FILE:LINE: FIELD: MESSAGE`.
    pub fn show(&self, file: &str) -> String {
        match (self.line, self.field.is_empty()) {
            (0, true) => format!("{file}: {}", self.message),
            (0, false) => format!("{file}: {}: {}", self.field, self.message),
            (n, true) => format!("{file}:{n}: {}", self.message),
            (n, false) => format!("{file}:{n}: {}: {}", self.field, self.message),
        }
    }
}

/// Errors of one file, the first [`MAX_ERRORS`] kept.
#[derive(Debug, Default)]
pub struct Errors {
    pub kept: Vec<FileError>,
    pub more: usize,
}

impl Errors {
    pub fn push(&mut self, e: FileError) {
        if self.kept.len() < MAX_ERRORS {
            self.kept.push(e);
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// One error per line, and how many more were found.
    pub fn show(&self, file: &str) -> String {
        let mut lines: Vec<String> = self.kept.iter().map(|e| e.show(file)).collect();
        if self.more > 0 {
            lines.push(format!("{file}: and {} more errors", self.more));
        }
        lines.join("\n")
    }

    /// Ok when nothing was found.
    pub fn into_result<T>(self, value: T) -> Result<T, Errors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

/// An item of a file, the line it starts on, and the optional fields the
/// file does not give (a stored item keeps its own values of those; a new
/// one has their defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub line: usize,
    pub item: T,
    pub unset: Vec<&'static str>,
}

/// What a file holds, each item with its line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub sites: Vec<At<Site>>,
    pub sectors: Vec<At<Sector>>,
    pub devices: Vec<At<Device>>,
    pub links: Vec<At<Link>>,
}

/// Reads `text` in `format`; `Err` lists what is wrong, by line and field.
pub fn read(text: &str, format: Format) -> Result<Parsed, Errors> {
    if text.len() > MAX_FILE_BYTES {
        let mut e = Errors::default();
        e.push(FileError::new(
            0,
            "",
            format!(
                "the file is {} bytes, more than the {MAX_FILE_BYTES} an inventory may have: split it",
                text.len()
            ),
        ));
        return Err(e);
    }
    match format {
        Format::Csv => csv::read(text),
        Format::Toml => doc::read_toml(text),
        Format::Json => doc::read_json(text),
    }
}

/// Writes `inv` in `format`. CSV holds devices with their sites and
/// sectors (sites without devices and links need TOML or JSON).
pub fn write(inv: &crate::domain::model::Inventory, format: Format) -> Result<String, String> {
    match format {
        Format::Csv => csv::write(inv),
        Format::Toml => doc::write_toml(inv),
        Format::Json => doc::write_json(inv),
    }
}
