//! Printing results: one printer for every command, in table, json, text or csv form.
//!
//! A command returns a [`Report`]: the JSON document scripts read, plus a [`View`] saying
//! how people see it as a table, as tab-separated text or as CSV. Output never calls AWS.
//! Every value printed outside JSON goes through [`printable`](crate::printable): a control
//! character never reaches the terminal raw nor breaks a record.

use std::borrow::Cow;

use serde_json::Value;

use crate::document::Document;
use crate::{printable, rfc3339};

/// The output forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// One stable JSON document.
    Json,
    /// Tab-separated values with a header line, for awk and cut.
    Text,
    /// Comma-separated values (RFC 4180) with a header line, for spreadsheets and auditors.
    Csv,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<OutputFormat, String> {
        match s {
            "table" => Ok(OutputFormat::Table),
            "json" => Ok(OutputFormat::Json),
            "text" => Ok(OutputFormat::Text),
            "csv" => Ok(OutputFormat::Csv),
            other => Err(format!(
                "unknown output format {other:?} (allowed: table, json, text, csv)"
            )),
        }
    }
}

/// A column of a table: its header and the dotted path of the field in each record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    /// The header shown.
    pub(crate) header: &'static str,
    /// The field's path in a record: `UserName`, `Name.GivenName`, `Emails.0.Value`.
    pub(crate) path: &'static str,
}

impl Column {
    /// A column showing the field at `path` under `header`.
    pub(crate) const fn new(header: &'static str, path: &'static str) -> Column {
        Column { header, path }
    }

    /// Whether the column holds identifiers (ids, ARNs, account numbers), which a table
    /// never cuts: a cut id is useless, a cut name still reads.
    pub(crate) fn is_identifier(&self) -> bool {
        let field = self.path.rsplit('.').next().unwrap_or(self.path);
        ["Id", "Ids", "Arn"].iter().any(|end| field.ends_with(end))
            || self.header.contains("ID")
            || self.header.contains("ARN")
    }
}

/// How a report is shown as a table or text.
#[derive(Debug, Clone)]
pub(crate) enum View {
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
    /// Text awsideman generated itself (a completion script), printed exactly as it is:
    /// never data from AWS or a file.
    Generated(String),
    /// Several views one after another, each with a title.
    Sections(Vec<(String, View)>),
}

/// The JSON document of a report: values a command built, or an answer as the cache holds
/// it (printed as it is by `--output json`, parsed only for the other forms).
#[derive(Debug, Clone)]
pub(crate) enum Data {
    /// Parsed values.
    Value(Value),
    /// Checked JSON text.
    Document(Document),
}

impl Data {
    /// The values (parsing a document).
    pub(crate) fn value(&self) -> Cow<'_, Value> {
        match self {
            Data::Value(value) => Cow::Borrowed(value),
            Data::Document(document) => Cow::Owned(document.to_value()),
        }
    }
}

impl From<Value> for Data {
    fn from(value: Value) -> Data {
        Data::Value(value)
    }
}

impl From<Document> for Data {
    fn from(document: Document) -> Data {
        Data::Document(document)
    }
}

/// What a command returns.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// The JSON document printed by `--output json`.
    pub(crate) data: Data,
    /// How the document is shown as a table or text.
    pub(crate) view: View,
    /// Set when part of the work failed: the report is still printed, then this error
    /// decides the message and the exit status (a multi-account assign where some failed).
    pub(crate) failure: Option<crate::error::Error>,
}

impl Report {
    /// A report whose table form is a list of records.
    pub(crate) fn list(
        data: impl Into<Data>,
        path: &'static str,
        columns: &'static [Column],
    ) -> Report {
        Report::new(data, View::List { path, columns })
    }

    /// A report with any view.
    pub(crate) fn new(data: impl Into<Data>, view: View) -> Report {
        Report {
            data: data.into(),
            view,
            failure: None,
        }
    }

    /// The same report, marked as a partial failure.
    pub(crate) fn failed(mut self, error: crate::error::Error) -> Report {
        self.failure = Some(error);
        self
    }

    /// A report whose table form is one record.
    pub(crate) fn record(data: Value, path: &'static str, fields: &'static [Column]) -> Report {
        Report::new(data, View::Record { path, fields })
    }

    /// A report whose table form is a sentence.
    pub(crate) fn message(data: Value, message: impl Into<String>) -> Report {
        Report::new(data, View::Message(message.into()))
    }
}

