//! Printing results: one printer for every command, in table, json or text form.
//!
//! A command returns a [`Report`]: the JSON document scripts read, plus a [`View`] saying
//! how people see it as a table or as tab-separated text. Output never calls AWS.

use serde_json::Value;

/// The output forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// One stable JSON document.
    Json,
    /// Tab-separated values with a header line, for awk and cut.
    Text,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<OutputFormat, String> {
        match s {
            "table" => Ok(OutputFormat::Table),
            "json" => Ok(OutputFormat::Json),
            "text" => Ok(OutputFormat::Text),
            other => Err(format!("unknown output format {other:?} (allowed: table, json, text)")),
        }
    }
}

/// A column of a table: its header and the dotted path of the field in each record.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header shown.
    pub header: &'static str,
    /// The field's path in a record: `UserName`, `Name.GivenName`, `Emails.0.Value`.
    pub path: &'static str,
}

/// How a report is shown as a table or text.
#[derive(Debug, Clone)]
pub enum View {
    /// A list of records: `path` names the array inside the document ("" for the document).
    List {
        /// Where the array is.
        path: &'static str,
        /// The columns to show.
        columns: &'static [Column],
    },
    /// One record as field/value lines.
    Record {
        /// Where the record is ("" for the document).
        path: &'static str,
        /// The fields to show.
        fields: &'static [Column],
    },
    /// A sentence for people (the JSON document carries the data).
    Message(String),
    /// Several views one after another, each with a title.
    Sections(Vec<(String, View)>),
}

/// What a command returns.
#[derive(Debug, Clone)]
pub struct Report {
    /// The JSON document printed by `--output json`.
    pub data: Value,
    /// How the document is shown as a table or text.
    pub view: View,
}
