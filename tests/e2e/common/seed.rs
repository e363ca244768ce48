//! Seeding moto with realistic Identity Center and Organizations data, straight through the
//! library's transport (not through the commands under test).

use std::collections::BTreeMap;

use awsideman::testing::Service;
use serde_json::{Value, json};

use super::TestEnv;

/// The instance of a test world after `sso discover`.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The instance ARN.
    pub arn: String,
    /// The identity store id.
    pub store: String,
}

/// An organization: root, OUs and accounts by name.
#[derive(Debug, Clone, Default)]
pub struct Org {
    /// The root id (`r-...`).
    pub root: String,
    /// OU ids by name.
    pub ous: BTreeMap<String, String>,
    /// Account ids by name.
    pub accounts: BTreeMap<String, String>,
}

impl TestEnv {
    /// Runs `sso discover` and returns the instance it saved.
    pub fn instance(&self) -> Instance {
        let out = self.json(&["sso", "discover"]);
        Instance {
            arn: out["Instances"][0]["InstanceArn"]
                .as_str()
                .expect("arn")
                .to_string(),
            store: out["Instances"][0]["IdentityStoreId"]
                .as_str()
                .expect("store")
                .to_string(),
        }
    }

    /// Creates a group with `members` (user ids) and returns the group id.
    pub fn seed_group(&self, store: &str, name: &str, members: &[&str]) -> String {
        let group = self.aws(
            Service::IdentityStore,
            "CreateGroup",
            json!({"IdentityStoreId": store, "DisplayName": name, "Description": format!("{name} team")}),
        );
        let id = group["GroupId"].as_str().expect("group id").to_string();
        for member in members {
            self.aws(
                Service::IdentityStore,
                "CreateGroupMembership",
                json!({"IdentityStoreId": store, "GroupId": id, "MemberId": {"UserId": member}}),
            );
        }
        id
    }

    /// Creates a permission set with managed policies and an optional inline policy.
    pub fn seed_permission_set(
        &self,
        instance: &str,
        name: &str,
        managed: &[&str],
        inline: Option<&str>,
    ) -> String {
        let created = self.aws(
            Service::SsoAdmin,
            "CreatePermissionSet",
            json!({"InstanceArn": instance, "Name": name, "Description": format!("{name} access"), "SessionDuration": "PT4H"}),
        );
        let arn = created["PermissionSet"]["PermissionSetArn"]
            .as_str()
            .expect("permission set arn")
            .to_string();
        for policy in managed {
            self.aws(
                Service::SsoAdmin,
                "AttachManagedPolicyToPermissionSet",
                json!({"InstanceArn": instance, "PermissionSetArn": arn, "ManagedPolicyArn": policy}),
            );
        }
        if let Some(policy) = inline {
            self.aws(
                Service::SsoAdmin,
                "PutInlinePolicyToPermissionSet",
                json!({"InstanceArn": instance, "PermissionSetArn": arn, "InlinePolicy": policy}),
            );
        }
        arn
    }

    /// Assigns a permission set to a principal in an account, and provisions it (as AWS does
    /// implicitly; moto does not).
    pub fn seed_assignment(
        &self,
        instance: &str,
        permission_set: &str,
        principal_type: &str,
        principal: &str,
        account: &str,
    ) {
        self.aws(
            Service::SsoAdmin,
            "CreateAccountAssignment",
            json!({
                "InstanceArn": instance, "PermissionSetArn": permission_set,
                "PrincipalType": principal_type, "PrincipalId": principal,
                "TargetType": "AWS_ACCOUNT", "TargetId": account,
            }),
        );
        self.aws(
            Service::SsoAdmin,
            "ProvisionPermissionSet",
            json!({"InstanceArn": instance, "PermissionSetArn": permission_set, "TargetType": "AWS_ACCOUNT", "TargetId": account}),
        );
    }

    /// Creates an organization:
    /// `Root / {Engineering / {Prod, Dev}, Security}` with accounts `prod-app` (Prod),
    /// `prod-data` (Prod), `dev-sandbox` (Dev), `security-audit` (Security) and the
    /// management account under the root. Accounts carry `env` and `team` tags.
    pub fn seed_org(&self) -> Org {
        self.aws(
            Service::Organizations,
            "CreateOrganization",
            json!({"FeatureSet": "ALL"}),
        );
        let roots = self.aws(Service::Organizations, "ListRoots", json!({}));
        let root = roots["Roots"][0]["Id"]
            .as_str()
            .expect("root id")
            .to_string();
        let mut org = Org {
            root: root.clone(),
            ..Org::default()
        };
        for (name, parent) in [
            ("Engineering", None),
            ("Prod", Some("Engineering")),
            ("Dev", Some("Engineering")),
            ("Security", None),
        ] {
            let parent_id = parent.map_or(root.clone(), |p| org.ous[p].clone());
            let ou = self.aws(
                Service::Organizations,
                "CreateOrganizationalUnit",
                json!({"ParentId": parent_id, "Name": name}),
            );
            let id = ou["OrganizationalUnit"]["Id"]
                .as_str()
                .expect("ou id")
                .to_string();
            org.ous.insert(name.to_string(), id);
        }
        for (name, ou, env, team) in [
            ("prod-app", "Prod", "prod", "app"),
            ("prod-data", "Prod", "prod", "data"),
            ("dev-sandbox", "Dev", "dev", "app"),
            ("security-audit", "Security", "prod", "security"),
        ] {
            let created = self.aws(
                Service::Organizations,
                "CreateAccount",
                json!({"AccountName": name, "Email": format!("{name}@example.com"),
                       "Tags": [{"Key": "env", "Value": env}, {"Key": "team", "Value": team}]}),
            );
            let id = account_id(&created);
            self.aws(
                Service::Organizations,
                "MoveAccount",
                json!({"AccountId": id, "SourceParentId": root, "DestinationParentId": org.ous[ou]}),
            );
            org.accounts.insert(name.to_string(), id);
        }
        org
    }
}

fn account_id(created: &Value) -> String {
    created["CreateAccountStatus"]["AccountId"]
        .as_str()
        .expect("account id")
        .to_string()
}