/// Where output goes and how it is finished (global options that shape every printer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Terminal {
    /// stdout is a terminal: an empty table says so ("no users") instead of showing a bare
    /// header.
    pub(crate) on_terminal: bool,
    /// Text and csv leave out their header line (`--no-header`).
    pub(crate) no_header: bool,
    /// Times in local time with the offset (`--local-time`) instead of UTC.
    pub(crate) local_time: bool,
    /// Bold table headers (a terminal without `NO_COLOR`).
    pub(crate) color: bool,
    /// Indented JSON for people; scripts get compact JSON, which is the same document.
    pub(crate) pretty_json: bool,
    /// The terminal's width: tables are fitted to it (free-text columns shrink with an
    /// ellipsis; ids and ARNs are never cut). `None`: print every value whole.
    pub(crate) width: Option<usize>,
}

/// Writes a report in `format` for `terminal` to `out`. Compact JSON of a document is its
/// text as it is: a cached answer is printed without being parsed.
pub(crate) fn write(
    report: &Report,
    format: OutputFormat,
    terminal: Terminal,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    match (&report.data, format) {
        (Data::Document(document), OutputFormat::Json) if !terminal.pretty_json => {
            // One vectored write with the newline last: a line-buffered stdout then finds
            // the line end at once instead of searching the whole document for one.
            let mut parts = [
                std::io::IoSlice::new(document.as_str().as_bytes()),
                std::io::IoSlice::new(b"\n"),
            ];
            let mut left = &mut parts[..];
            while !left.is_empty() {
                match out.write_vectored(left) {
                    Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                    Ok(n) => std::io::IoSlice::advance_slices(&mut left, n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
        _ => out.write_all(render(report, format, terminal).as_bytes()),
    }
}

/// Renders a report in `format` for `terminal`.
pub(crate) fn render(report: &Report, format: OutputFormat, terminal: Terminal) -> String {
    let color = terminal.color;
    let data = report.data.value();
    let data = data.as_ref();
    let look = |style| Look {
        style,
        header: !terminal.no_header,
        local_time: terminal.local_time,
        say_empty: terminal.on_terminal,
    };
    match format {
        OutputFormat::Json => {
            let printed = if terminal.pretty_json {
                serde_json::to_string_pretty(data)
            } else {
                serde_json::to_string(data)
            };
            let mut out =
                printed.unwrap_or_else(|e| format!("{{\"error\": \"unprintable result: {e}\"}}"));
            if terminal.pretty_json {
                out = printable::json_for_terminal(out);
            }
            out.push('\n');
            out
        }
        OutputFormat::Table => render_view(
            data,
            &report.view,
            look(Style::Table {
                color,
                width: terminal.width,
            }),
        ),
        OutputFormat::Text => render_view(data, &report.view, look(Style::Text)),
        OutputFormat::Csv => render_view(data, &report.view, look(Style::Csv)),
    }
}

/// What the report's list holds when it is empty ("users", "permission sets"): for a
/// note on a terminal. `None` when the view is not a list or the list has items.
pub(crate) fn empty_list(report: &Report) -> Option<String> {
    let View::List { path, .. } = &report.view else {
        return None;
    };
    let empty = lookup(&report.data.value(), path)
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    empty.then(|| noun(path))
}

/// The words of a list's path, lower case: `PermissionSets` -> `permission sets`.
fn noun(path: &str) -> String {
    let last = path.rsplit('.').next().unwrap_or(path);
    if last.is_empty() {
        return "results".to_string();
    }
    let mut words = String::new();
    for (i, c) in last.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    words
}

#[derive(Clone, Copy)]
enum Style {
    Table { color: bool, width: Option<usize> },
    Text,
    Csv,
}

/// A style with the options every printer honours.
#[derive(Clone, Copy)]
struct Look {
    style: Style,
    /// Text and csv print their header line.
    header: bool,
    /// Times in local time.
    local_time: bool,
    /// An empty table says so.
    say_empty: bool,
}

fn render_view(data: &Value, view: &View, look: Look) -> String {
    let style = look.style;
    match view {
        View::Message(message) => format!("{}\n", printable::lines(message)),
        View::Generated(text) => format!("{text}\n"),
        View::List { path, columns } => {
            let empty = Vec::new();
            let items = lookup(data, path)
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            if items.is_empty() && look.say_empty && matches!(style, Style::Table { .. }) {
                return format!("no {}\n", noun(path));
            }
            let headers: Vec<String> = columns.iter().map(|c| c.header.to_string()).collect();
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|item| columns.iter().map(|c| cell(item, c.path, look)).collect())
                .collect();
            let fixed: Vec<bool> = columns.iter().map(Column::is_identifier).collect();
            grid(&headers, &rows, &fixed, look)
        }
        View::Record { path, fields } => {
            let record = lookup(data, path).unwrap_or(&Value::Null);
            match style {
                Style::Text | Style::Csv => {
                    let headers: Vec<String> =
                        fields.iter().map(|c| c.header.to_string()).collect();
                    let row: Vec<String> =
                        fields.iter().map(|c| cell(record, c.path, look)).collect();
                    grid(&headers, &[row], &[], look)
                }
                Style::Table { color, .. } => {
                    let width = fields
                        .iter()
                        .map(|c| c.header.chars().count())
                        .max()
                        .unwrap_or(0);
                    let mut out = String::new();
                    for field in *fields {
                        let label = format!("{}:", field.header);
                        let label = format!("{label:<w$}", w = width + 1);
                        out.push_str(&bold(&label, color));
                        out.push(' ');
                        out.push_str(&cell(record, field.path, look));
                        out.push('\n');
                    }
                    out
                }
            }
        }
        View::Sections(sections) => {
            let mut out = String::new();
            for (i, (title, view)) in sections.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                if let Style::Table { color, .. } = style {
                    out.push_str(&bold(&printable::one_line(title), color));
                    out.push('\n');
                }
                out.push_str(&render_view(data, view, look));
            }
            out
        }
    }
}

/// The narrowest a free-text column is shrunk to.
const MIN_SHRUNK: usize = 8;

/// Column widths that fit `max` (with two spaces between columns) by shrinking the widest
/// columns not marked `fixed`, one character at a time; as they were when nothing can give.
fn fit(widths: &[usize], fixed: &[bool], max: usize) -> Vec<usize> {
    let mut widths = widths.to_vec();
    let gaps = 2 * widths.len().saturating_sub(1);
    let mut total: usize = widths.iter().sum::<usize>() + gaps;
    while total > max {
        let widest = (0..widths.len())
            .filter(|&i| !fixed.get(i).copied().unwrap_or(false) && widths[i] > MIN_SHRUNK)
            .max_by_key(|&i| widths[i]);
        let Some(i) = widest else { break };
        widths[i] -= 1;
        total -= 1;
    }
    widths
}

/// `text` in at most `width` characters, cut with an ellipsis.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn grid(headers: &[String], rows: &[Vec<String>], fixed: &[bool], look: Look) -> String {
    let mut out = String::new();
    match look.style {
        Style::Text => {
            if look.header {
                out.push_str(&headers.join("\t"));
                out.push('\n');
            }
            for row in rows {
                out.push_str(&row.join("\t"));
                out.push('\n');
            }
        }
        Style::Csv => {
            let header = look.header.then_some(headers);
            for row in header.into_iter().chain(rows.iter().map(Vec::as_slice)) {
                let fields: Vec<std::borrow::Cow<'_, str>> =
                    row.iter().map(|f| csv_field(f)).collect();
                out.push_str(&fields.join(","));
                out.push_str("\r\n");
            }
        }
        Style::Table { color, width } => {
            let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
            for row in rows {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let widths = match width {
                Some(max) => fit(&widths, fixed, max),
                None => widths,
            };
            let cut = |cells: &[String]| -> Vec<String> {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| clip(c, *w))
                    .collect()
            };
            let headers = &cut(headers);
            let rows: Vec<Vec<String>> = rows.iter().map(|r| cut(r)).collect();
            let line = |cells: &[String]| {
                let mut s = String::new();
                for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                    if i + 1 == cells.len() {
                        s.push_str(c);
                    } else {
                        s.push_str(c);
                        s.push_str(&" ".repeat(w - c.chars().count() + 2));
                    }
                }
                s
            };
            let header = line(headers).to_uppercase();
            out.push_str(&bold(&header, color));
            out.push('\n');
            for row in rows {
                out.push_str(&line(&row));
                out.push('\n');
            }
        }
    }
    out
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a leading or
/// trailing space, quotes doubled. Cells never hold line breaks (see [`cell`]).
fn csv_field(field: &str) -> std::borrow::Cow<'_, str> {
    let quote = field.contains([',', '"']) || field.starts_with(' ') || field.ends_with(' ');
    if quote {
        std::borrow::Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(field)
    }
}

