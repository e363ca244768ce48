//! Tests of the whole chain with hand-built environments, config files and loopback fixtures.

use std::time::{Duration, SystemTime};

use super::test_support::{Fixture, Recorded, TempDir, transport};
use super::*;
use crate::rfc3339::format_rfc3339;

/// One chain run's inputs, with test defaults.
struct Case {
    home: TempDir,
    env: Env,
    config: String,
    credentials: String,
    profile: &'static str,
    required: bool,
    use_env: bool,
    interactive: bool,
}

impl Case {
    fn new(config: &str, credentials: &str) -> Case {
        let home = TempDir::new("chain");
        let env = Env::from_pairs([
            ("HOME", home.path().to_str().unwrap()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]);
        Case {
            home,
            env,
            config: config.to_string(),
            credentials: credentials.to_string(),
            profile: "default",
            required: false,
            use_env: true,
            interactive: false,
        }
    }

    fn set(mut self, name: &str, value: &str) -> Case {
        self.env.set(name, value);
        self
    }

    fn cache_dir(&self) -> std::path::PathBuf {
        self.home.path().join("cache")
    }

    fn run(&self) -> Result<Credentials> {
        self.run_with(&|_| panic!("unexpected MFA prompt"))
    }

    fn run_with(&self, prompt: &dyn Fn(&str) -> Result<String>) -> Result<Credentials> {
        let shared = SharedConfig::parse(&self.config, &self.credentials).unwrap();
        let cache_dir = self.cache_dir();
        let settings = ChainSettings {
            env: &self.env,
            shared: &shared,
            profile: self.profile,
            profile_required: self.required,
            use_env_credentials: self.use_env,
            region: Some("eu-west-1"),
            cache_dir: &cache_dir,
            interactive: self.interactive,
            sealer: None,
        };
        resolve_with_prompt(&settings, &transport(), prompt)
    }
}

/// An STS fixture answering every call with role credentials valid for an hour.
fn sts_fixture() -> Fixture {
    let expiration = format_rfc3339(SystemTime::now() + Duration::from_secs(3600));
    Fixture::serve(move |r: &Recorded| {
        let result = if r.body.contains("Action=AssumeRoleWithWebIdentity") {
            "AssumeRoleWithWebIdentityResult"
        } else {
            "AssumeRoleResult"
        };
        let key = if r.body.contains("role%2Fsecond") {
            "ASIASECOND"
        } else {
            "ASIAROLE"
        };
        (
            200,
            "text/xml",
            format!(
                "<R><{result}><Credentials><AccessKeyId>{key}</AccessKeyId>\
                 <SecretAccessKey>rs</SecretAccessKey><SessionToken>rt</SessionToken>\
                 <Expiration>{expiration}</Expiration></Credentials></{result}></R>"
            ),
        )
    })
}

const STATIC_DEFAULT: &str =
    "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = ps\n";

#[test]
fn environment_keys_beat_the_profile_unless_skipped() {
    let mut case = Case::new("", STATIC_DEFAULT)
        .set("AWS_ACCESS_KEY_ID", "AKIDENV")
        .set("AWS_SECRET_ACCESS_KEY", "es")
        .set("AWS_SESSION_TOKEN", "et");
    let c = case.run().unwrap();
    assert_eq!(c.access_key_id, "AKIDENV");
    assert_eq!(c.session_token.as_deref(), Some("et"));
    case.use_env = false;
    let c = case.run().unwrap();
    assert_eq!(c.access_key_id, "AKIDPROFILE");
    assert_eq!(c.session_token, None);
}

#[test]
fn half_set_environment_keys_are_an_error() {
    let case = Case::new("", STATIC_DEFAULT).set("AWS_ACCESS_KEY_ID", "AKIDENV");
    let e = case.run().unwrap_err();
    assert_eq!(
        e.to_string(),
        "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
    );
}

#[test]
fn missing_profiles() {
    let mut case = Case::new("[profile other]\nregion = x\n", "");
    case.profile = "nope";
    case.required = true;
    let e = case.run().unwrap_err();
    assert_eq!(
        e.to_string(),
        "AWS profile \"nope\" not found in ~/.aws/config or ~/.aws/credentials (AWS profiles \
         that exist: other): give the awsideman profile the AWS profile to use with \
         `awsideman profile update NAME --aws-profile other`, or create the AWS profile"
    );
    assert_eq!(e.exit_code(), 2);

    // Not required: skipped, and with IMDS disabled the chain ends at once.
    case.required = false;
    let e = case.run().unwrap_err().to_string();
    for part in [
        "no AWS credentials found for AWS profile \"nope\". Tried: environment variables",
        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set)",
        "AWS profile \"nope\" (not in ~/.aws/config or ~/.aws/credentials)",
        "container credentials",
        "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)",
        "AWS profiles that exist: other.",
        "awsideman profile update NAME --aws-profile other",
        "AWS_PROFILE=other",
    ] {
        assert!(e.contains(part), "{part:?} missing from: {e}");
    }
}

