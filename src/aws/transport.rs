//! The one AWS caller: sign, send, retry, map errors. Every AWS request of awsideman,
//! including the cache's DynamoDB and KMS calls and the credential chain's STS calls, goes
//! through [`Transport`].
//!
//! It knows nothing of caching, commands or output.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::endpoint::Endpoint;
use super::http::{HttpClient, HttpRequest, HttpResponse, HttpSettings};
use super::keys::Credentials;
use super::ratelimit::RateLimiter;
use super::retry::{self, FailureClass, RetryPolicy, RetryQuota};
use super::service::Service;
use super::sigv4;
use crate::error::{Error, Result};

/// Settings of the transport, resolved once from config and environment.
#[derive(Debug, Clone)]
pub struct TransportSettings {
    /// Connection settings of the HTTP agent.
    pub http: HttpSettings,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// Requests per second allowed to Identity Center (identitystore + sso-admin together).
    pub identity_center_rps: f64,
    /// Print one line per HTTP request on stderr.
    pub debug: bool,
}

impl Default for TransportSettings {
    fn default() -> TransportSettings {
        TransportSettings {
            http: HttpSettings::default(),
            retry: RetryPolicy::default(),
            identity_center_rps: 20.0,
            debug: false,
        }
    }
}

/// What a request is, for logs, errors and pacing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallLabel<'a> {
    /// The service called.
    pub(crate) service: Service,
    /// The operation name (`ListUsers`), or a short description for non-API requests.
    pub(crate) operation: &'a str,
}

/// The shared AWS caller. Cheap to share by reference across threads.
pub struct Transport {
    /// Built on the first request: a command answered from the cache builds no HTTP agent
    /// and no TLS configuration.
    http: OnceLock<HttpClient>,
    settings: TransportSettings,
    quota: RetryQuota,
    identity_center: RateLimiter,
}

impl Transport {
    /// The transport; its HTTP agent is built when the first request is sent.
    pub fn new(settings: TransportSettings) -> Transport {
        Transport {
            http: OnceLock::new(),
            identity_center: RateLimiter::new(settings.identity_center_rps),
            quota: RetryQuota::default(),
            settings,
        }
    }

