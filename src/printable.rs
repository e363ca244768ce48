//! Text from AWS, files or the command line made safe to print: a control character never
//! reaches a terminal raw (no retitled window, cleared screen or written clipboard) and never
//! breaks a line-based record.
//!
//! Control characters (C0, DEL, C1) are shown as `\x1b`, bidirectional-formatting characters
//! (which reorder what a terminal shows) as `\u{202e}`; tab, newline and carriage return
//! become a space where one line is wanted.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` is shown as an escape rather than printed.
fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// The characters that change the display order of the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape_into(out: &mut String, c: char) {
    let code = c as u32;
    if code < 0x100 {
        let _ = write!(out, "\\x{code:02x}");
    } else {
        let _ = write!(out, "\\u{{{code:04x}}}");
    }
}

/// `text` on one line: tab, newline and carriage return become a space, other control and
/// bidirectional characters are escaped.
pub(crate) fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if needs_escape(c) => escape_into(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` with its line breaks kept: other control and bidirectional characters are escaped
/// (a carriage return too: it would overwrite the line).
pub(crate) fn lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            c if needs_escape(c) => escape_into(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The longest error or warning printed, in characters: a hostile or broken endpoint's
/// message never floods the terminal.
pub(crate) const MAX_MESSAGE: usize = 2000;

/// A message (an error, a warning) as one line of at most `max` characters: escaped as
/// [`one_line`], then cut with a note of how much was left out.
pub(crate) fn message(text: &str, max: usize) -> Cow<'_, str> {
    let line = one_line(text);
    let count = line.chars().count();
    if count <= max {
        return line;
    }
    let kept: String = line.chars().take(max).collect();
    Cow::Owned(format!("{kept}... ({} more characters)", count - max))
}

/// JSON text for a terminal: serde_json already escapes C0 controls, so this escapes what it
/// leaves raw (DEL, C1 controls, bidirectional characters) as `\uXXXX`, which is the same
/// JSON document.
pub(crate) fn json_for_terminal(json: String) -> String {
    if !json.chars().any(needs_escape_in_json) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_escape_in_json(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters serde_json prints raw that a terminal would act on (newlines and tabs in
/// pretty JSON are layout, never inside strings).
fn needs_escape_in_json(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t' | '\r' | ' ')) || is_bidi_control(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_sent() {
        let hostile = "a\u{1b}]0;owned\u{7}b\u{1b}[2Jc\u{8}\u{0}d\u{9b}e";
        assert_eq!(
            one_line(hostile),
            "a\\x1b]0;owned\\x07b\\x1b[2Jc\\x08\\x00d\\x9be"
        );
        assert_eq!(one_line("tab\there\nnext\rline"), "tab here next line");
        assert_eq!(lines("one\ntwo\r\u{1b}"), "one\ntwo\\x0d\\x1b");
        assert_eq!(one_line("admin\u{202e}txt.exe"), "admin\\u{202e}txt.exe");
        assert!(matches!(one_line("plain Ünïcode ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn messages_are_one_short_line() {
        let long = "x".repeat(5000) + "\n\u{1b}";
        let shown = message(&long, 100);
        assert!(shown.starts_with(&"x".repeat(100)));
        assert!(shown.ends_with("... (4905 more characters)"), "{shown}");
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}'));
        assert_eq!(message("short", 100), "short");
    }

    #[test]
    fn terminal_json_stays_the_same_document() {
        let value = serde_json::json!({"name": "a\u{9b}b\u{202e}c\u{1b}", "n": 1});
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let safe = json_for_terminal(pretty);
        assert!(!safe.contains('\u{9b}') && !safe.contains('\u{202e}'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }
}
