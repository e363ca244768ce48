//! A small reader for the few elements awsideman needs from REST-XML replies (S3 listings and
//! errors): the text of named elements, entities decoded. Not a general XML parser: it
//! reads flat text elements, never follows a DTD or an external entity, and stops after
//! [`MAX_ELEMENTS`] matches, so a hostile reply costs at most one pass over a body the
//! HTTP layer already bounded.

/// The most elements of one name read from a reply (an S3 listing page has at most 1000).
pub(crate) const MAX_ELEMENTS: usize = 10_000;

/// The decoded text of the first `<name>` element of `xml`, if any.
pub(crate) fn first(xml: &str, name: &str) -> Option<String> {
    raw_elements(xml, name).next().map(unescape)
}

/// The raw (still escaped) inner text of every `<name>` element of `xml`, in order, up to
/// [`MAX_ELEMENTS`]. A self-closing `<name/>` is an empty element. Elements of the same
/// name must not nest (true of every element read here).
pub(crate) fn raw_elements<'a>(xml: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> {
    let mut rest = xml;
    std::iter::from_fn(move || {
        loop {
            let at = rest.find('<')?;
            rest = &rest[at + 1..];
            let Some(after) = rest.strip_prefix(name) else {
                continue;
            };
            let next = after.chars().next()?;
            if next == '/' && after[1..].starts_with('>') {
                rest = &after[2..];
                return Some("");
            }
            if next != '>' && !next.is_ascii_whitespace() {
                continue;
            }
            let open_end = after.find('>')?;
            if after[..open_end].ends_with('/') {
                rest = &after[open_end + 1..];
                return Some("");
            }
            let body = &after[open_end + 1..];
            let close = format!("</{name}>");
            let end = body.find(&close)?;
            rest = &body[end + close.len()..];
            return Some(&body[..end]);
        }
    })
    .take(MAX_ELEMENTS)
}

/// The text with the five predefined entities and numeric character references decoded;
/// anything else that looks like an entity is kept as it is.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|&end| end <= 12).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let code = match entity.strip_prefix("#x").or(entity.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => entity.strip_prefix('#').and_then(|d| d.parse().ok()),
                    };
                    code.and_then(char::from_u32)
                }
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for an element or attribute value.
#[cfg(test)]
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix/>
<KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>
<Contents><Key>a&amp;b &lt;1&gt;.bak</Key><LastModified>2026-12-04T06:00:00.000Z</LastModified><Size>10</Size></Contents>
<Contents><Key>caf&#xe9;&#233;</Key><Size>7</Size></Contents>
<NextContinuationToken>tok/en==</NextContinuationToken></ListBucketResult>"#;

    #[test]
    fn reads_the_elements_of_a_listing() {
        let contents: Vec<&str> = raw_elements(LISTING, "Contents").collect();
        assert_eq!(contents.len(), 2);
        assert_eq!(first(contents[0], "Key").as_deref(), Some("a&b <1>.bak"));
        assert_eq!(first(contents[1], "Key").as_deref(), Some("caféé"));
        assert_eq!(first(contents[1], "LastModified"), None);
        assert_eq!(first(LISTING, "IsTruncated").as_deref(), Some("true"));
        assert_eq!(first(LISTING, "Prefix").as_deref(), Some(""));
        assert_eq!(
            first(LISTING, "NextContinuationToken").as_deref(),
            Some("tok/en==")
        );
        // `<Name>` is not `<NameX>`, and a missing close ends the reading.
        assert_eq!(
            first("<NameX>no</NameX><Name>yes</Name>", "Name").as_deref(),
            Some("yes")
        );
        assert_eq!(first("<Name>never closed", "Name"), None);
    }

    #[test]
    fn entities_round_trip_and_unknown_ones_stay() {
        let text = "a&b<c>\"d'e";
        assert_eq!(unescape(&escape(text)), text);
        assert_eq!(
            unescape("&bogus; &#xD800; & &amp"),
            "&bogus; &#xD800; & &amp"
        );
    }

    #[test]
    fn a_hostile_reply_is_read_in_bounded_matches() {
        let many = "<Key>x</Key>".repeat(MAX_ELEMENTS + 5);
        assert_eq!(raw_elements(&many, "Key").count(), MAX_ELEMENTS);
    }
}
