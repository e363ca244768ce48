//! An AWS answer as compact JSON text, checked once and printed as it is.
//!
//! A cached answer is read far more often than it is used value by value: `user list -o json`
//! of a warm cache only has to print what the cache holds. A [`Document`] is that text,
//! known to be one JSON object (checked when it is made: from a parsed value, or from bytes
//! that passed a syntax check), so it can be written out without building a tree of values,
//! and parsed only when a command needs its values.
//!
//! JSON's syntax keeps control characters out of strings (they must be escaped), so printed
//! as it is a document never puts a raw escape sequence on a terminal.

use serde_json::Value;

use crate::fsutil::Contents;

/// One JSON object as compact text: `text` from `start` (a cached answer keeps the bytes
/// before it, the entry's header and request, rather than move half a megabyte to drop
/// them).
#[derive(Debug, Clone)]
pub struct Document {
    text: Text,
    start: usize,
}

/// Where a document's text is.
#[derive(Debug, Clone)]
enum Text {
    Owned(String),
    /// A cache entry file, mapped (shared by clones).
    #[cfg(unix)]
    Mapped(std::sync::Arc<crate::fsutil::MappedText>),
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Owned(text) => text,
            #[cfg(unix)]
            Text::Mapped(text) => text.as_str(),
        }
    }

    /// The text of `contents`, if it is UTF-8.
    fn of(contents: Contents) -> Result<Text, NotADocument> {
        let not_text = || NotADocument("not UTF-8".into());
        match contents {
            Contents::Read(bytes) => String::from_utf8(bytes)
                .map(Text::Owned)
                .map_err(|_| not_text()),
            #[cfg(unix)]
            Contents::Mapped(mapped) => crate::fsutil::MappedText::new(mapped)
                .map(|text| Text::Mapped(std::sync::Arc::new(text)))
                .map_err(|_| not_text()),
        }
    }
}

impl PartialEq for Document {
    fn eq(&self, other: &Document) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Document {}

/// Why bytes are not a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotADocument(pub(crate) String);

impl std::fmt::Display for NotADocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Document {
    /// The document of a parsed value; `None` unless it is an object.
    pub fn from_value(value: &Value) -> Option<Document> {
        // Serialising a `Value` cannot fail: its keys are strings and its numbers finite.
        value.is_object().then(|| Document {
            text: Text::Owned(value.to_string()),
            start: 0,
        })
    }

    /// Text that serde_json wrote for an object (the pages of a list joined as they came):
    /// right by construction, so not checked again.
    pub(crate) fn from_serialized(text: String) -> Document {
        debug_assert!(check_object(&text).is_ok(), "{text}");
        Document {
            text: Text::Owned(text),
            start: 0,
        }
    }

    /// Checks that `bytes` from `start` on are exactly one JSON object (surrounding
    /// whitespace allowed) and keeps them as they are; all of `bytes` must be UTF-8 (what
    /// comes before `start` is kept, unread). The check walks the text once without
    /// building values.
    pub(crate) fn from_bytes_at(
        bytes: impl Into<Contents>,
        start: usize,
    ) -> Result<Document, NotADocument> {
        Document::text_at(bytes.into(), start, check_object)
    }

    /// Bytes that awsideman itself stored from a document, read back from storage only this
    /// user can write, their checksum matched: kept after checking only that they are text
    /// and start with `{`, not walked as JSON again (what the cache's `Answer::Stored`
    /// means).
    pub(crate) fn from_stored_bytes_at(
        bytes: impl Into<Contents>,
        start: usize,
    ) -> Result<Document, NotADocument> {
        Document::text_at(bytes.into(), start, |rest| match rest.starts_with('{') {
            true => Ok(()),
            false => Err(NotADocument("not a JSON object".into())),
        })
    }

    /// `contents` as text whose part from `start` passes `check`.
    fn text_at(
        contents: Contents,
        start: usize,
        check: impl FnOnce(&str) -> Result<(), NotADocument>,
    ) -> Result<Document, NotADocument> {
        let text = Text::of(contents)?;
        let rest = text
            .as_str()
            .get(start..)
            .ok_or_else(|| NotADocument("starts inside a character".into()))?;
        check(rest)?;
        Ok(Document { text, start })
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        // `start` is a character boundary of `text` (checked when the document was made).
        self.text.as_str().get(self.start..).unwrap_or_default()
    }

