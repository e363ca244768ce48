//! The client every command calls AWS through, and its operation table.
//!
//! An AWS operation is a row here (service, name, read or write, paging), not a module.
//! Commands never reach the transport around this client.

use serde_json::Value;

use crate::aws::paginate::{self, Paging};
use crate::aws::service::Service;
use crate::aws::session::Session;
use crate::error::Result;

/// Whether an operation reads or changes AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// A List*, Describe* or Get*: safe to answer from the cache.
    Read,
    /// Anything that changes state.
    Write,
}

/// One AWS operation awsideman uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The service it belongs to.
    pub service: Service,
    /// The operation name (`ListUsers`).
    pub name: &'static str,
    /// Read or write.
    pub kind: OpKind,
    /// How it pages, for list operations.
    pub paging: Option<Paging>,
}

impl Operation {
    const fn read(service: Service, name: &'static str) -> Operation {
        Operation {
            service,
            name,
            kind: OpKind::Read,
            paging: None,
        }
    }

    const fn write(service: Service, name: &'static str) -> Operation {
        Operation {
            service,
            name,
            kind: OpKind::Write,
            paging: None,
        }
    }

    const fn list(
        service: Service,
        name: &'static str,
        keys: &'static [&'static str],
    ) -> Operation {
        let max_results = match service {
            Service::IdentityStore | Service::SsoAdmin => Some(100),
            Service::Organizations => Some(20),
            _ => None,
        };
        Operation {
            service,
            name,
            kind: OpKind::Read,
            paging: Some(Paging {
                result_keys: keys,
                max_results,
            }),
        }
    }

    /// The IAM action that allows this operation (`identitystore:ListUsers`).
    pub fn iam_action(&self) -> String {
        format!("{}:{}", self.service.iam_prefix(), self.name)
    }
}

use Service::{IdentityStore as IS, Organizations as ORG, SsoAdmin as SSO};

/// identitystore ListUsers.
pub const LIST_USERS: Operation = Operation::list(IS, "ListUsers", &["Users"]);
/// identitystore DescribeUser.
pub const DESCRIBE_USER: Operation = Operation::read(IS, "DescribeUser");
/// identitystore GetUserId.
pub const GET_USER_ID: Operation = Operation::read(IS, "GetUserId");
/// identitystore CreateUser.
pub const CREATE_USER: Operation = Operation::write(IS, "CreateUser");
/// identitystore UpdateUser.
pub const UPDATE_USER: Operation = Operation::write(IS, "UpdateUser");
/// identitystore DeleteUser.
pub const DELETE_USER: Operation = Operation::write(IS, "DeleteUser");
/// identitystore ListGroups.
pub const LIST_GROUPS: Operation = Operation::list(IS, "ListGroups", &["Groups"]);
/// identitystore DescribeGroup.
pub const DESCRIBE_GROUP: Operation = Operation::read(IS, "DescribeGroup");
/// identitystore GetGroupId.
pub const GET_GROUP_ID: Operation = Operation::read(IS, "GetGroupId");
/// identitystore CreateGroup.
pub const CREATE_GROUP: Operation = Operation::write(IS, "CreateGroup");
/// identitystore UpdateGroup.
pub const UPDATE_GROUP: Operation = Operation::write(IS, "UpdateGroup");
/// identitystore DeleteGroup.
pub const DELETE_GROUP: Operation = Operation::write(IS, "DeleteGroup");
/// identitystore ListGroupMemberships.
pub const LIST_GROUP_MEMBERSHIPS: Operation =
    Operation::list(IS, "ListGroupMemberships", &["GroupMemberships"]);
/// identitystore ListGroupMembershipsForMember.
pub const LIST_GROUP_MEMBERSHIPS_FOR_MEMBER: Operation =
    Operation::list(IS, "ListGroupMembershipsForMember", &["GroupMemberships"]);
