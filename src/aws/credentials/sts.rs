//! AWS STS calls of the credential chain: `AssumeRole` (SigV4-signed),
//! `AssumeRoleWithWebIdentity` (unsigned) and `GetCallerIdentity` (who temporary keys
//! belong to), over the Query protocol with XML replies.

use std::time::SystemTime;

use super::Credentials;
use crate::aws::endpoint::Endpoint;
use crate::aws::http::{HttpRequest, HttpResponse};
use crate::aws::service::Service;
use crate::aws::sigv4;
use crate::aws::transport::{CallLabel, Transport};
use crate::error::{Error, Result};
use crate::rfc3339::parse_rfc3339;

const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
const VERSION: &str = "2011-06-15";

/// The parameters of an `AssumeRole` call. Not `Debug`: it may hold an MFA code.
pub(crate) struct AssumeRole<'a> {
    /// The role to assume.
    pub(crate) role_arn: &'a str,
    /// `RoleSessionName`.
    pub(crate) session_name: &'a str,
    /// `ExternalId`, if the role's trust policy requires one.
    pub(crate) external_id: Option<&'a str>,
    /// `DurationSeconds`, if not the role's default.
    pub(crate) duration_seconds: Option<u32>,
    /// `SerialNumber` and `TokenCode` of the MFA device.
    pub(crate) mfa: Option<(&'a str, &'a str)>,
}

/// The parameters of an `AssumeRoleWithWebIdentity` call. Not `Debug`: it holds the token.
pub(crate) struct AssumeRoleWithWebIdentity<'a> {
    /// The role to assume.
    pub(crate) role_arn: &'a str,
    /// `RoleSessionName`.
    pub(crate) session_name: &'a str,
    /// The OIDC token.
    pub(crate) token: &'a str,
    /// `DurationSeconds`, if not the role's default.
    pub(crate) duration_seconds: Option<u32>,
}

/// Calls `AssumeRole` with `source` credentials.
pub(crate) fn assume_role(
    transport: &Transport,
    endpoint: &Endpoint,
    source: &Credentials,
    call: &AssumeRole<'_>,
) -> Result<Credentials> {
    let duration = call.duration_seconds.map(|d| d.to_string());
    let mut params = vec![
        ("Action", "AssumeRole"),
        ("Version", VERSION),
        ("RoleArn", call.role_arn),
        ("RoleSessionName", call.session_name),
    ];
    if let Some(external_id) = call.external_id {
        params.push(("ExternalId", external_id));
    }
    if let Some(duration) = &duration {
        params.push(("DurationSeconds", duration));
    }
    if let Some((serial, code)) = call.mfa {
        params.push(("SerialNumber", serial));
        params.push(("TokenCode", code));
    }
    let body = form_body(&params);
    let build = || signed_form_request(endpoint, source, &body);
    call_sts(transport, "AssumeRole", &build)
}

/// A form-encoded STS POST of `body` to `endpoint`, signed with `credentials`.
fn signed_form_request(
    endpoint: &Endpoint,
    credentials: &Credentials,
    body: &str,
) -> Result<HttpRequest> {
    let mut request = HttpRequest::new("POST", format!("{}/", endpoint.url))
        .header("content-type", CONTENT_TYPE)
        .body(body.as_bytes().to_vec());
    sigv4::sign_request(
        &mut request,
        credentials,
        Service::Sts.signing_name(),
        &endpoint.signing_region,
        SystemTime::now(),
    )?;
    Ok(request)
}