#[test]
fn assume_role_with_source_profile_and_disk_cache() {
    let sts = sts_fixture();
    let config = "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\n\
                  source_profile = base\nexternal_id = ext\nrole_session_name = me\n\
                  duration_seconds = 1800\nregion = ap-southeast-2\n";
    let credentials = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = bs\n";
    let mut case = Case::new(config, credentials).set("AWS_ENDPOINT_URL_STS", &sts.url);
    case.profile = "dev";
    case.required = true;
    let c = case.run().unwrap();
    assert_eq!(c.access_key_id, "ASIAROLE");
    assert!(c.expires_at.is_some());
    let seen = sts.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].body,
        "Action=AssumeRole&Version=2011-06-15&\
         RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdev&RoleSessionName=me&\
         ExternalId=ext&DurationSeconds=1800"
    );
    let auth = seen[0].header("authorization").unwrap();
    assert!(auth.contains("Credential=AKIDBASE/"), "{auth}");
    assert!(auth.contains("/ap-southeast-2/sts/aws4_request"), "{auth}");

    // The second run is answered from the disk cache.
    let again = case.run().unwrap();
    assert_eq!(again, c);
    assert_eq!(sts.requests().len(), 1);
    let files: Vec<_> = std::fs::read_dir(case.cache_dir()).unwrap().collect();
    assert_eq!(files.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = files[0].as_ref().unwrap().path();
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn role_chains_and_loops() {
    let sts = sts_fixture();
    let config = "\
[profile first]
role_arn = arn:aws:iam::1:role/first
source_profile = base
[profile second]
role_arn = arn:aws:iam::1:role/second
source_profile = first
[profile loop-a]
role_arn = arn:aws:iam::1:role/a
source_profile = loop-b
[profile loop-b]
role_arn = arn:aws:iam::1:role/b
source_profile = loop-a
[profile self]
role_arn = arn:aws:iam::1:role/second
source_profile = self
aws_access_key_id = AKIDSELF
aws_secret_access_key = s
[profile dangling]
role_arn = arn:aws:iam::1:role/x
source_profile = ghost
[profile both]
role_arn = arn:aws:iam::1:role/x
source_profile = base
credential_source = Environment
[profile neither]
role_arn = arn:aws:iam::1:role/x
[profile empty-source]
role_arn = arn:aws:iam::1:role/x
source_profile = nothing
[profile nothing]
region = us-east-1
[profile bad-duration]
role_arn = arn:aws:iam::1:role/x
source_profile = base
duration_seconds = 60
";
    let credentials = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = bs\n";
    let mut case = Case::new(config, credentials).set("AWS_ENDPOINT_URL_STS", &sts.url);

    case.profile = "second";
    assert_eq!(case.run().unwrap().access_key_id, "ASIASECOND");
    let seen = sts.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].body.contains("role%2Ffirst"));
    assert!(
        seen[0]
            .header("authorization")
            .unwrap()
            .contains("Credential=AKIDBASE/")
    );
    assert!(seen[1].body.contains("role%2Fsecond"));
    assert!(
        seen[1]
            .header("authorization")
            .unwrap()
            .contains("Credential=ASIAROLE/")
    );

    case.profile = "self";
    assert_eq!(case.run().unwrap().access_key_id, "ASIASECOND");
    assert!(
        sts.requests()[2]
            .header("authorization")
            .unwrap()
            .contains("Credential=AKIDSELF/")
    );

    for (profile, want) in [
        (
            "loop-a",
            "loop through source_profile: loop-a -> loop-b -> loop-a",
        ),
        ("dangling", "source_profile \"ghost\" is not defined"),
        ("both", "mutually exclusive"),
        ("neither", "needs a source_profile"),
        (
            "empty-source",
            "its source_profile \"nothing\" has no credentials",
        ),
        ("bad-duration", "between 900 and 43200"),
    ] {
        case.profile = profile;
        let e = case.run().unwrap_err();
        assert!(e.to_string().contains(want), "{profile}: {e}");
        assert_eq!(e.exit_code(), 2, "{profile}");
    }
}

