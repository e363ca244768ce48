//! Secrets inside text shown to people: the user-info of a URL (`http://user:SECRET@host`,
//! or `user:SECRET@host` as an HTTP library prints an address) is replaced by `***`
//! wherever it appears in a message. An email address (`alice@example.com`) is left alone.

/// `text` with the user-info of every URL or address in it replaced by `***`.
pub(crate) fn userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (token, tail) = rest.split_at(end);
        out.push_str(&token_without_userinfo(token));
        let spaces = tail.len() - tail.trim_start().len();
        out.push_str(&tail[..spaces]);
        rest = &tail[spaces..];
    }
    out
}

/// One whitespace-free token with its user-info (if it holds an address) replaced.
fn token_without_userinfo(token: &str) -> String {
    let (start, has_scheme) = match token.find("://") {
        Some(i) => (i + 3, true),
        None => (
            token
                .find(|c: char| c.is_ascii_alphanumeric())
                .unwrap_or(token.len()),
            false,
        ),
    };
    let authority_end = token[start..]
        .find(['/', '?', '#'])
        .map_or(token.len(), |i| start + i);
    let Some(at) = token[start..authority_end].rfind('@') else {
        return token.to_string();
    };
    let info = &token[start..start + at];
    if info.is_empty() || !(has_scheme || info.contains(':')) {
        return token.to_string();
    }
    format!("{}***{}", &token[..start], &token[start + at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_masked_and_the_rest_kept() {
        let cases = [
            ("http://user:SECRET@host:5000/x", "http://***@host:5000/x"),
            ("https://TOKEN@proxy.example", "https://***@proxy.example"),
            (
                "identitystore ListUsers: user:SECRET@127.0.0.1:1: io: refused",
                "identitystore ListUsers: ***@127.0.0.1:1: io: refused",
            ),
            ("(proxy http://u:p@h:3128)", "(proxy http://***@h:3128)"),
            ("mail alice@example.com now", "mail alice@example.com now"),
            ("arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x"),
            ("no address here", "no address here"),
            ("http://host/path@x", "http://host/path@x"),
        ];
        for (text, want) in cases {
            assert_eq!(userinfo(text), want, "{text}");
        }
    }
}
