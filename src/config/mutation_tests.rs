//! Randomized mutation of config files: thousands of damaged YAML documents must never panic;
//! each either loads and validates or fails with a configuration error (exit 2) naming the
//! file or key. Deterministic: a fixed-seed generator.

use std::path::PathBuf;

use super::{ConfigFile, cache_settings, network_settings};
use crate::env::Env;

const GOOD: &str = "default_profile: prod
profiles:
  prod: {region: us-east-1, sso_instance_arn: 'arn:aws:sso:::instance/ssoins-1', identity_store_id: d-1234567890}
cache:
  enabled: true
  default_ttl: 3600
  operation_ttls: {list_users: 60}
  backend_type: hybrid
  max_size_mb: 10
  profiles:
    prod: {backend_type: dynamodb}
network: {connect_timeout_ms: 500, identity_center_rps: 2.5}
backup: {keep: [a, b]}
";

#[test]
fn mutated_config_files_never_panic() {
    let mut state: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let alphabet = b" :-{}[],'\"\n\t#&*!|>%@`0123456789abcdefxyz.";
    let env = Env::default();
    let dir = PathBuf::from("/nonexistent-awsideman");
    let (mut loaded, mut refused) = (0, 0);
    for _ in 0..4000 {
        let mut bytes = GOOD.as_bytes().to_vec();
        for _ in 0..=(next() % 4) {
            let i = (next() % (bytes.len() as u64 + 1)) as usize;
            match next() % 3 {
                0 if i < bytes.len() => {
                    bytes[i] = alphabet[(next() % alphabet.len() as u64) as usize]
                }
                1 => bytes.insert(i, alphabet[(next() % alphabet.len() as u64) as usize]),
                _ => bytes.truncate(i),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let outcome = ConfigFile::from_yaml(dir.join("config.yaml"), &text).and_then(|file| {
            file.validate()?;
            file.profiles()?;
            cache_settings(&file, Some("prod"), &env, &dir)?;
            network_settings(&file, &env)?;
            Ok(())
        });
        match outcome {
            Ok(()) => loaded += 1,
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "not a configuration error: {e}");
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
        }
    }
    assert!(
        loaded > 0 && refused > 0,
        "{loaded} loaded, {refused} refused"
    );
}
