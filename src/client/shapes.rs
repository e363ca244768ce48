//! The members of AWS replies that commands read, as typed values decoded at the client
//! boundary.
//!
//! A reply missing a member a shape needs is an error naming the operation and the member,
//! never an empty string. Commands that print a reply as it is keep it as JSON, so the JSON
//! output keeps AWS's shapes exactly; what they compare, join or decide on comes from here.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Operation;
use crate::error::{Error, Result};

/// Decodes `value` (a reply of `op`, or a part of one) as `T`.
pub fn decode<T: DeserializeOwned>(op: &Operation, value: &Value) -> Result<T> {
    T::deserialize(value).map_err(|e| unexpected(op, e))
}

/// Decodes every element of the array `key` of a reply of `op`; a reply without the array
/// has none.
pub fn items<T: DeserializeOwned>(op: &Operation, reply: &Value, key: &str) -> Result<Vec<T>> {
    match reply.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(array) => Vec::<T>::deserialize(array).map_err(|e| unexpected(op, e)),
    }
}

fn unexpected(op: &Operation, e: serde_json::Error) -> Error {
    Error::runtime(format!(
        "{} {}: unexpected reply: {e}",
        op.service.name(),
        op.name
    ))
}

/// Whether an assignment's principal is a user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrincipalType {
    /// An Identity Store user.
    User,
    /// An Identity Store group.
    Group,
}

impl PrincipalType {
    /// The AWS spelling: `USER` or `GROUP`.
    pub fn as_aws(self) -> &'static str {
        match self {
            PrincipalType::User => "USER",
            PrincipalType::Group => "GROUP",
        }
    }

    /// Parses `USER`/`GROUP` (any case).
    pub fn parse(s: &str) -> Result<PrincipalType> {
        match s.to_ascii_uppercase().as_str() {
            "USER" => Ok(PrincipalType::User),
            "GROUP" => Ok(PrincipalType::Group),
            _ => Err(Error::usage(format!(
                "invalid principal type {s:?} (allowed: USER, GROUP)"
            ))),
        }
    }
}

/// One account assignment (ListAccountAssignments, ListAccountAssignmentsForPrincipal).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountAssignment {
    /// The account.
    pub account_id: String,
    /// The permission set.
    pub permission_set_arn: String,
    /// Whether the principal is a user or a group.
    pub principal_type: PrincipalType,
    /// The user or group id.
    pub principal_id: String,
}

/// Where an asynchronous Identity Center request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestStatus {
    /// Still running: poll again.
    InProgress,
    /// Ended badly (see the failure reason).
    Failed,
    /// Done.
    Succeeded,
}

impl RequestStatus {
    /// Whether the request has ended.
    pub fn is_final(self) -> bool {
        self != RequestStatus::InProgress
    }
}

/// The status object of an asynchronous request (`PermissionSetProvisioningStatus`,
/// `AccountAssignmentCreationStatus`, `AccountAssignmentDeletionStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestState {
    /// Where it stands.
    pub status: RequestStatus,
    /// The id to ask about it again (present while it runs).
    pub request_id: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
}

/// An account of the organization (ListAccounts, DescribeAccount).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    /// The 12-digit id.
    pub id: String,
    /// The account's name.
    pub name: String,
    /// The root user's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ... (the member replacing `Status`).
    #[serde(default)]
    state: Option<String>,
    /// The member being retired in favour of `State`.
    #[serde(default)]
    status: Option<String>,
}

impl Account {
    /// The account's state: `State`, else the retiring `Status`.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref().or(self.status.as_deref())
    }
}

/// A root or organizational unit: its id and name (ListRoots, DescribeOrganizationalUnit,
/// ListOrganizationalUnitsForParent).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrgNode {
    /// `r-...` or `ou-...`.
    pub id: String,
    /// The display name.
    pub name: String,
}

/// What kind of node a parent is (ListParents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParentType {
    /// The organization's root.
    Root,
    /// An organizational unit.
    OrganizationalUnit,
}

/// A parent of an account or OU (ListParents).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parent {
    /// Its id.
    pub id: String,
    /// Root or OU.
    #[serde(rename = "Type")]
    pub kind: ParentType,
}

/// A resource tag (ListTagsForResource).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// An Identity Store user, as far as commands read it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    /// The user id.
    pub user_id: String,
    /// The unique user name.
    pub user_name: String,
    /// The display name, if set.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// An Identity Store group, as far as commands read it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Group {
    /// The group id.
    pub group_id: String,
    /// The unique display name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A group membership (ListGroupMemberships, ListGroupMembershipsForMember).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Membership {
    /// The membership id (what DeleteGroupMembership takes).
    pub membership_id: String,
    /// The group.
    pub group_id: String,
    /// The member.
    pub member_id: MemberId,
}

/// The member of a membership: a user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemberId {
    /// The user id.
    pub user_id: String,
}

/// A permission set, as far as commands read it (DescribePermissionSet).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionSet {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub permission_set_arn: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_missing_member_names_the_operation_and_the_member() {
        let reply = json!({"AccountAssignments": [
            {"AccountId": "111111111111", "PermissionSetArn": "arn:ps", "PrincipalType": "USER",
             "PrincipalId": "u-1"},
            {"PermissionSetArn": "arn:ps", "PrincipalType": "GROUP", "PrincipalId": "g-1"},
        ]});
        let op = &super::super::LIST_ACCOUNT_ASSIGNMENTS;
        let err = items::<AccountAssignment>(op, &reply, "AccountAssignments").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("sso-admin ListAccountAssignments") && text.contains("AccountId"),
            "{text}"
        );
        let fine = json!({"AccountAssignments": [reply["AccountAssignments"][0].clone()]});
        let got: Vec<AccountAssignment> = items(op, &fine, "AccountAssignments").unwrap();
        assert_eq!(got[0].principal_type, PrincipalType::User);
        let none: Vec<AccountAssignment> = items(op, &json!({}), "AccountAssignments").unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn statuses_and_states_are_typed() {
        let op = &super::super::DESCRIBE_ACCOUNT;
        let s: RequestState =
            decode(op, &json!({"Status": "IN_PROGRESS", "RequestId": "r"})).unwrap();
        assert!(!s.status.is_final());
        assert!(decode::<RequestState>(op, &json!({"Status": "DONE"})).is_err());
        let a: Account = decode(op, &json!({"Id": "1", "Name": "a", "State": "ACTIVE"})).unwrap();
        assert_eq!(a.state(), Some("ACTIVE"));
        let a: Account =
            decode(op, &json!({"Id": "1", "Name": "a", "Status": "SUSPENDED"})).unwrap();
        assert_eq!(a.state(), Some("SUSPENDED"));
    }
}