#[test]
fn mfa_prompts_only_when_interactive() {
    let sts = sts_fixture();
    let config = "[profile mfa]\nrole_arn = arn:aws:iam::1:role/m\nsource_profile = base\n\
                  mfa_serial = arn:aws:iam::1:mfa/me\n";
    let credentials = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = bs\n";
    let mut case = Case::new(config, credentials).set("AWS_ENDPOINT_URL_STS", &sts.url);
    case.profile = "mfa";
    let e = case.run().unwrap_err().to_string();
    assert!(
        e.contains("needs an MFA code for arn:aws:iam::1:mfa/me"),
        "{e}"
    );
    assert!(sts.requests().is_empty());

    case.interactive = true;
    let asked = std::cell::Cell::new(0);
    let prompt = |serial: &str| {
        assert_eq!(serial, "arn:aws:iam::1:mfa/me");
        asked.set(asked.get() + 1);
        Ok("123456".to_string())
    };
    assert_eq!(case.run_with(&prompt).unwrap().access_key_id, "ASIAROLE");
    assert!(
        sts.requests()[0]
            .body
            .ends_with("&SerialNumber=arn%3Aaws%3Aiam%3A%3A1%3Amfa%2Fme&TokenCode=123456")
    );
    // Cached: no second prompt, and usable without a terminal.
    case.interactive = false;
    assert_eq!(case.run().unwrap().access_key_id, "ASIAROLE");
    assert_eq!(asked.get(), 1);
}

#[test]
fn credential_source_environment_ignores_the_flag_rule() {
    let sts = sts_fixture();
    let config =
        "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\ncredential_source = Environment\n";
    let mut case = Case::new(config, "")
        .set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_ACCESS_KEY_ID", "AKIDENV")
        .set("AWS_SECRET_ACCESS_KEY", "es");
    case.profile = "ci";
    case.use_env = false;
    assert_eq!(case.run().unwrap().access_key_id, "ASIAROLE");
    assert!(
        sts.requests()[0]
            .header("authorization")
            .unwrap()
            .contains("Credential=AKIDENV/")
    );
    let mut case = Case::new(
        "[profile x]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Laptop\n",
        "",
    );
    case.profile = "x";
    assert!(
        case.run()
            .unwrap_err()
            .to_string()
            .contains("unknown credential_source")
    );
}

#[cfg(unix)]
#[test]
fn credential_process_profiles() {
    let expiration = format_rfc3339(SystemTime::now() + Duration::from_secs(3600));
    let config = format!(
        "[default]\ncredential_process = printf '{{\"Version\":1,\"AccessKeyId\":\"ASIAPROC\",\
         \"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"{expiration}\"}}'\n"
    );
    let case = Case::new(&config, "");
    assert_eq!(case.run().unwrap().access_key_id, "ASIAPROC");
    // Temporary process credentials are cached.
    assert_eq!(std::fs::read_dir(case.cache_dir()).unwrap().count(), 1);
    let case = Case::new("[default]\ncredential_process = exit 4\n", "");
    assert!(
        case.run()
            .unwrap_err()
            .to_string()
            .contains("exited with status 4")
    );
}

#[test]
fn sso_profiles_end_to_end() {
    let portal = Fixture::serve(|_| {
        let expiration = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 3_600_000;
        (
            200,
            "application/json",
            format!(
                r#"{{"roleCredentials":{{"accessKeyId":"ASIASSO","secretAccessKey":"s",
                   "sessionToken":"t","expiration":{expiration}}}}}"#
            ),
        )
    });
    let config = "[profile corp]\nsso_session = corp\nsso_account_id = 111122223333\n\
                  sso_role_name = Admin\n[sso-session corp]\n\
                  sso_start_url = https://corp.awsapps.com/start\nsso_region = eu-central-1\n";
    let mut case = Case::new(config, "").set("AWS_ENDPOINT_URL_SSO", &portal.url);
    case.profile = "corp";
    let e = case.run().unwrap_err().to_string();
    assert!(e.contains("run `aws sso login --profile corp`"), "{e}");

    let token_dir = case.home.path().join(".aws/sso/cache");
    std::fs::create_dir_all(&token_dir).unwrap();
    let shared = SharedConfig::parse(config, "").unwrap();
    let sso = sso::SsoProfile::from_config(&shared, "corp")
        .unwrap()
        .unwrap();
    let expires = format_rfc3339(SystemTime::now() + Duration::from_secs(7200));
    std::fs::write(
        token_dir.join(sso.token_file_name()),
        format!(r#"{{"accessToken":"bearer","expiresAt":"{expires}"}}"#),
    )
    .unwrap();
    assert_eq!(case.run().unwrap().access_key_id, "ASIASSO");
    let seen = portal.requests();
    assert_eq!(seen[0].header("x-amz-sso_bearer_token"), Some("bearer"));
    assert_eq!(
        seen[0].path,
        "/federation/credentials?role_name=Admin&account_id=111122223333"
    );
    assert_eq!(case.run().unwrap().access_key_id, "ASIASSO");
    assert_eq!(
        portal.requests().len(),
        1,
        "second run served from the disk cache"
    );
}

