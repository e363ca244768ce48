//! The shared seed data is what the other tests assume.

use awsideman::testing::Service;
use serde_json::json;

use crate::common::TestEnv;

#[test]
fn seeded_world_has_everything() {
    let t = TestEnv::new();
    let instance = t.instance();
    let alice = t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    let group = t.seed_group(&instance.store, "admins", &[&alice]);
    let ps = t.seed_permission_set(
        &instance.arn,
        "Admin",
        &["arn:aws:iam::aws:policy/AdministratorAccess"],
        Some(r#"{"Version":"2012-10-17","Statement":[]}"#),
    );
    let org = t.seed_org();
    assert_eq!(org.accounts.len(), 4);
    t.seed_assignment(
        &instance.arn,
        &ps,
        "GROUP",
        &group,
        &org.accounts["prod-app"],
    );
    let children = t.aws(
        Service::Organizations,
        "ListAccountsForParent",
        json!({"ParentId": org.ous["Prod"]}),
    );
    assert_eq!(children["Accounts"].as_array().unwrap().len(), 2);
    let assignments = t.aws(
        Service::SsoAdmin,
        "ListAccountAssignments",
        json!({"InstanceArn": instance.arn, "AccountId": org.accounts["prod-app"], "PermissionSetArn": ps}),
    );
    assert_eq!(
        assignments["AccountAssignments"][0]["PrincipalId"],
        group.as_str()
    );
}
