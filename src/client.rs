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
/// identitystore IsMemberInGroups.
pub const IS_MEMBER_IN_GROUPS: Operation = Operation::read(IS, "IsMemberInGroups");
/// identitystore CreateGroupMembership.
pub const CREATE_GROUP_MEMBERSHIP: Operation = Operation::write(IS, "CreateGroupMembership");
/// identitystore DeleteGroupMembership.
pub const DELETE_GROUP_MEMBERSHIP: Operation = Operation::write(IS, "DeleteGroupMembership");
/// sso-admin ListInstances.
pub const LIST_INSTANCES: Operation = Operation::list(SSO, "ListInstances", &["Instances"]);
/// sso-admin DescribeInstance.
pub const DESCRIBE_INSTANCE: Operation = Operation::read(SSO, "DescribeInstance");
/// sso-admin ListPermissionSets.
pub const LIST_PERMISSION_SETS: Operation =
    Operation::list(SSO, "ListPermissionSets", &["PermissionSets"]);
/// sso-admin DescribePermissionSet.
pub const DESCRIBE_PERMISSION_SET: Operation = Operation::read(SSO, "DescribePermissionSet");
/// sso-admin CreatePermissionSet.
pub const CREATE_PERMISSION_SET: Operation = Operation::write(SSO, "CreatePermissionSet");
/// sso-admin UpdatePermissionSet.
pub const UPDATE_PERMISSION_SET: Operation = Operation::write(SSO, "UpdatePermissionSet");
/// sso-admin DeletePermissionSet.
pub const DELETE_PERMISSION_SET: Operation = Operation::write(SSO, "DeletePermissionSet");
/// sso-admin ListManagedPoliciesInPermissionSet.
pub const LIST_MANAGED_POLICIES_IN_PERMISSION_SET: Operation = Operation::list(
    SSO,
    "ListManagedPoliciesInPermissionSet",
    &["AttachedManagedPolicies"],
);
/// sso-admin AttachManagedPolicyToPermissionSet.
pub const ATTACH_MANAGED_POLICY_TO_PERMISSION_SET: Operation =
    Operation::write(SSO, "AttachManagedPolicyToPermissionSet");
/// sso-admin DetachManagedPolicyFromPermissionSet.
pub const DETACH_MANAGED_POLICY_FROM_PERMISSION_SET: Operation =
    Operation::write(SSO, "DetachManagedPolicyFromPermissionSet");
/// sso-admin ListCustomerManagedPolicyReferencesInPermissionSet.
pub const LIST_CUSTOMER_MANAGED_POLICY_REFERENCES_IN_PERMISSION_SET: Operation = Operation::list(
    SSO,
    "ListCustomerManagedPolicyReferencesInPermissionSet",
    &["CustomerManagedPolicyReferences"],
);
/// sso-admin AttachCustomerManagedPolicyReferenceToPermissionSet.
pub const ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET: Operation =
    Operation::write(SSO, "AttachCustomerManagedPolicyReferenceToPermissionSet");
/// sso-admin DetachCustomerManagedPolicyReferenceFromPermissionSet.
pub const DETACH_CUSTOMER_MANAGED_POLICY_REFERENCE_FROM_PERMISSION_SET: Operation =
    Operation::write(SSO, "DetachCustomerManagedPolicyReferenceFromPermissionSet");
/// sso-admin GetInlinePolicyForPermissionSet.
pub const GET_INLINE_POLICY_FOR_PERMISSION_SET: Operation =
    Operation::read(SSO, "GetInlinePolicyForPermissionSet");
/// sso-admin PutInlinePolicyToPermissionSet.
pub const PUT_INLINE_POLICY_TO_PERMISSION_SET: Operation =
    Operation::write(SSO, "PutInlinePolicyToPermissionSet");
/// sso-admin DeleteInlinePolicyFromPermissionSet.
pub const DELETE_INLINE_POLICY_FROM_PERMISSION_SET: Operation =
    Operation::write(SSO, "DeleteInlinePolicyFromPermissionSet");
/// sso-admin GetPermissionsBoundaryForPermissionSet.
pub const GET_PERMISSIONS_BOUNDARY_FOR_PERMISSION_SET: Operation =
    Operation::read(SSO, "GetPermissionsBoundaryForPermissionSet");
/// sso-admin PutPermissionsBoundaryToPermissionSet.
pub const PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET: Operation =
    Operation::write(SSO, "PutPermissionsBoundaryToPermissionSet");
/// sso-admin DeletePermissionsBoundaryFromPermissionSet.
pub const DELETE_PERMISSIONS_BOUNDARY_FROM_PERMISSION_SET: Operation =
    Operation::write(SSO, "DeletePermissionsBoundaryFromPermissionSet");
/// sso-admin ProvisionPermissionSet.
pub const PROVISION_PERMISSION_SET: Operation = Operation::write(SSO, "ProvisionPermissionSet");
/// sso-admin DescribePermissionSetProvisioningStatus.
pub const DESCRIBE_PERMISSION_SET_PROVISIONING_STATUS: Operation =
    Operation::read(SSO, "DescribePermissionSetProvisioningStatus");
/// sso-admin ListPermissionSetsProvisionedToAccount.
pub const LIST_PERMISSION_SETS_PROVISIONED_TO_ACCOUNT: Operation = Operation::list(
    SSO,
    "ListPermissionSetsProvisionedToAccount",
    &["PermissionSets"],
);
/// sso-admin ListAccountsForProvisionedPermissionSet.
pub const LIST_ACCOUNTS_FOR_PROVISIONED_PERMISSION_SET: Operation = Operation::list(
    SSO,
    "ListAccountsForProvisionedPermissionSet",
    &["AccountIds"],
);
/// sso-admin ListAccountAssignments.
pub const LIST_ACCOUNT_ASSIGNMENTS: Operation =
    Operation::list(SSO, "ListAccountAssignments", &["AccountAssignments"]);