/// Calls `AssumeRoleWithWebIdentity`, which AWS accepts unsigned.
pub(crate) fn assume_role_with_web_identity(
    transport: &Transport,
    endpoint: &Endpoint,
    call: &AssumeRoleWithWebIdentity<'_>,
) -> Result<Credentials> {
    let duration = call.duration_seconds.map(|d| d.to_string());
    let mut params = vec![
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", VERSION),
        ("RoleArn", call.role_arn),
        ("RoleSessionName", call.session_name),
        ("WebIdentityToken", call.token),
    ];
    if let Some(duration) = &duration {
        params.push(("DurationSeconds", duration));
    }
    let body = form_body(&params);
    let url = format!("{}/", endpoint.url);
    let build = || {
        Ok(HttpRequest::new("POST", url.as_str())
            .header("content-type", CONTENT_TYPE)
            .body(body.clone().into_bytes()))
    };
    call_sts(transport, "AssumeRoleWithWebIdentity", &build)
}

/// Calls `GetCallerIdentity` with `credentials` and returns the caller's ARN.
pub(crate) fn get_caller_identity(
    transport: &Transport,
    endpoint: &Endpoint,
    credentials: &Credentials,
) -> Result<String> {
    const OPERATION: &str = "GetCallerIdentity";
    let body = form_body(&[("Action", OPERATION), ("Version", VERSION)]);
    let build = || signed_form_request(endpoint, credentials, &body);
    let label = CallLabel {
        service: Service::Sts,
        operation: OPERATION,
    };
    let response = transport.send(label, &build, xml_error_code)?;
    if !response.is_success() {
        return Err(error_from_response(OPERATION, &response));
    }
    let xml = String::from_utf8_lossy(&response.body);
    xml_element(&xml, "GetCallerIdentityResult")
        .and_then(|result| xml_text(result, "Arn"))
        .filter(|arn| arn.starts_with("arn:"))
        .ok_or_else(|| Error::runtime("sts GetCallerIdentity: unreadable reply (no Arn)"))
}

fn call_sts(
    transport: &Transport,
    operation: &str,
    build: &dyn Fn() -> Result<HttpRequest>,
) -> Result<Credentials> {
    let label = CallLabel {
        service: Service::Sts,
        operation,
    };
    let response = transport.send(label, build, xml_error_code)?;
    if !response.is_success() {
        return Err(error_from_response(operation, &response));
    }
    parse_credentials(operation, &String::from_utf8_lossy(&response.body))
}

/// Reads the `<Credentials>` of an STS `...Result`.
pub(crate) fn parse_credentials(operation: &str, xml: &str) -> Result<Credentials> {
    let unreadable =
        |what: &str| Error::runtime(format!("sts {operation}: unreadable reply ({what})"));
    let block = xml_element(xml, "Credentials").ok_or_else(|| unreadable("no Credentials"))?;
    let field = |name: &str| {
        xml_text(block, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| unreadable(&format!("no {name}")))
    };
    let mut credentials = Credentials::new(
        field("AccessKeyId")?,
        field("SecretAccessKey")?,
        Some(field("SessionToken")?),
    );
    let expiration = field("Expiration")?;
    credentials.expires_at =
        Some(parse_rfc3339(&expiration).ok_or_else(|| unreadable("bad Expiration"))?);
    Ok(credentials)
}

/// The `<Code>` of an STS XML error reply.
pub(crate) fn xml_error_code(response: &HttpResponse) -> Option<String> {
    let body = String::from_utf8_lossy(&response.body);
    let error = xml_element(&body, "Error")?;
    xml_text(error, "Code").filter(|c| !c.is_empty())
}

