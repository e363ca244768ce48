//! One pooled HTTP agent and the plain request/response values every AWS call goes through.
//!
//! This module sends bytes; it knows nothing of signing, retries, AWS errors or caching.

use std::time::Duration;

use crate::error::{Error, Result};

/// The largest response body accepted (a page of AWS results is far smaller).
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// An HTTP request about to be sent.
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    /// `GET`, `POST`, `PUT`, ...
    pub(crate) method: &'static str,
    /// The full URL, exactly as it was signed.
    pub(crate) url: String,
    /// Headers other than `host` (the URL's authority is sent as `host`).
    pub(crate) headers: Vec<(String, String)>,
    /// The body (empty for `GET`).
    pub(crate) body: Vec<u8>,
    /// A timeout for this request alone, replacing the agent's global one (IMDS uses 1 s).
    pub(crate) timeout: Option<Duration>,
}

impl HttpRequest {
    /// A request with no headers, no body and the agent's timeouts.
    pub(crate) fn new(method: &'static str, url: impl Into<String>) -> HttpRequest {
        HttpRequest {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
        }
    }

    /// Adds a header.
    pub(crate) fn header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> HttpRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub(crate) fn body(mut self, body: Vec<u8>) -> HttpRequest {
        self.body = body;
        self
    }

    /// Sets a per-request timeout.
    pub(crate) fn timeout(mut self, timeout: Duration) -> HttpRequest {
        self.timeout = Some(timeout);
        self
    }
}

/// A received HTTP response, whatever its status.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    /// The HTTP status code.
    pub(crate) status: u16,
    /// Response headers, names in lower case.
    pub(crate) headers: Vec<(String, String)>,
    /// The whole body.
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    /// The first header called `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// How the agent connects: timeouts and trusted roots.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Time allowed to establish a connection.
    pub(crate) connect_timeout: Duration,
    /// Time allowed for a whole request once connected.
    pub read_timeout: Duration,
    /// PEM bundle replacing the built-in trusted roots (`AWS_CA_BUNDLE`).
    pub(crate) ca_bundle: Option<std::path::PathBuf>,
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(60),
            ca_bundle: None,
        }
    }
}

/// A failure to get any HTTP response at all.
#[derive(Debug, Clone)]
pub(crate) struct SendError {
    /// What happened, in words.
    pub(crate) message: String,
    /// Whether it was a timeout (costs more retry quota).
    pub(crate) timed_out: bool,
}

/// The shared, pooled HTTP agent.
#[derive(Clone)]
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    connect_timeout: Duration,
    read_timeout: Duration,
}

impl HttpClient {
    /// Builds the agent: connection pool, timeouts, proxies from the environment, TLS roots.
    pub(crate) fn new(settings: &HttpSettings) -> Result<HttpClient> {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &settings.ca_bundle {
            tls = tls.root_certs(load_ca_bundle(path)?);
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.read_timeout))
            .user_agent(concat!("awsideman/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(16)
            .tls_config(tls.build())
            .build();
        Ok(HttpClient {
            agent: config.into(),
            connect_timeout: settings.connect_timeout,
            read_timeout: settings.read_timeout,
        })
    }

    /// Sends one request once; any HTTP status is a response, only a failure to talk is an error.
    pub(crate) fn send(
        &self,
        request: &HttpRequest,
    ) -> std::result::Result<HttpResponse, SendError> {
        let mut builder = ureq::http::Request::builder()
            .method(request.method)
            .uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request = builder.body(request.body.clone()).map_err(|e| SendError {
            message: crate::redact::userinfo(&format!("invalid request to {}: {e}", request.url)),
            timed_out: false,
        })?;
        let result = match request.timeout {
            Some(timeout) => self.agent.run(
                self.agent
                    .configure_request(http_request)
                    .timeout_global(Some(timeout))
                    .build(),
            ),
            None => self.agent.run(http_request),
        };
        let limits = (
            self.connect_timeout,
            request.timeout.unwrap_or(self.read_timeout),
        );
        let mut response = result.map_err(|e| send_error(&request.url, e, limits))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| send_error(&request.url, e, limits))?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// `limits` are the connect timeout and the request's whole timeout, named in a timeout's
/// message: ureq's own ("timeout: global") says neither which limit nor how long it was.
fn send_error(url: &str, error: ureq::Error, limits: (Duration, Duration)) -> SendError {
    let timed_out = matches!(error, ureq::Error::Timeout(_));
    let host = url.split("://").nth(1).unwrap_or(url);
    let host = host.split('/').next().unwrap_or(host);
    let what = match error {
        ureq::Error::Timeout(ureq::Timeout::Connect) => format!(
            "timed out: not connected within {} ms",
            limits.0.min(limits.1).as_millis()
        ),
        ureq::Error::Timeout(_) => format!(
            "timed out: no complete answer within {} ms",
            limits.1.as_millis()
        ),
        other => other.to_string(),
    };
    SendError {
        message: crate::redact::userinfo(&format!("{host}: {what}")),
        timed_out,
    }
}

fn load_ca_bundle(path: &std::path::Path) -> Result<ureq::tls::RootCerts> {
    let pem = crate::fsutil::read_file_at_most(path, 16 << 20)
        .map_err(|e| Error::config(format!("AWS_CA_BUNDLE {}: {e}", path.display())))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => certs.push(cert.to_owned()),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::config(format!(
                    "AWS_CA_BUNDLE {}: {e}",
                    path.display()
                )));
            }
        }
    }
    if certs.is_empty() {
        return Err(Error::config(format!(
            "AWS_CA_BUNDLE {}: no certificates found",
            path.display()
        )));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_name_the_limit_that_ran_out() {
        let limits = (Duration::from_millis(5000), Duration::from_millis(300));
        let url = "http://127.0.0.1:8000/";
        let e = send_error(url, ureq::Error::Timeout(ureq::Timeout::Global), limits);
        assert_eq!(
            e.message,
            "127.0.0.1:8000: timed out: no complete answer within 300 ms"
        );
        assert!(e.timed_out);
        let e = send_error(url, ureq::Error::Timeout(ureq::Timeout::RecvBody), limits);
        assert!(e.message.ends_with("no complete answer within 300 ms"));
        let limits = (Duration::from_millis(1000), Duration::from_millis(60_000));
        let e = send_error(url, ureq::Error::Timeout(ureq::Timeout::Connect), limits);
        assert_eq!(
            e.message,
            "127.0.0.1:8000: timed out: not connected within 1000 ms"
        );
        let e = send_error(url, ureq::Error::HostNotFound, limits);
        assert!(!e.timed_out);
        assert!(e.message.starts_with("127.0.0.1:8000: "), "{}", e.message);
    }
}
