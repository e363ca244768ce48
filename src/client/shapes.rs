//! The members of AWS replies that commands read, as typed values decoded at the client
//! boundary.
//!
//! A reply missing a member a shape needs is an error naming the operation and the member,
//! never an empty string. Commands that print a reply as it is keep it as JSON, so the JSON
//! output keeps AWS's shapes exactly; what they compare, join or decide on comes from here.

use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::document::Document;

use super::Operation;
use crate::error::{Error, Result};

/// Decodes `value` (a reply of `op`, or a part of one) as `T`.
pub(crate) fn decode<T: DeserializeOwned>(op: &Operation, value: &Value) -> Result<T> {
    T::deserialize(value).map_err(|e| unexpected(op, e))
}

/// Decodes every element of the array `key` of a reply of `op`; a reply without the array
/// has none.
pub(crate) fn items<T: DeserializeOwned>(
    op: &Operation,
    reply: &Value,
    key: &str,
) -> Result<Vec<T>> {
    match reply.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(array) => Vec::<T>::deserialize(array).map_err(|e| unexpected(op, e)),
    }
}

/// Like [`items`], straight from an answer's text: the elements are decoded into their
/// typed shapes as the text is read, never built as generic values first (a warm
/// organization-wide listing reads its 1,000 users this way at a fraction of the cost).
pub(crate) fn items_in<T: DeserializeOwned>(
    op: &Operation,
    answer: &Document,
    key: &str,
) -> Result<Vec<T>> {
    let member = Member::<T> {
        key,
        items: PhantomData,
    };
    let mut deserializer = serde_json::Deserializer::from_str(answer.as_str());
    member
        .deserialize(&mut deserializer)
        .map(Option::unwrap_or_default)
        .map_err(|e| unexpected(op, e))
}

/// The array member `key` of an object, decoded as `Vec<T>`; every other member skipped.
struct Member<'k, T> {
    key: &'k str,
    items: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Member<'_, T> {
    type Value = Option<Vec<T>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Member<'_, T> {
    type Value = Option<Vec<T>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an object with a list {}", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(name) = map.next_key::<String>()? {
            if name == self.key {
                found = map.next_value::<Option<Vec<T>>>()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum PrincipalType {
    /// An Identity Store user.
    User,
    /// An Identity Store group.
    Group,
}

impl PrincipalType {
    /// The AWS spelling: `USER` or `GROUP`.
    pub(crate) fn as_aws(self) -> &'static str {
        match self {
            PrincipalType::User => "USER",
            PrincipalType::Group => "GROUP",
        }
    }

    /// Parses `USER`/`GROUP` (any case).
    pub(crate) fn parse(s: &str) -> Result<PrincipalType> {
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccountAssignment {
    /// The account.
    pub(crate) account_id: String,
    /// The permission set.
    pub(crate) permission_set_arn: String,
    /// Whether the principal is a user or a group.
    pub(crate) principal_type: PrincipalType,
    /// The user or group id.
    pub(crate) principal_id: String,
}

/// Where an asynchronous Identity Center request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum RequestStatus {
    /// Still running: poll again.
    InProgress,
    /// Ended badly (see the failure reason).
    Failed,
    /// Done.
    Succeeded,
}

impl RequestStatus {
    /// Whether the request has ended.
    pub(crate) fn is_final(self) -> bool {
        self != RequestStatus::InProgress
    }
}

/// The status object of an asynchronous request (`PermissionSetProvisioningStatus`,
/// `AccountAssignmentCreationStatus`, `AccountAssignmentDeletionStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RequestState {
    /// Where it stands.
    pub(crate) status: RequestStatus,
    /// The id to ask about it again (present while it runs).
    pub(crate) request_id: Option<String>,
    /// Why it failed.
    pub(crate) failure_reason: Option<String>,
}