    /// The parsed value. A document was checked when it was made, so this fails only where
    /// parsing has limits the check does not (none known): it then reads as an empty object.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.as_str()).unwrap_or_else(|_| Value::Object(Default::default()))
    }

    /// The value, consuming the document.
    pub fn into_value(self) -> Value {
        self.to_value()
    }
}

/// How deep objects and arrays may nest: as deep as the JSON parser builds values, so
/// whatever passes the check parses.
const MAX_DEPTH: usize = 127;

/// Checks that `text` is exactly one JSON object (RFC 8259, as strictly as the parser that
/// later reads it: no raw control characters in strings, valid escapes, finite
/// numbers, nesting of at most [`MAX_DEPTH`]). One pass, no values built: a large cached
/// answer is checked at a small fraction of the cost of parsing it.
fn check_object(text: &str) -> Result<(), NotADocument> {
    let fail = |what: &str, at: usize| Err(NotADocument(format!("{what} at byte {at}")));
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return Err(NotADocument("not a JSON object".into()));
    }
    // The open containers, innermost last: true for an object.
    let mut open: Vec<bool> = Vec::new();
    'value: loop {
        at = skip_whitespace(bytes, at);
        match bytes.get(at) {
            Some(b'{') | Some(b'[') => {
                let object = bytes[at] == b'{';
                if open.len() == MAX_DEPTH {
                    return fail("nesting too deep", at);
                }
                open.push(object);
                at = skip_whitespace(bytes, at + 1);
                let close = if object { b'}' } else { b']' };
                if bytes.get(at) == Some(&close) {
                    open.pop();
                    at += 1;
                } else if object {
                    at = key(bytes, at)?;
                    continue 'value;
                } else {
                    continue 'value;
                }
            }
            Some(b'"') => at = string(bytes, at)?,
            Some(b't') => at = literal(bytes, at, b"true")?,
            Some(b'f') => at = literal(bytes, at, b"false")?,
            Some(b'n') => at = literal(bytes, at, b"null")?,
            Some(b'-' | b'0'..=b'9') => at = number(bytes, at)?,
            _ => return fail("expected a value", at),
        }
        // After a value: a comma and the next one, or the end of containers.
        loop {
            at = skip_whitespace(bytes, at);
            let Some(&object) = open.last() else {
                return if at == bytes.len() {
                    Ok(())
                } else {
                    fail("text after the document", at)
                };
            };
            match (object, bytes.get(at)) {
                (true, Some(b',')) => {
                    at = key(bytes, skip_whitespace(bytes, at + 1))?;
                    continue 'value;
                }
                (false, Some(b',')) => {
                    at += 1;
                    continue 'value;
                }
                (true, Some(b'}')) | (false, Some(b']')) => {
                    open.pop();
                    at += 1;
                }
                _ => return fail("expected , or the end of a container", at),
            }
        }
    }
}

#[inline(always)]
fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(at) {
        at += 1;
    }
    at
}

/// An object key and its colon; returns where its value starts.
#[inline(always)]
fn key(bytes: &[u8], at: usize) -> Result<usize, NotADocument> {
    if bytes.get(at) != Some(&b'"') {
        return Err(NotADocument(format!("expected a key at byte {at}")));
    }
    let at = skip_whitespace(bytes, string(bytes, at)?);
    if bytes.get(at) != Some(&b':') {
        return Err(NotADocument(format!("expected : at byte {at}")));
    }
    Ok(at + 1)
}

/// A string starting at its opening quote; returns the position after its closing quote.
#[inline(always)]
fn string(bytes: &[u8], start: usize) -> Result<usize, NotADocument> {
    let bad = |what: &str, at: usize| NotADocument(format!("{what} at byte {at}"));
    let mut at = start + 1;
    loop {
        at = plain_run(bytes, at);
        match bytes.get(at) {
            Some(b'"') => return Ok(at + 1),
            Some(b'\\') => match bytes.get(at + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at += 2,
                Some(b'u') => {
                    let unit = hex4(bytes, at + 2).ok_or_else(|| bad("bad \\u escape", at))?;
                    at += 6;
                    match unit {
                        0xD800..=0xDBFF => {
                            let low = (bytes.get(at..at + 2) == Some(b"\\u"))
                                .then(|| hex4(bytes, at + 2))
                                .flatten();
                            match low {
                                Some(0xDC00..=0xDFFF) => at += 6,
                                _ => return Err(bad("lone surrogate", at)),
                            }
                        }
                        0xDC00..=0xDFFF => return Err(bad("lone surrogate", at)),
                        _ => {}
                    }
                }
                _ => return Err(bad("bad escape", at)),
            },
            Some(_) => return Err(bad("control character in a string", at)),
            None => return Err(bad("unterminated string", start)),
        }
    }
}