/// identitystore GetGroupMembershipId.
pub const GET_GROUP_MEMBERSHIP_ID: Operation = Operation::read(IS, "GetGroupMembershipId");
/// identitystore CreateGroupMembership.
pub const CREATE_GROUP_MEMBERSHIP: Operation = Operation::write(IS, "CreateGroupMembership");
/// identitystore DeleteGroupMembership.
pub const DELETE_GROUP_MEMBERSHIP: Operation = Operation::write(IS, "DeleteGroupMembership");

/// sso-admin ListInstances.
pub const LIST_INSTANCES: Operation = Operation::list(SSO, "ListInstances", &["Instances"]);
/// sso-admin ListPermissionSets.
pub const LIST_PERMISSION_SETS: Operation =
    Operation::list(SSO, "ListPermissionSets", &["PermissionSets"]);
/// sso-admin DescribePermissionSet.
pub const DESCRIBE_PERMISSION_SET: Operation = Operation::read(SSO, "DescribePermissionSet");

/// organizations DescribeOrganization.
pub const DESCRIBE_ORGANIZATION: Operation = Operation::read(ORG, "DescribeOrganization");
/// organizations ListRoots.
pub const LIST_ROOTS: Operation = Operation::list(ORG, "ListRoots", &["Roots"]);
/// organizations ListAccounts.
pub const LIST_ACCOUNTS: Operation = Operation::list(ORG, "ListAccounts", &["Accounts"]);

/// Every operation of the table, for listings and IAM policy generation.
pub const OPERATIONS: &[Operation] = &[
    LIST_USERS,
    DESCRIBE_USER,
    GET_USER_ID,
    CREATE_USER,
    UPDATE_USER,
    DELETE_USER,
    LIST_GROUPS,
    DESCRIBE_GROUP,
    GET_GROUP_ID,
    CREATE_GROUP,
    UPDATE_GROUP,
    DELETE_GROUP,
    LIST_GROUP_MEMBERSHIPS,
    LIST_GROUP_MEMBERSHIPS_FOR_MEMBER,
    GET_GROUP_MEMBERSHIP_ID,
    CREATE_GROUP_MEMBERSHIP,
    DELETE_GROUP_MEMBERSHIP,
    LIST_INSTANCES,
    LIST_PERMISSION_SETS,
    DESCRIBE_PERMISSION_SET,
    DESCRIBE_ORGANIZATION,
    LIST_ROOTS,
    LIST_ACCOUNTS,
];

/// The client commands use: one call per operation, every page of a list merged.
pub struct Client {
    session: Session,
}

impl Client {
    /// A client over a session.
    pub fn new(session: Session) -> Client {
        Client { session }
    }

    /// The session (region, profile) behind the client.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Calls `op` once with `input`.
    pub fn call(&self, op: &Operation, input: Value) -> Result<Value> {
        self.session.call(op.service, op.name, &input)
    }

    /// Calls a list operation until its last page and returns every item in one reply.
    pub fn list(&self, op: &Operation, input: Value) -> Result<Value> {
        self.list_limited(op, input, None)
    }

    /// Like [`Client::list`], stopping once `limit` items are collected (the reply then
    /// carries `"Truncated": true`).
    pub fn list_limited(
        &self,
        op: &Operation,
        input: Value,
        limit: Option<usize>,
    ) -> Result<Value> {
        match &op.paging {
            Some(paging) => paginate::collect_pages(&input, paging, limit, |page| {
                self.session.call(op.service, op.name, page)
            }),
            None => self.call(op, input),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut names: Vec<_> = OPERATIONS.iter().map(|o| (o.service, o.name)).collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            OPERATIONS.len(),
            "an operation is listed twice"
        );
        for op in OPERATIONS {
            let read_name = ["List", "Describe", "Get"]
                .iter()
                .any(|p| op.name.starts_with(p));
            assert_eq!(read_name, op.kind == OpKind::Read, "{} kind", op.name);
            assert_eq!(
                op.paging.is_some(),
                op.name.starts_with("List"),
                "{} paging",
                op.name
            );
        }
        assert_eq!(LIST_USERS.iam_action(), "identitystore:ListUsers");
        assert_eq!(LIST_INSTANCES.iam_action(), "sso:ListInstances");
    }
}