/// An entry of a request status listing (ListPermissionSetProvisioningStatus,
/// ListAccountAssignmentCreationStatus, ListAccountAssignmentDeletionStatus).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OperationStatus {
    /// The request.
    pub(crate) request_id: Option<String>,
    /// When it was made (epoch seconds, as AWS sends it).
    #[serde(default)]
    pub(crate) created_date: Option<Value>,
}

/// Where an Identity Center instance stands (DescribeInstance).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum InstanceStatus {
    /// In service.
    Active,
    /// Being created.
    CreateInProgress,
    /// Creation failed.
    CreateFailed,
    /// Being deleted.
    DeleteInProgress,
    /// A status this build does not know.
    #[serde(other)]
    Other,
}

/// An Identity Center instance as DescribeInstance describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Instance {
    /// Its status.
    pub(crate) status: InstanceStatus,
}

/// An Identity Center instance as ListInstances lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InstanceSummary {
    /// Its ARN.
    pub(crate) instance_arn: String,
    /// Its identity store.
    pub(crate) identity_store_id: String,
}

/// An account of the organization (ListAccounts, DescribeAccount).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Account {
    /// The 12-digit id.
    pub(crate) id: String,
    /// The account's name.
    pub(crate) name: String,
    /// The root user's email address.
    #[serde(default)]
    pub(crate) email: Option<String>,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ... (the member replacing `Status`).
    #[serde(default)]
    state: Option<String>,
    /// The member being retired in favour of `State`.
    #[serde(default)]
    status: Option<String>,
}

impl Account {
    /// The account's state: `State`, else the retiring `Status`.
    pub(crate) fn state(&self) -> Option<&str> {
        self.state.as_deref().or(self.status.as_deref())
    }
}

/// A root or organizational unit: its id and name (ListRoots, DescribeOrganizationalUnit,
/// ListOrganizationalUnitsForParent).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OrgNode {
    /// `r-...` or `ou-...`.
    pub(crate) id: String,
    /// The display name.
    pub(crate) name: String,
}

/// What kind of node a parent is (ListParents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum ParentType {
    /// The organization's root.
    Root,
    /// An organizational unit.
    OrganizationalUnit,
}

/// A parent of an account or OU (ListParents).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Parent {
    /// Its id.
    pub(crate) id: String,
    /// Root or OU.
    #[serde(rename = "Type")]
    pub(crate) kind: ParentType,
}

/// A resource tag (ListTagsForResource).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Tag {
    /// The key.
    pub(crate) key: String,
    /// The value.
    pub(crate) value: String,
}

/// An Organizations policy attached to a target (ListPoliciesForTarget).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PolicySummary {
    /// `p-...`.
    pub(crate) id: String,
    /// The policy's name (`FullAWSAccess`).
    pub(crate) name: String,
    /// Whether AWS manages it.
    #[serde(default)]
    pub(crate) aws_managed: bool,
    /// Its description.
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// An Identity Store user, as far as commands read it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct User {
    /// The user id.
    pub(crate) user_id: String,
    /// The unique user name.
    pub(crate) user_name: String,
    /// The display name, if set.
    #[serde(default)]
    pub(crate) display_name: Option<String>,
}

/// An Identity Store group, as far as commands read it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Group {
    /// The group id.
    pub(crate) group_id: String,
    /// The unique display name.
    #[serde(default)]
    pub(crate) display_name: Option<String>,
}

/// A group membership (ListGroupMemberships, ListGroupMembershipsForMember).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Membership {
    /// The membership id (what DeleteGroupMembership takes).
    pub(crate) membership_id: String,
    /// The group.
    pub(crate) group_id: String,
    /// The member.
    pub(crate) member_id: MemberId,
}

/// The member of a membership: a user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MemberId {
    /// The user id.
    pub(crate) user_id: String,
}

/// A permission set, as far as commands read it (DescribePermissionSet).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PermissionSet {
    /// Its name.
    pub(crate) name: String,
    /// Its ARN.
    pub(crate) permission_set_arn: String,
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