#[test]
fn web_identity_from_the_environment() {
    let sts = sts_fixture();
    let case = Case::new(STATIC_DEFAULT, "");
    let token_file = case.home.path().join("token");
    std::fs::write(&token_file, "eyJ.token\n").unwrap();
    let case = case
        .set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap())
        .set("AWS_ROLE_ARN", "arn:aws:iam::1:role/web")
        .set("AWS_ROLE_SESSION_NAME", "pod");
    // Web identity comes before the profile's static keys.
    assert_eq!(case.run().unwrap().access_key_id, "ASIAROLE");
    let seen = &sts.requests()[0];
    assert!(seen.header("authorization").is_none());
    assert!(
        seen.body
            .contains("RoleSessionName=pod&WebIdentityToken=eyJ.token")
    );

    // A token file without a role is skipped, and the profile is used.
    let case = Case::new(STATIC_DEFAULT, "").set("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent");
    assert_eq!(case.run().unwrap().access_key_id, "AKIDPROFILE");
}

#[test]
fn web_identity_from_a_profile() {
    let sts = sts_fixture();
    let case = Case::new("", "");
    let token_file = case.home.path().join("token");
    std::fs::write(&token_file, "tok").unwrap();
    let config = format!(
        "[default]\nrole_arn = arn:aws:iam::1:role/web\nweb_identity_token_file = {}\n",
        token_file.display()
    );
    let mut case = case.set("AWS_ENDPOINT_URL_STS", &sts.url);
    case.config = config;
    assert_eq!(case.run().unwrap().access_key_id, "ASIAROLE");
    assert!(
        sts.requests()[0]
            .body
            .contains("Action=AssumeRoleWithWebIdentity")
    );
}

#[test]
fn container_then_imds() {
    let container = Fixture::serve(|_| {
        (
            200,
            "application/json",
            r#"{"AccessKeyId":"ASIACONT","SecretAccessKey":"s","Token":"t",
                "Expiration":"2099-01-01T00:00:00Z"}"#
                .to_string(),
        )
    });
    let url = format!("{}/v2/credentials/x", container.url);
    let case = Case::new("", "").set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url);
    assert_eq!(case.run().unwrap().access_key_id, "ASIACONT");

    let imds = Fixture::serve(|r| match (r.method.as_str(), r.path.as_str()) {
        ("PUT", _) => (200, "text/plain", "T".to_string()),
        ("GET", "/latest/meta-data/iam/security-credentials/") => {
            (200, "text/plain", "role".to_string())
        }
        _ => (
            200,
            "application/json",
            r#"{"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"s","Token":"t",
                "Expiration":"2099-01-01T00:00:00Z"}"#
                .to_string(),
        ),
    });
    let mut case = Case::new("", "").set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url);
    case.env.set("AWS_EC2_METADATA_DISABLED", "false");
    assert_eq!(case.run().unwrap().access_key_id, "ASIAIMDS");
}

#[test]
fn a_profile_without_credentials_falls_through() {
    let case = Case::new("[default]\nregion = eu-west-1\n", "");
    let e = case.run().unwrap_err().to_string();
    assert!(
        e.contains("AWS profile \"default\" (it sets no credentials)"),
        "{e}"
    );
}

#[test]
fn debug_output_hides_secrets() {
    let env = Env::from_pairs([("AWS_SECRET_ACCESS_KEY", "TOPSECRET")]);
    let shared = SharedConfig::parse("", "[default]\naws_secret_access_key = TOPSECRET\n").unwrap();
    let settings = ChainSettings {
        env: &env,
        shared: &shared,
        profile: "default",
        profile_required: false,
        use_env_credentials: true,
        region: None,
        cache_dir: Path::new("/tmp/x"),
        interactive: false,
        sealer: None,
    };
    assert!(!format!("{settings:?}").contains("TOPSECRET"));
    let c = Credentials::new("AKID", "TOPSECRET", Some("TOPSECRET".into()));
    assert!(!format!("{c:?}").contains("TOPSECRET"));
}
