//! SigV4 signing of an [`HttpRequest`](super::http::HttpRequest) with `aws-sigv4`.

use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

use super::http::HttpRequest;
use super::keys::Credentials;
use crate::error::{Error, Result};

/// Signs `request` in place for `service` (signing name) in `region` at `time`.
///
/// Adds `x-amz-date`, `authorization` and, with a session token, `x-amz-security-token`.
/// For S3 (signing name `s3`) also `x-amz-content-sha256`, the path signed as sent (encoded
/// once, not normalized), as S3 requires.
pub(crate) fn sign_request(
    request: &mut HttpRequest,
    credentials: &Credentials,
    signing_name: &str,
    region: &str,
    time: SystemTime,
) -> Result<()> {
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.as_str(),
        credentials.secret_access_key.as_str(),
        credentials.session_token.clone(),
        None,
        "awsideman",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(signing_name)
        .time(time)
        .settings(settings_for(signing_name))
        .build()
        .map_err(|e| Error::runtime(format!("signing request: {e}")))?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url.as_str(),
        request
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| Error::runtime(format!("signing request: {e}")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| Error::runtime(format!("signing request: {e}")))?
        .into_parts();
    for (name, value) in instructions.headers() {
        request.headers.push((name.to_string(), value.to_string()));
    }
    Ok(())
}

/// The signing settings of a service: S3 signs its payload hash and its paths as sent.
fn settings_for(signing_name: &str) -> SigningSettings {
    let mut settings = SigningSettings::default();
    if signing_name == "s3" {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The `get-vanilla` case of the AWS SigV4 test suite.
    #[test]
    fn reproduces_aws_test_vector_get_vanilla() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
        );
        let mut request = HttpRequest::new("GET", "https://example.amazonaws.com/");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 20150830T123600Z
        sign_request(&mut request, &credentials, "service", "us-east-1", time).unwrap();
        let auth = request
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.as_str())
            .unwrap();
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert!(
            request
                .headers
                .iter()
                .any(|(k, v)| k == "x-amz-date" && v == "20150830T123600Z")
        );
    }

    #[test]
    fn s3_signs_the_payload_hash() {
        let credentials = Credentials::new("AKID", "SECRET", None);
        let mut request = HttpRequest::new("PUT", "https://b.s3.eu-west-1.amazonaws.com/a%20b")
            .body(b"hello".to_vec());
        sign_request(
            &mut request,
            &credentials,
            "s3",
            "eu-west-1",
            SystemTime::now(),
        )
        .unwrap();
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            header("x-amz-content-sha256").as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert!(
            header("authorization")
                .unwrap()
                .contains("x-amz-content-sha256")
        );
    }

    #[test]
    fn session_token_is_signed_and_sent() {
        let credentials = Credentials::new("AKID", "SECRET", Some("TOKEN".into()));
        let mut request = HttpRequest::new("POST", "http://127.0.0.1:5000/");
        sign_request(
            &mut request,
            &credentials,
            "sso",
            "eu-west-1",
            SystemTime::now(),
        )
        .unwrap();
        assert!(
            request
                .headers
                .iter()
                .any(|(k, v)| k == "x-amz-security-token" && v == "TOKEN")
        );
        let auth = &request
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert!(auth.contains("/eu-west-1/sso/aws4_request"));
        assert!(auth.contains("x-amz-security-token"));
    }
}
