//! Endpoints for every partition: the host and signing region of each service, in a region
//! of every partition, with and without FIPS and dual-stack, are the ones botocore's endpoint
//! rules give (read with the test venv's Python).

use awsideman::testing::Env;
use awsideman::testing::Service;
use awsideman::testing::{Endpoint, no_profile, resolve_endpoint};

use crate::common::fixture::{Fixture, Reply};
use crate::common::{TestEnv, botocore};

/// A region of every partition, a second region of some, the partitions' pseudo-regions
/// and a name no partition claims (it falls back to `aws`).
const REGIONS: [&str; 16] = [
    "us-east-1",
    "eu-west-1",
    "mx-central-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-west-1",
    "us-gov-east-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "eu-isoe-west-1",
    "us-isof-south-1",
    "eusc-de-east-1",
    "xx-east-1",
    "aws-global",
    "aws-us-gov-global",
];

const SCRIPT: &str = r#"
import sys, botocore.session
from botocore.endpoint_provider import EndpointProvider
loader = botocore.session.get_session().get_component("data_loader")
partitions = loader.load_data("partitions")
providers = {}
for line in sys.stdin.read().splitlines():
    service, region, fips, dual = line.split(" ")
    if service not in providers:
        rules = loader.load_service_model(service, "endpoint-rule-set-1")
        providers[service] = EndpointProvider(rules, partitions)
    try:
        e = providers[service].resolve_endpoint(
            Region=region, UseFIPS=fips == "true", UseDualStack=dual == "true")
    except Exception as error:
        print("error", type(error).__name__)
        continue
    schemes = e.properties.get("authSchemes") or [{}]
    print(e.url, schemes[0].get("signingRegion", region))
"#;

fn ours(service: Service, region: &str, fips: bool, dual: bool) -> String {
    let env = Env::from_pairs([
        ("AWS_USE_FIPS_ENDPOINT", if fips { "true" } else { "false" }),
        (
            "AWS_USE_DUALSTACK_ENDPOINT",
            if dual { "true" } else { "false" },
        ),
    ]);
    match resolve_endpoint(service, region, &env, &no_profile) {
        Ok(Endpoint {
            url,
            signing_region,
        }) => format!("{url} {signing_region}"),
        Err(e) => format!("error {e}"),
    }
}

#[test]
fn every_service_in_every_partition_is_where_botocore_sends_it() {
    let mut cells = Vec::new();
    for service in Service::ALL {
        for region in REGIONS {
            for fips in [false, true] {
                for dual in [false, true] {
                    cells.push((service, region, fips, dual));
                }
            }
        }
    }
    let input: Vec<String> = cells
        .iter()
        .map(|(s, r, f, d)| format!("{} {r} {f} {d}", s.name()))
        .collect();
    let theirs = botocore(SCRIPT, &input);
    assert_eq!(theirs.len(), cells.len());
    let mut differences = Vec::new();
    for ((service, region, fips, dual), theirs) in cells.iter().zip(&theirs) {
        let ours = ours(*service, region, *fips, *dual);
        // Both refusing (S3 has no FIPS hosts in China) is agreement, whatever the words.
        let both_refuse = ours.starts_with("error ") && theirs.starts_with("error ");
        if &ours != theirs && !both_refuse {
            differences.push(format!(
                "{} {region} fips={fips} dual-stack={dual}: ours {ours}, botocore {theirs}",
                service.name()
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} cells differ:\n{}",
        differences.len(),
        cells.len(),
        differences.join("\n")
    );
}

/// The hosts a command connects to, as an HTTPS proxy sees them (`CONNECT host:443`): the
/// proxy refuses every tunnel, so nothing leaves the machine.
fn hosts_connected(vars: &[(&str, &str)], args: &[&str]) -> Vec<String> {
    let proxy = Fixture::start(vec![Reply::json(403, "")]);
    let mut t = TestEnv::at_fixture(
        "AWS_ENDPOINT_URL_SSO_ADMIN",
        &Fixture::black_hole(),
        "eu-west-1",
    );
    t.remove_var("AWS_ENDPOINT_URL")
        .remove_var("AWS_ENDPOINT_URL_SSO_ADMIN")
        .set_var("HTTPS_PROXY", proxy.url.as_str())
        .set_var("AWS_MAX_ATTEMPTS", "1");
    for (name, value) in vars {
        t.set_var(name, *value);
    }
    t.fails(1, args);
    proxy
        .requests()
        .iter()
        .map(|seen| seen.line.clone())
        .collect()
}

#[test]
fn fips_and_dual_stack_settings_pick_the_hosts_requests_go_to() {
    let fips = [("AWS_USE_FIPS_ENDPOINT", "true")];
    assert_eq!(
        hosts_connected(&fips, &["org", "tree"]),
        ["CONNECT organizations-fips.us-east-1.amazonaws.com:443 HTTP/1.1"]
    );
    assert_eq!(
        hosts_connected(&fips, &["user", "list", "--region", "us-gov-east-1"]),
        ["CONNECT identitystore.us-gov-east-1.amazonaws.com:443 HTTP/1.1"]
    );
    let both = [fips[0], ("AWS_USE_DUALSTACK_ENDPOINT", "true")];
    assert_eq!(
        hosts_connected(&both, &["permission-set", "list"]),
        ["CONNECT sso-fips.eu-west-1.api.aws:443 HTTP/1.1"]
    );
    assert_eq!(
        hosts_connected(&[], &["user", "list", "--region", "us-isof-south-1"]),
        ["CONNECT identitystore.us-isof-south-1.csp.hci.ic.gov:443 HTTP/1.1"]
    );
}

#[test]
fn a_fips_setting_that_is_neither_true_nor_false_is_a_configuration_error() {
    let mut t = TestEnv::new();
    t.remove_var("AWS_ENDPOINT_URL")
        .set_var("AWS_USE_FIPS_ENDPOINT", "ture");
    let err = t.fails(2, &["org", "tree"]);
    assert!(
        err.contains("AWS_USE_FIPS_ENDPOINT: expected true or false"),
        "{err}"
    );
}