    /// The underlying agent, for single unretried requests (IMDS probes), built on first
    /// use (a CA bundle that cannot be read is an error then).
    pub(crate) fn http(&self) -> Result<&HttpClient> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let built = HttpClient::new(&self.settings.http)?;
        Ok(self.http.get_or_init(|| built))
    }

    /// Prints a debug line on stderr when `--debug` is on. Never pass secrets.
    pub(crate) fn debug(&self, line: impl FnOnce() -> String) {
        if self.settings.debug {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "awsideman: debug: {}", line());
        }
    }

    /// Sends the request `build` makes (afresh for each attempt, so it is signed anew),
    /// retrying throttling, transient errors and connection failures per the retry policy.
    ///
    /// Returns the last response, successful or not; an error only when no response came.
    /// `error_code` extracts the AWS error code from a failed response for classification.
    pub(crate) fn send(
        &self,
        label: CallLabel<'_>,
        build: &dyn Fn() -> Result<HttpRequest>,
        error_code: fn(&HttpResponse) -> Option<String>,
    ) -> Result<HttpResponse> {
        let max_attempts = self.settings.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            if label.service.is_identity_center() {
                self.identity_center.acquire();
            }
            let request = build()?;
            let started = Instant::now();
            let outcome = self.http()?.send(&request);
            let elapsed = started.elapsed();
            let (class, retry_after, failure) = match &outcome {
                Ok(response) if response.is_success() => {
                    self.log(label, &response.status.to_string(), attempt, elapsed);
                    self.quota.success();
                    if label.service.is_identity_center() {
                        self.identity_center.succeeded();
                    }
                    return outcome.map_err(|_| unreachable_error());
                }
                Ok(response) => {
                    let code = error_code(response);
                    self.log(
                        label,
                        &format!("{} {}", response.status, code.as_deref().unwrap_or("")),
                        attempt,
                        elapsed,
                    );
                    (
                        retry::classify(response.status, code.as_deref()),
                        retry_after(response),
                        None,
                    )
                }
                Err(e) => {
                    self.log(label, "no response", attempt, elapsed);
                    let class = if e.timed_out {
                        FailureClass::Timeout
                    } else {
                        FailureClass::Transient
                    };
                    (class, None, Some(e.message.clone()))
                }
            };
            if class == FailureClass::Throttling && label.service.is_identity_center() {
                self.identity_center.throttled();
            }
            let give_up = class == FailureClass::Fatal
                || attempt >= max_attempts
                || !self.quota.acquire(class);
            if give_up {
                return match (outcome, failure) {
                    (Ok(response), _) => Ok(response),
                    (Err(_), Some(message)) => Err(Error::runtime(format!(
                        "{} {}: {message} (after {attempt} attempt{})",
                        label.service.name(),
                        label.operation,
                        if attempt == 1 { "" } else { "s" }
                    ))),
                    (Err(_), None) => Err(unreachable_error()),
                };
            }
            let delay = self
                .settings
                .retry
                .backoff(attempt, class, retry::jitter(), retry_after);
            self.debug(|| {
                format!(
                    "{} {}: retrying in {} ms ({class:?})",
                    label.service.name(),
                    label.operation,
                    delay.as_millis()
                )
            });
            std::thread::sleep(delay);
        }
    }

    /// Calls a JSON-protocol operation and returns its parsed reply.
    ///
    /// Errors read `"<service> <Operation>: <ErrorCode>: <message>"`.
    pub(crate) fn call_json(
        &self,
        service: Service,
        operation: &str,
        endpoint: &Endpoint,
        credentials: &Credentials,
        input: &Value,
    ) -> Result<Value> {
        let prefix = service.target_prefix().ok_or_else(|| {
            Error::runtime(format!("{} is not a JSON-protocol service", service.name()))
        })?;
        let body = serde_json::to_vec(input)
            .map_err(|e| Error::runtime(format!("encoding {operation} request: {e}")))?;
        let url = format!("{}/", endpoint.url);
        let target = format!("{prefix}.{operation}");
        let build = || {
            let mut request = HttpRequest::new("POST", url.as_str())
                .header("content-type", service.json_content_type())
                .header("x-amz-target", target.as_str())
                .body(body.clone());
            sigv4::sign_request(
                &mut request,
                credentials,
                service.signing_name(),
                &endpoint.signing_region,
                SystemTime::now(),
            )?;
            Ok(request)
        };
        let label = CallLabel { service, operation };
        let response = self.send(label, &build, json_error_code)?;
        if !response.is_success() {
            return Err(json_error(label, &response));
        }
        if response.body.is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&response.body).map_err(|e| {
            Error::runtime(format!(
                "{} {operation}: unreadable reply ({e})",
                service.name()
            ))
        })
    }

    /// Calls a REST-protocol operation (S3): `request`'s method, path, query, headers and
    /// body sent to `endpoint` (with `request.host_label` put before its host), signed,
    /// retried and paced like every other call. Returns the successful response.
    ///
    /// Errors read `"<service> <Operation>: <Code>: <Message>"` from the XML error body.
    pub(crate) fn call_rest(
        &self,
        service: Service,
        operation: &str,
        endpoint: &Endpoint,
        credentials: &Credentials,
        request: &RestRequest,
    ) -> Result<HttpResponse> {
        let url = request.url(&endpoint.url)?;
        let build = || {
            let mut http =
                HttpRequest::new(request.method, url.as_str()).body(request.body.clone());
            for (name, value) in &request.headers {
                http = http.header(name.as_str(), value.as_str());
            }
            sigv4::sign_request(
                &mut http,
                credentials,
                service.signing_name(),
                &endpoint.signing_region,
                SystemTime::now(),
            )?;
            Ok(http)
        };
        let label = CallLabel { service, operation };
        let response = self.send(label, &build, xml_error_code)?;
        if !response.is_success() {
            return Err(xml_error(label, &response));
        }
        Ok(response)
    }

    fn log(&self, label: CallLabel<'_>, status: &str, attempt: u32, elapsed: Duration) {
        self.debug(|| {
            format!(
                "{} {} status={} attempt={attempt} ms={}",
                label.service.name(),
                label.operation,
                status.trim(),
                elapsed.as_millis()
            )
        });
    }
}