/// sso-admin ListAccountAssignmentsForPrincipal.
pub const LIST_ACCOUNT_ASSIGNMENTS_FOR_PRINCIPAL: Operation = Operation::list(
    SSO,
    "ListAccountAssignmentsForPrincipal",
    &["AccountAssignments"],
);
/// sso-admin CreateAccountAssignment.
pub const CREATE_ACCOUNT_ASSIGNMENT: Operation = Operation::write(SSO, "CreateAccountAssignment");
/// sso-admin DeleteAccountAssignment.
pub const DELETE_ACCOUNT_ASSIGNMENT: Operation = Operation::write(SSO, "DeleteAccountAssignment");
/// sso-admin DescribeAccountAssignmentCreationStatus.
pub const DESCRIBE_ACCOUNT_ASSIGNMENT_CREATION_STATUS: Operation =
    Operation::read(SSO, "DescribeAccountAssignmentCreationStatus");
/// sso-admin DescribeAccountAssignmentDeletionStatus.
pub const DESCRIBE_ACCOUNT_ASSIGNMENT_DELETION_STATUS: Operation =
    Operation::read(SSO, "DescribeAccountAssignmentDeletionStatus");
/// organizations DescribeOrganization.
pub const DESCRIBE_ORGANIZATION: Operation = Operation::read(ORG, "DescribeOrganization");
/// organizations ListRoots.
pub const LIST_ROOTS: Operation = Operation::list(ORG, "ListRoots", &["Roots"]);
/// organizations ListOrganizationalUnitsForParent.
pub const LIST_ORGANIZATIONAL_UNITS_FOR_PARENT: Operation = Operation::list(
    ORG,
    "ListOrganizationalUnitsForParent",
    &["OrganizationalUnits"],
);
/// organizations ListAccountsForParent.
pub const LIST_ACCOUNTS_FOR_PARENT: Operation =
    Operation::list(ORG, "ListAccountsForParent", &["Accounts"]);
/// organizations ListAccounts.
pub const LIST_ACCOUNTS: Operation = Operation::list(ORG, "ListAccounts", &["Accounts"]);
/// organizations ListChildren.
pub const LIST_CHILDREN: Operation = Operation::list(ORG, "ListChildren", &["Children"]);
/// organizations ListParents.
pub const LIST_PARENTS: Operation = Operation::list(ORG, "ListParents", &["Parents"]);
/// organizations DescribeAccount.
pub const DESCRIBE_ACCOUNT: Operation = Operation::read(ORG, "DescribeAccount");
/// organizations DescribeOrganizationalUnit.
pub const DESCRIBE_ORGANIZATIONAL_UNIT: Operation =
    Operation::read(ORG, "DescribeOrganizationalUnit");
/// organizations ListTagsForResource.
pub const LIST_TAGS_FOR_RESOURCE: Operation =
    Operation::list(ORG, "ListTagsForResource", &["Tags"]);

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
    IS_MEMBER_IN_GROUPS,
    CREATE_GROUP_MEMBERSHIP,
    DELETE_GROUP_MEMBERSHIP,
    LIST_INSTANCES,
    DESCRIBE_INSTANCE,
    LIST_PERMISSION_SETS,
    DESCRIBE_PERMISSION_SET,
    CREATE_PERMISSION_SET,
    UPDATE_PERMISSION_SET,
    DELETE_PERMISSION_SET,
    LIST_MANAGED_POLICIES_IN_PERMISSION_SET,
    ATTACH_MANAGED_POLICY_TO_PERMISSION_SET,
    DETACH_MANAGED_POLICY_FROM_PERMISSION_SET,
    LIST_CUSTOMER_MANAGED_POLICY_REFERENCES_IN_PERMISSION_SET,
    ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET,
    DETACH_CUSTOMER_MANAGED_POLICY_REFERENCE_FROM_PERMISSION_SET,
    GET_INLINE_POLICY_FOR_PERMISSION_SET,
    PUT_INLINE_POLICY_TO_PERMISSION_SET,
    DELETE_INLINE_POLICY_FROM_PERMISSION_SET,
    GET_PERMISSIONS_BOUNDARY_FOR_PERMISSION_SET,
    PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET,
    DELETE_PERMISSIONS_BOUNDARY_FROM_PERMISSION_SET,
    PROVISION_PERMISSION_SET,
    DESCRIBE_PERMISSION_SET_PROVISIONING_STATUS,
    LIST_PERMISSION_SETS_PROVISIONED_TO_ACCOUNT,
    LIST_ACCOUNTS_FOR_PROVISIONED_PERMISSION_SET,
    LIST_ACCOUNT_ASSIGNMENTS,
    LIST_ACCOUNT_ASSIGNMENTS_FOR_PRINCIPAL,
    CREATE_ACCOUNT_ASSIGNMENT,
    DELETE_ACCOUNT_ASSIGNMENT,
    DESCRIBE_ACCOUNT_ASSIGNMENT_CREATION_STATUS,
    DESCRIBE_ACCOUNT_ASSIGNMENT_DELETION_STATUS,
    DESCRIBE_ORGANIZATION,
    LIST_ROOTS,
    LIST_ORGANIZATIONAL_UNITS_FOR_PARENT,
    LIST_ACCOUNTS_FOR_PARENT,
    LIST_ACCOUNTS,
    LIST_CHILDREN,
    LIST_PARENTS,
    DESCRIBE_ACCOUNT,
    DESCRIBE_ORGANIZATIONAL_UNIT,
    LIST_TAGS_FOR_RESOURCE,
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
            let read_name = ["List", "Describe", "Get", "IsMember"]
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