/// Turns a failed STS reply into `sts <Operation>: <Code>: <Message>`.
pub(crate) fn error_from_response(operation: &str, response: &HttpResponse) -> Error {
    let body = String::from_utf8_lossy(&response.body);
    let error = xml_element(&body, "Error");
    let code = error
        .and_then(|e| xml_text(e, "Code"))
        .filter(|c| !c.is_empty());
    let message = error
        .and_then(|e| xml_text(e, "Message"))
        .filter(|m| !m.is_empty());
    match (code, message) {
        (Some(code), Some(message)) => Error::aws(
            format!("sts {operation}: {code}: {message}"),
            code,
            response.status,
        ),
        (Some(code), None) => Error::aws(format!("sts {operation}: {code}"), code, response.status),
        (None, _) => Error::aws(
            format!(
                "sts {operation}: HTTP {} without an AWS error",
                response.status
            ),
            format!("Http{}", response.status),
            response.status,
        ),
    }
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`).
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes per RFC 3986: everything but `A-Z a-z 0-9 - _ . ~`.
pub(crate) fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

/// A form-encoded body from name/value pairs.
pub(crate) fn form_body(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The raw content of the first element called `name` (`<name>` or `<name attr..>`).
pub(crate) fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut from = 0;
    while let Some(found) = xml[from..].find(&open) {
        let start = from + found + open.len();
        let rest = &xml[start..];
        match rest.chars().next() {
            Some('>') => {
                let content = &rest[1..];
                return content.find(&close).map(|end| &content[..end]);
            }
            Some(c) if c.is_whitespace() => {
                let tag_end = rest.find('>')?;
                if rest[..tag_end].ends_with('/') {
                    return Some("");
                }
                let content = &rest[tag_end + 1..];
                return content.find(&close).map(|end| &content[..end]);
            }
            Some('/') => return rest.starts_with("/>").then_some(""),
            _ => from = start,
        }
    }
    None
}

/// The unescaped text of the first element called `name`.
pub(crate) fn xml_text(xml: &str, name: &str) -> Option<String> {
    xml_element(xml, name).map(|raw| unescape(raw.trim()))
}

/// Replaces the five predefined XML entities and numeric character references.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let Some(semi) = after.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let entity = &after[1..semi];
        let replacement = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(|n| n.ok())
                .and_then(char::from_u32),
        };
        match replacement {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::credentials::test_support::{Fixture, transport};
    use std::time::{Duration, UNIX_EPOCH};

    const REPLY: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>x</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/demo/s</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:s</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>IQoJb3JpZ2luX2VjEOz&amp;token+/=</SessionToken>
      <Expiration>2026-11-24T21:00:00Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;

    const ERROR: &str = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole on &quot;role&quot; &lt;x&gt;</Message>
  </Error>
  <RequestId>4a5b</RequestId>
</ErrorResponse>"#;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn parses_credentials() {
        let c = parse_credentials("AssumeRole", REPLY).unwrap();
        assert_eq!(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(
            c.secret_access_key,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
        );
        assert_eq!(
            c.session_token.as_deref(),
            Some("IQoJb3JpZ2luX2VjEOz&token+/=")
        );
        assert_eq!(
            c.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_795_554_000))
        );
        let e = parse_credentials("AssumeRole", "<x/>").unwrap_err();
        assert_eq!(
            e.to_string(),
            "sts AssumeRole: unreadable reply (no Credentials)"
        );
        let missing = REPLY
            .replace("<SessionToken>", "<Other>")
            .replace("</SessionToken>", "</Other>");
        assert!(parse_credentials("AssumeRole", &missing).is_err());
    }

    #[test]
    fn parses_errors() {
        let r = response(403, ERROR);
        assert_eq!(xml_error_code(&r).as_deref(), Some("AccessDenied"));
        let e = error_from_response("AssumeRole", &r);
        assert_eq!(
            e.to_string(),
            "sts AssumeRole: AccessDenied: User: arn:aws:iam::1:user/x is not authorized to \
             perform: sts:AssumeRole on \"role\" <x>"
        );
        assert_eq!(e.aws_code(), Some("AccessDenied"));
        assert_eq!(e.http_status(), Some(403));
        let html = response(500, "<html><title>500</title></html>");
        assert_eq!(xml_error_code(&html), None);
        assert_eq!(
            error_from_response("AssumeRole", &html).to_string(),
            "sts AssumeRole: HTTP 500 without an AWS error"
        );
    }

    #[test]
    fn xml_helpers() {
        assert_eq!(xml_element("<a><b>1</b></a>", "b"), Some("1"));
        assert_eq!(xml_element("<bb>2</bb><b>1</b>", "b"), Some("1"));
        assert_eq!(xml_element("<b x=\"y\">3</b>", "b"), Some("3"));
        assert_eq!(xml_element("<b/>", "b"), Some(""));
        assert_eq!(xml_element("<b>", "b"), None);
        assert_eq!(
            unescape("a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;&bogus;&"),
            "a&b<>\"'AB&bogus;&"
        );
    }

    #[test]
    fn form_encoding_is_rfc3986() {
        assert_eq!(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(
            percent_encode("arn:aws:iam::1:role/x y+z*é"),
            "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx%20y%2Bz%2A%C3%A9"
        );
        assert_eq!(form_body(&[("A", "1"), ("B", "x=y&z")]), "A=1&B=x%3Dy%26z");
    }

    #[test]
    fn assume_role_against_a_fixture() {
        let fixture = Fixture::serve(|r| {
            if r.body
                .contains("RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fdenied")
            {
                (403, "text/xml", ERROR.to_string())
            } else {
                (200, "text/xml", REPLY.to_string())
            }
        });
        let endpoint = Endpoint {
            url: fixture.url.clone(),
            signing_region: "eu-west-1".into(),
        };
        let source = Credentials::new("AKIDSOURCE", "secret", None);
        let t = transport();
        let call = AssumeRole {
            role_arn: "arn:aws:iam::1:role/x",
            session_name: "awsideman-1",
            external_id: Some("ext id"),
            duration_seconds: Some(900),
            mfa: Some(("arn:aws:iam::1:mfa/u", "123456")),
        };
        let c = assume_role(&t, &endpoint, &source, &call).unwrap();
        assert_eq!(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        let seen = &fixture.requests()[0];
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.path, "/");
        assert_eq!(seen.header("content-type"), Some(CONTENT_TYPE));
        assert_eq!(
            seen.body,
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&\
             RoleSessionName=awsideman-1&ExternalId=ext%20id&DurationSeconds=900&\
             SerialNumber=arn%3Aaws%3Aiam%3A%3A1%3Amfa%2Fu&TokenCode=123456"
        );
        let auth = seen.header("authorization").unwrap();
        assert!(auth.contains("Credential=AKIDSOURCE/"), "{auth}");
        assert!(auth.contains("/eu-west-1/sts/aws4_request"), "{auth}");

        let denied = AssumeRole {
            role_arn: "arn:aws:iam::1:role/denied",
            session_name: "s",
            external_id: None,
            duration_seconds: None,
            mfa: None,
        };
        let e = assume_role(&t, &endpoint, &source, &denied).unwrap_err();
        assert!(
            e.to_string().starts_with("sts AssumeRole: AccessDenied: "),
            "{e}"
        );
        assert_eq!(fixture.requests().len(), 2, "AccessDenied is not retried");
    }

    #[test]
    fn web_identity_is_unsigned() {
        let reply = REPLY.replace("AssumeRoleResult", "AssumeRoleWithWebIdentityResult");
        let fixture = Fixture::serve(move |_| (200, "text/xml", reply.clone()));
        let endpoint = Endpoint {
            url: fixture.url.clone(),
            signing_region: "us-east-1".into(),
        };
        let call = AssumeRoleWithWebIdentity {
            role_arn: "arn:aws:iam::1:role/web",
            session_name: "s",
            token: "eyJ.tok",
            duration_seconds: None,
        };
        let c = assume_role_with_web_identity(&transport(), &endpoint, &call).unwrap();
        assert_eq!(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        let seen = &fixture.requests()[0];
        assert!(seen.header("authorization").is_none());
        assert_eq!(
            seen.body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&\
             RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fweb&RoleSessionName=s&WebIdentityToken=eyJ.tok"
        );
    }
}