/// A request of a REST-protocol service, beside the JSON one: method, path below the
/// endpoint, query parameters, headers and body bytes.
#[derive(Debug, Clone)]
pub(crate) struct RestRequest {
    /// `GET`, `PUT`, `DELETE`, ...
    pub(crate) method: &'static str,
    /// A label put before the endpoint's host (an S3 bucket, virtual-hosted), if any.
    pub(crate) host_label: Option<String>,
    /// The path segments below the endpoint URL, unencoded (each is percent-encoded once;
    /// a segment may hold `/`, which is kept).
    pub(crate) path: Vec<String>,
    /// Query parameters, unencoded.
    pub(crate) query: Vec<(String, String)>,
    /// Headers besides `host` and the signature's.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: Vec<u8>,
}

/// What percent-encoding leaves alone in a path or query value: the unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl RestRequest {
    /// A request with no label, path, query, headers or body.
    pub(crate) fn new(method: &'static str) -> RestRequest {
        RestRequest {
            method,
            host_label: None,
            path: Vec::new(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The full URL below `base` (`scheme://host[:port][/base path]`): the host label
    /// prepended, each path segment and query value encoded once, parameters sorted.
    fn url(&self, base: &str) -> Result<String> {
        let mut url = match &self.host_label {
            None => base.to_string(),
            Some(label) => {
                let (scheme, rest) = base
                    .split_once("://")
                    .ok_or_else(|| Error::runtime(format!("endpoint {base:?} has no scheme")))?;
                format!("{scheme}://{label}.{rest}")
            }
        };
        url.push('/');
        let encode =
            |text: &str| percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string();
        let segments: Vec<String> = self
            .path
            .iter()
            .map(|segment| {
                segment
                    .split('/')
                    .map(&encode)
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect();
        url.push_str(&segments.join("/"));
        if !self.query.is_empty() {
            let mut pairs: Vec<String> = self
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            pairs.sort();
            url.push('?');
            url.push_str(&pairs.join("&"));
        }
        Ok(url)
    }
}

/// The error code of a REST-XML error reply (`<Error><Code>...</Code>`), or of an empty
/// one by its status (`HEAD`, `503 SlowDown` without a body).
pub(crate) fn xml_error_code(response: &HttpResponse) -> Option<String> {
    let body = String::from_utf8_lossy(&response.body);
    super::xml::first(&body, "Code").filter(|c| !c.is_empty())
}

/// Turns a failed REST-XML reply into an [`Error`] naming service, operation and code.
pub(crate) fn xml_error(label: CallLabel<'_>, response: &HttpResponse) -> Error {
    let body = String::from_utf8_lossy(&response.body);
    let prefix = format!("{} {}", label.service.name(), label.operation);
    let code = xml_error_code(response).unwrap_or_else(|| format!("Http{}", response.status));
    match super::xml::first(&body, "Message").filter(|m| !m.is_empty()) {
        Some(message) => Error::aws(
            format!("{prefix}: {code}: {message}"),
            code,
            response.status,
        ),
        None => Error::aws(format!("{prefix}: {code}"), code, response.status),
    }
}

fn unreachable_error() -> Error {
    Error::runtime("internal error: response lost")
}

/// How long the server asked us to wait: `RetryAfterSeconds` in a JSON body,
/// `x-amz-retry-after` (milliseconds) or `Retry-After` (seconds).
fn retry_after(response: &HttpResponse) -> Option<Duration> {
    if let Some(ms) = response
        .header("x-amz-retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_millis(ms));
    }
    if let Some(s) = response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(s));
    }
    let body: Value = serde_json::from_slice(&response.body).ok()?;
    body.get("RetryAfterSeconds")
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
}

/// The error code of a JSON-protocol error reply: the `X-Amzn-ErrorType` header or the
/// body's `__type` / `code`, with any `namespace#` prefix and `:uri` suffix removed.
pub(crate) fn json_error_code(response: &HttpResponse) -> Option<String> {
    let raw = response
        .header("x-amzn-errortype")
        .map(str::to_string)
        .or_else(|| {
            let body: Value = serde_json::from_slice(&response.body).ok()?;
            body.get("__type")
                .or_else(|| body.get("code"))
                .or_else(|| body.get("Code"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })?;
    let code = raw.split(':').next().unwrap_or(&raw);
    let code = code.rsplit('#').next().unwrap_or(code).trim();
    (!code.is_empty()).then(|| code.to_string())
}

/// Turns a failed JSON-protocol reply into an [`Error`] naming service, operation and code.
pub(crate) fn json_error(label: CallLabel<'_>, response: &HttpResponse) -> Error {
    let code = json_error_code(response);
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let message = body
        .as_ref()
        .and_then(|b| b.get("message").or_else(|| b.get("Message")))
        .and_then(Value::as_str)
        .map(str::to_string);
    let prefix = format!("{} {}", label.service.name(), label.operation);
    match (code, message) {
        (Some(code), Some(message)) => Error::aws(
            format!("{prefix}: {code}: {message}"),
            code,
            response.status,
        ),
        (Some(code), None) => Error::aws(format!("{prefix}: {code}"), code, response.status),
        (None, _) => Error::aws(
            format!(
                "{prefix}: HTTP {} without an AWS error{}",
                response.status,
                if body.is_none() && !response.body.is_empty() {
                    " (the endpoint returned a non-AWS page; is the operation supported there?)"
                } else {
                    ""
                }
            ),
            format!("Http{}", response.status),
            response.status,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    const LABEL: CallLabel<'static> = CallLabel {
        service: Service::IdentityStore,
        operation: "DescribeUser",
    };

    #[test]
    fn error_codes_in_every_spelling() {
        let r = response(
            400,
            &[],
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no"}"#,
        );
        assert_eq!(
            json_error_code(&r).as_deref(),
            Some("ResourceNotFoundException")
        );
        let r = response(
            400,
            &[("x-amzn-errortype", "ThrottlingException:http://internal")],
            "{}",
        );
        assert_eq!(json_error_code(&r).as_deref(), Some("ThrottlingException"));
        let r = response(
            400,
            &[],
            r#"{"__type":"ValidationException","Message":"bad"}"#,
        );
        let e = json_error(LABEL, &r);
        assert_eq!(
            e.to_string(),
            "identitystore DescribeUser: ValidationException: bad"
        );
        assert_eq!(e.aws_code(), Some("ValidationException"));
    }

    #[test]
    fn html_500_is_a_clear_error() {
        let r = response(
            500,
            &[],
            "<!doctype html><title>500 Internal Server Error</title>",
        );
        let e = json_error(LABEL, &r);
        assert!(
            e.to_string()
                .starts_with("identitystore DescribeUser: HTTP 500")
        );
        assert!(e.to_string().contains("non-AWS page"));
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn rest_urls_encode_once_and_sort_the_query() {
        let mut r = RestRequest::new("GET");
        r.path = vec!["bucket".into(), "a b/c+d".into()];
        r.query = vec![
            ("prefix".into(), "x/y z".into()),
            ("list-type".into(), "2".into()),
        ];
        assert_eq!(
            r.url("http://127.0.0.1:5000").unwrap(),
            "http://127.0.0.1:5000/bucket/a%20b/c%2Bd?list-type=2&prefix=x%2Fy%20z"
        );
        r.host_label = Some("bucket".into());
        r.path = vec![];
        assert_eq!(
            r.url("https://s3.eu-west-1.amazonaws.com").unwrap(),
            "https://bucket.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=x%2Fy%20z"
        );
    }

    #[test]
    fn xml_errors_name_code_and_message() {
        let r = response(
            404,
            &[],
            "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The key &amp; more</Message></Error>",
        );
        let label = CallLabel {
            service: Service::S3,
            operation: "GetObject",
        };
        let e = xml_error(label, &r);
        assert_eq!(e.to_string(), "s3 GetObject: NoSuchKey: The key & more");
        assert_eq!(e.aws_code(), Some("NoSuchKey"));
        let e = xml_error(label, &response(503, &[], ""));
        assert_eq!(e.to_string(), "s3 GetObject: Http503");
    }

    #[test]
    fn retry_after_sources() {
        let r = response(
            400,
            &[],
            r#"{"__type":"ThrottlingException","RetryAfterSeconds":2}"#,
        );
        assert_eq!(retry_after(&r), Some(Duration::from_secs(2)));
        let r = response(429, &[("x-amz-retry-after", "1500")], "");
        assert_eq!(retry_after(&r), Some(Duration::from_millis(1500)));
        let r = response(503, &[("retry-after", "3")], "");
        assert_eq!(retry_after(&r), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&response(500, &[], "")), None);
    }
}
