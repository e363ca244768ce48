//! Arbitrary text as `config.yaml`: parsing, validation, profiles and the cache and network
//! settings derived from it, as every command loads them. Nothing may panic; a document that
//! loads must write back as YAML that loads to the same document (`config set` rewrites the
//! file this way).

#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use awsideman::testing::Env;
use awsideman::testing::{ConfigFile, audit_log_path, cache_settings, network_settings};
use libfuzzer_sys::fuzz_target;

static ENV: LazyLock<Env> = LazyLock::new(Env::default);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = Path::new("/dev/null/awsideman-fuzz");
    let Ok(file) = ConfigFile::from_yaml(dir.join("config.yaml"), text) else {
        return;
    };
    let _ = file.validate();
    let _ = file.default_profile();
    let _ = file.profiles();
    let _ = file.profile("prod");
    for profile in [None, Some("prod"), file.default_profile()] {
        let _ = cache_settings(&file, profile, &ENV, dir);
    }
    let _ = network_settings(&file, &ENV);
    let _ = audit_log_path(&file, &ENV, dir);

    if let Ok(yaml) = file.to_yaml() {
        let again = ConfigFile::from_yaml(dir.join("config.yaml"), &yaml)
            .unwrap_or_else(|e| panic!("written YAML does not load: {e}\n{yaml}"));
        assert_eq!(
            again.document(),
            file.document(),
            "YAML round trip changed the document:\n{yaml}"
        );
    }
});