/// Skips plain string characters (anything but a quote, a backslash or a control
/// character) from `at`, eight bytes a step while none of them is special.
#[inline(always)]
fn plain_run(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A high bit for each byte that is zero (exact for the lowest such byte, which is all
    // that matters: the scan stops at the first word with any).
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let special = zero_bytes(x ^ (ONES * u64::from(b'"')))
            | zero_bytes(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGHS);
        if special != 0 {
            break;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        at += 1;
    }
    at
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

#[inline(always)]
fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Result<usize, NotADocument> {
    if bytes.get(at..).is_some_and(|rest| rest.starts_with(word)) {
        Ok(at + word.len())
    } else {
        Err(NotADocument(format!("expected a value at byte {at}")))
    }
}

/// A number (`-? int frac? exp?`); a value the parser could not hold (out of the range of
/// a 64-bit float) is refused as the parser would refuse it.
fn number(bytes: &[u8], start: usize) -> Result<usize, NotADocument> {
    let bad = || NotADocument(format!("bad number at byte {start}"));
    let digits = |mut at: usize| {
        let first = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        (at > first).then_some(at)
    };
    let mut at = start;
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    at = match bytes.get(at) {
        Some(b'0') => at + 1,
        Some(b'1'..=b'9') => digits(at).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let mut float = false;
    if bytes.get(at) == Some(&b'.') {
        at = digits(at + 1).ok_or_else(bad)?;
        float = true;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        at = digits(at).ok_or_else(bad)?;
        float = true;
    }
    // Integers that fit 64 bits are exact; anything else becomes a float, which must be finite.
    if float || at - start > 18 {
        let text = std::str::from_utf8(&bytes[start..at]).map_err(|_| bad())?;
        let fits = text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok();
        if !fits && !text.parse::<f64>().is_ok_and(f64::is_finite) {
            return Err(bad());
        }
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_text(text: String) -> Result<Document, NotADocument> {
        Document::from_bytes_at(text.into_bytes(), 0)
    }
    use serde_json::json;

    #[test]
    fn a_document_can_start_inside_its_buffer() {
        let doc = Document::from_bytes_at(b"{\"v\":3}\n[1]\n{\"a\":1}".to_vec(), 12).unwrap();
        assert_eq!(doc.as_str(), "{\"a\":1}");
        assert_eq!(doc, from_text("{\"a\":1}".into()).unwrap());
        assert_eq!(doc.to_value(), serde_json::json!({"a": 1}));
        // What comes before is not checked as JSON, but it must be text, and the start
        // must fall between characters.
        assert!(Document::from_bytes_at(b"not json\n{}".to_vec(), 9).is_ok());
        assert!(Document::from_bytes_at(b"\xff\n{}".to_vec(), 2).is_err());
        assert!(Document::from_bytes_at("é{}".as_bytes().to_vec(), 1).is_err());
        assert!(Document::from_bytes_at(b"{}\n{".to_vec(), 3).is_err());
    }

    #[test]
    fn a_value_prints_as_compact_json() {
        let value = json!({"Users": [{"UserName": "a\u{1b}b", "Id": 1}], "NextToken": null});
        let doc = Document::from_value(&value).unwrap();
        assert_eq!(doc.as_str(), serde_json::to_string(&value).unwrap());
        assert_eq!(doc.to_value(), value);
        assert!(
            doc.as_str().contains("\\u001b"),
            "control characters stay escaped"
        );
    }

    #[test]
    fn only_objects_are_documents() {
        assert!(Document::from_value(&json!([1])).is_none());
        for bad in [
            "",
            "[]",
            "1",
            "\"x\"",
            "null",
            "{",
            "{} {}",
            "{\"a\":1,}",
            "{\"a\":\"\u{1b}\"}",
        ] {
            assert!(from_text(bad.into()).is_err(), "{bad:?} accepted");
        }
        assert!(Document::from_bytes_at(vec![b'{', 0xff, b'}'], 0).is_err());
        let doc = from_text(" {\"a\": [1, 2]}\n".into()).unwrap();
        assert_eq!(doc.to_value(), json!({"a": [1, 2]}));
    }

    #[test]
    fn plain_runs_stop_at_the_first_special_byte() {
        for special in [b'"', b'\\', 0x00, 0x1f, 0x0a] {
            for filler in [b'a', 0x20, 0x7f, 0xc3, 0xff, b'!', b'#', b'[', b']'] {
                for at in 0..40 {
                    let mut bytes = vec![filler; 48];
                    bytes[at] = special;
                    assert_eq!(plain_run(&bytes, 0), at, "{special:#x} after {filler:#x}");
                    assert_eq!(plain_run(&bytes, at), at);
                }
                assert_eq!(plain_run(&[filler; 21], 0), 21);
            }
        }
    }

    fn parser_accepts(text: &str) -> bool {
        serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object())
    }

    #[test]
    fn nesting_is_bounded_exactly_as_the_parser_bounds_it() {
        for depth in 100..140 {
            let text = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
            let checked = from_text(text.clone()).is_ok();
            assert_eq!(checked, parser_accepts(&text), "depth {depth}");
        }
    }

    #[test]
    fn numbers_strings_and_literals_as_the_parser_reads_them() {
        let long = format!(r#"{{"n":{}}}"#, "9".repeat(400));
        let cases = [
            r#"{"n":0}"#,
            r#"{"n":-0}"#,
            r#"{"n":01}"#,
            r#"{"n":-}"#,
            r#"{"n":1.}"#,
            r#"{"n":.5}"#,
            r#"{"n":1e5}"#,
            r#"{"n":1E+5}"#,
            r#"{"n":1e}"#,
            r#"{"n":1e400}"#,
            r#"{"n":-1e400}"#,
            r#"{"n":1e-400}"#,
            r#"{"n":18446744073709551615}"#,
            r#"{"n":18446744073709551616}"#,
            r#"{"n":-9223372036854775808}"#,
            r#"{"n":-9223372036854775809}"#,
            long.as_str(),
            r#"{"s":"\u00e9\n\"\\\/\b\f\r\t"}"#,
            r#"{"s":"\x"}"#,
            r#"{"s":"\u12"}"#,
            r#"{"s":"\ud83d\ude00"}"#,
            r#"{"s":"\ud83d"}"#,
            r#"{"s":"\ude00"}"#,
            r#"{"s":"\ud83dx"}"#,
            r#"{"s":"\ud83d\u0041"}"#,
            "{\"s\":\"a\tb\"}",
            r#"{"t":true,"f":false,"z":null}"#,
            r#"{"t":tru}"#,
            r#"{"t":nul}"#,
            r#"{"a":[1,2,]}"#,
            r#"{"a":[,1]}"#,
            r#"{"a" 1}"#,
            r#"{1:1}"#,
            r#"{"a":1"b":2}"#,
            r#" { "a" : [ 1 , { } , [ ] ] } "#,
            r#"{"a":1}x"#,
            r#"{"a":1}}"#,
            r#"{}"#,
        ];
        for case in cases {
            assert_eq!(
                from_text(case.to_string()).is_ok(),
                parser_accepts(case),
                "{case}"
            );
        }
    }

    /// Damaged documents: whatever the check accepts, the parser reads, and what the parser
    /// reads the check accepts.
    #[test]
    fn the_check_agrees_with_the_parser_on_damaged_text() {
        let original = serde_json::to_string(&json!({
            "Users": [{"UserName": "a\u{e9}\u{1b}\"\\b", "N": -12.5e3, "Ok": true,
                       "Emails": [{"Value": "x@y", "Primary": null}], "Big": 12345678901234567890u64}],
            "NextToken": null
        }))
        .unwrap();
        let pieces = b"{}[],:\"\\ u0123456789abcdefABCDEF-+.eEtrunlfas \n\x01\x7f";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for _ in 0..20_000 {
            let mut bytes = original.clone().into_bytes();
            for _ in 0..1 + next(3) {
                let at = next(bytes.len());
                match next(3) {
                    0 => bytes[at] = pieces[next(pieces.len())],
                    1 => bytes.insert(at, pieces[next(pieces.len())]),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            assert_eq!(
                from_text(text.clone()).is_ok(),
                parser_accepts(&text),
                "{text}"
            );
        }
    }
}