fn bold(text: &str, color: bool) -> String {
    if color {
        format!("\x1b[1m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Looks up a dotted path (`Name.GivenName`, `Emails.0.Value`); "" is the value itself.
pub(crate) fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, part| match v {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Whether the field at `path` holds a time (AWS's `CreatedDate`, `JoinedTimestamp`, ...).
fn is_time(path: &str) -> bool {
    let field = path.rsplit('.').next().unwrap_or(path);
    field.ends_with("Date") || field.ends_with("Timestamp")
}

fn cell(record: &Value, path: &str, look: Look) -> String {
    let missing = match look.style {
        Style::Table { .. } => "-",
        Style::Text | Style::Csv => "",
    };
    let text = match lookup(record, path) {
        None | Some(Value::Null) => return missing.to_string(),
        // AWS sends times as epoch seconds (`1796280981.309844`): people read ISO 8601.
        Some(Value::Number(n)) if is_time(path) => match n.as_f64() {
            Some(secs) if secs >= 0.0 && secs.is_finite() => {
                let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(secs);
                if look.local_time {
                    rfc3339::format_local(time)
                } else {
                    rfc3339::format_rfc3339(time)
                }
            }
            _ => n.to_string(),
        },
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    };
    if text.is_empty() {
        return missing.to_string();
    }
    printable::one_line(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COLS: &[Column] = &[
        Column::new("User name", "UserName"),
        Column::new("Email", "Emails.0.Value"),
    ];

    fn users() -> Value {
        json!({"Users": [
            {"UserName": "alice", "Emails": [{"Value": "a@x.io"}]},
            {"UserName": "bob-the-builder", "Emails": []}
        ]})
    }

    #[test]
    fn table_aligns_columns() {
        let out = render(
            &Report::list(users(), "Users", COLS),
            OutputFormat::Table,
            Terminal::default(),
        );
        assert_eq!(
            out,
            "USER NAME        EMAIL\nalice            a@x.io\nbob-the-builder  -\n"
        );
    }

    #[test]
    fn text_is_tab_separated_with_header() {
        let out = render(
            &Report::list(users(), "Users", COLS),
            OutputFormat::Text,
            Terminal::default(),
        );
        assert_eq!(out, "User name\tEmail\nalice\ta@x.io\nbob-the-builder\t\n");
    }

    #[test]
    fn no_header_leaves_out_the_header_line_of_text_and_csv_only() {
        let terminal = Terminal {
            no_header: true,
            ..Terminal::default()
        };
        let report = Report::list(users(), "Users", COLS);
        assert_eq!(
            render(&report, OutputFormat::Text, terminal),
            "alice\ta@x.io\nbob-the-builder\t\n"
        );
        assert_eq!(
            render(&report, OutputFormat::Csv, terminal),
            "alice,a@x.io\r\nbob-the-builder,\r\n"
        );
        let record = Report::record(json!({"UserName": "al"}), "", &COLS[..1]);
        assert_eq!(render(&record, OutputFormat::Text, terminal), "al\n");
        let table = render(&report, OutputFormat::Table, terminal);
        assert!(table.starts_with("USER NAME"), "{table}");
    }

    #[test]
    fn an_empty_table_says_so_on_a_terminal_only() {
        let report = Report::list(json!({"PermissionSets": []}), "PermissionSets", COLS);
        let terminal = Terminal {
            on_terminal: true,
            ..Terminal::default()
        };
        assert_eq!(
            render(&report, OutputFormat::Table, terminal),
            "no permission sets\n"
        );
        assert_eq!(
            render(&report, OutputFormat::Table, Terminal::default()),
            "USER NAME  EMAIL\n"
        );
        assert_eq!(
            render(&report, OutputFormat::Text, terminal),
            "User name\tEmail\n"
        );
        assert_eq!(empty_list(&report).as_deref(), Some("permission sets"));
        assert_eq!(
            empty_list(&Report::list(users(), "Users", COLS)),
            None,
            "a list with items"
        );
        assert_eq!(empty_list(&Report::message(json!({}), "done")), None);
    }

    #[test]
    fn csv_quotes_and_keeps_one_record_per_line() {
        let data = json!({"Users": [
            {"UserName": "a,b", "Emails": [{"Value": "say \"hi\""}]},
            {"UserName": "line\nbreak\u{1b}[2J", "Emails": []},
            {"UserName": " padded", "Emails": [{"Value": "plain"}]},
        ]});
        let out = render(
            &Report::list(data, "Users", COLS),
            OutputFormat::Csv,
            Terminal::default(),
        );
        assert_eq!(
            out,
            "User name,Email\r\n\"a,b\",\"say \"\"hi\"\"\"\r\nline break\\x1b[2J,\r\n\" padded\",plain\r\n"
        );
    }

    #[test]
    fn hostile_names_never_reach_the_terminal_raw() {
        let data = json!({"Users": [{"UserName": "x\u{1b}]52;c;b3duZWQ=\u{7}", "Emails": []}]});
        for format in [OutputFormat::Table, OutputFormat::Text, OutputFormat::Csv] {
            let out = render(
                &Report::list(data.clone(), "Users", COLS),
                format,
                Terminal::default(),
            );
            assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
            assert!(out.contains("x\\x1b]52;c;b3duZWQ=\\x07"), "{out:?}");
        }
        let message = Report::message(json!({}), "saved \u{1b}[31mred\nnext");
        let out = render(&message, OutputFormat::Table, Terminal::default());
        assert_eq!(out, "saved \\x1b[31mred\nnext\n");
    }

    #[test]
    fn tables_fit_the_terminal_without_cutting_ids() {
        const GROUP_COLUMNS: &[Column] = &[
            Column::new("Display name", "DisplayName"),
            Column::new("Description", "Description"),
            Column::new("Group ID", "GroupId"),
        ];
        let id = "906773b2c1-0ce4a1f2-3b4c-4d5e-8f90-a1b2c3d4e5f6";
        let data = json!({"Groups": [
            {"DisplayName": "x".repeat(300), "Description": "d".repeat(80), "GroupId": id},
            {"DisplayName": "admins", "Description": "Admins", "GroupId": id},
        ]});
        let report = Report::list(data, "Groups", GROUP_COLUMNS);
        let terminal = Terminal {
            width: Some(80),
            ..Terminal::default()
        };
        let out = render(&report, OutputFormat::Table, terminal);
        for line in out.lines() {
            assert!(line.chars().count() <= 80, "{line:?} is wider than 80");
        }
        assert!(out.lines().next().unwrap().contains("GROUP ID"), "{out}");
        assert_eq!(out.matches(id).count(), 2, "ids are never cut: {out}");
        assert!(out.contains("xxxxxxx…"), "{out}");
        let wide = render(&report, OutputFormat::Table, Terminal::default());
        assert!(
            wide.contains(&"x".repeat(300)),
            "no width: every value whole"
        );
    }

    #[test]
    fn times_read_as_iso_8601_outside_json() {
        const FIELDS: &[Column] = &[
            Column::new("Joined", "Account.JoinedTimestamp"),
            Column::new("Created", "CreatedDate"),
        ];
        let data = json!({"Account": {"JoinedTimestamp": 1_796_280_981.309_844}, "CreatedDate": 0});
        let out = render(
            &Report::record(data.clone(), "", FIELDS),
            OutputFormat::Text,
            Terminal::default(),
        );
        assert_eq!(
            out,
            "Joined\tCreated\n2026-12-03T06:56:21Z\t1970-01-01T00:00:00Z\n"
        );
        let json = render(
            &Report::record(data, "", FIELDS),
            OutputFormat::Json,
            Terminal::default(),
        );
        assert!(
            json.contains("1796280981.309844"),
            "JSON keeps AWS's value: {json}"
        );
    }

    #[test]
    fn json_is_the_document() {
        let out = render(
            &Report::list(users(), "Users", COLS),
            OutputFormat::Json,
            Terminal::default(),
        );
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, users());
    }

    #[test]
    fn record_and_lookup() {
        let data = json!({"User": {"UserName": "al\tice", "Name": {"GivenName": "Al"}}});
        const FIELDS: &[Column] = &[
            Column::new("User name", "UserName"),
            Column::new("Given", "Name.GivenName"),
        ];
        let out = render(
            &Report::record(data, "User", FIELDS),
            OutputFormat::Table,
            Terminal::default(),
        );
        assert_eq!(out, "User name: al ice\nGiven:     Al\n");
    }
}
