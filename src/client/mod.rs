//! The client every command calls AWS through, and its operation table.
//!
//! An AWS operation is a row here (service, name, read or write, paging), not a module.
//! Commands never reach the transport around this client.

pub(crate) mod permission_set;
pub(crate) mod shapes;

use serde_json::Value;

use crate::aws::http::HttpResponse;
use std::sync::atomic::Ordering;

use crate::aws::paginate::{self, Paging};
use crate::aws::service::Service;
use crate::aws::session::Session;
use crate::aws::transport::RestRequest;
use crate::cache::key::{self, CacheKey, Namespace};
use crate::cache::{CacheManager, Invalidation, NewEntry, Parts, Read, Ticket};
use crate::document::Document;
use crate::error::{Error, Result};
use crate::rollback::Recorder;

/// Whether an operation reads or changes AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// A List*, Describe* or Get*: answered from the cache when it can be.
    Read,
    /// A read of something that changes by itself (request statuses): never cached.
    Status,
    /// Anything that changes state: invalidates the cached reads it can change.
    Write,
    /// A read or write of objects awsideman keeps itself (backups in S3): never cached and
    /// invalidating nothing, since no cached answer describes them.
    Stored,
}

/// Where an operation's answers may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// In any cache, shared between machines or not.
    Anywhere,
    /// Only in a cache this machine alone uses: answers that decide which instance a
    /// profile is saved with (`sso discover`) never come from another machine.
    ThisMachine,
}

/// One AWS operation awsideman uses: a row of the operation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The service it belongs to.
    pub(crate) service: Service,
    /// The operation name (`ListUsers`).
    pub(crate) name: &'static str,
    /// Read, status or write.
    pub(crate) kind: OpKind,
    /// How it pages, for list operations.
    pub(crate) paging: Option<Paging>,
    /// Cache tags, as templates over the request (`users:{IdentityStoreId}`): for a read,
    /// the tags its answer is filed under; for a write, the tags whose answers it changes.
    pub(crate) tags: &'static [&'static str],
    /// Where its answers may be cached.
    pub(crate) sharing: Sharing,
    /// The IAM action's name when it is not the operation's (`ListObjectsV2` is allowed by
    /// `s3:ListBucket`).
    pub(crate) iam_name: Option<&'static str>,
}

impl Operation {
    const fn read(
        service: Service,
        name: &'static str,
        tags: &'static [&'static str],
    ) -> Operation {
        Operation {
            service,
            name,
            kind: OpKind::Read,
            paging: None,
            tags,
            sharing: Sharing::Anywhere,
            iam_name: None,
        }
    }

    const fn status(service: Service, name: &'static str) -> Operation {
        Operation {
            service,
            name,
            kind: OpKind::Status,
            paging: None,
            tags: &[],
            sharing: Sharing::Anywhere,
            iam_name: None,
        }
    }

    const fn write(
        service: Service,
        name: &'static str,
        tags: &'static [&'static str],
    ) -> Operation {
        Operation {
            service,
            name,
            kind: OpKind::Write,
            paging: None,
            tags,
            sharing: Sharing::Anywhere,
            iam_name: None,
        }
    }

    const fn list(
        service: Service,
        name: &'static str,
        keys: &'static [&'static str],
        tags: &'static [&'static str],
    ) -> Operation {
        Operation {
            service,
            name,
            kind: OpKind::Read,
            paging: Some(Paging {
                result_keys: keys,
                max_results: service.max_page_size(),
            }),
            tags,
            sharing: Sharing::Anywhere,
            iam_name: None,
        }
    }

    /// An operation on objects awsideman keeps itself in `service` (see [`OpKind::Stored`]).
    const fn stored(service: Service, name: &'static str, iam_name: &'static str) -> Operation {
        Operation {
            service,
            name,
            kind: OpKind::Stored,
            paging: None,
            tags: &[],
            sharing: Sharing::ThisMachine,
            iam_name: Some(iam_name),
        }
    }

    /// The same operation, cached only where this machine alone reads (see [`Sharing`]).
    const fn on_this_machine_only(self) -> Operation {
        Operation {
            sharing: Sharing::ThisMachine,
            ..self
        }
    }

    /// The IAM action that allows this operation (`identitystore:ListUsers`).
    pub(crate) fn iam_action(&self) -> String {
        format!(
            "{}:{}",
            self.service.iam_prefix(),
            self.iam_name.unwrap_or(self.name)
        )
    }

    /// The operation's name in snake case, as `cache.operation_ttls` spells it
    /// (`ListUsers` -> `list_users`).
    pub(crate) fn snake_name(&self) -> String {
        let mut out = String::new();
        for (i, c) in self.name.chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

use Service::{IdentityStore as IS, Organizations as ORG, S3, SsoAdmin as SSO};
/// identitystore ListUsers.
pub(crate) const LIST_USERS: Operation =
    Operation::list(IS, "ListUsers", &["Users"], &["users:{IdentityStoreId}"]);
/// identitystore DescribeUser.
pub(crate) const DESCRIBE_USER: Operation =
    Operation::read(IS, "DescribeUser", &["users:{IdentityStoreId}"]);
/// identitystore GetUserId.
pub(crate) const GET_USER_ID: Operation =
    Operation::read(IS, "GetUserId", &["users:{IdentityStoreId}"]);
/// identitystore CreateUser.
pub(crate) const CREATE_USER: Operation =
    Operation::write(IS, "CreateUser", &["users:{IdentityStoreId}"]);
/// identitystore UpdateUser.
pub(crate) const UPDATE_USER: Operation =
    Operation::write(IS, "UpdateUser", &["users:{IdentityStoreId}"]);
/// identitystore DeleteUser.
pub(crate) const DELETE_USER: Operation = Operation::write(
    IS,
    "DeleteUser",
    &[
        "users:{IdentityStoreId}",
        "members:{IdentityStoreId}",
        "memberof:{IdentityStoreId}:{UserId}",
    ],
);
/// identitystore ListGroups.
pub(crate) const LIST_GROUPS: Operation =
    Operation::list(IS, "ListGroups", &["Groups"], &["groups:{IdentityStoreId}"]);
/// identitystore DescribeGroup.
pub(crate) const DESCRIBE_GROUP: Operation =
    Operation::read(IS, "DescribeGroup", &["groups:{IdentityStoreId}"]);
/// identitystore GetGroupId.
pub(crate) const GET_GROUP_ID: Operation =
    Operation::read(IS, "GetGroupId", &["groups:{IdentityStoreId}"]);
/// identitystore CreateGroup.
pub(crate) const CREATE_GROUP: Operation =
    Operation::write(IS, "CreateGroup", &["groups:{IdentityStoreId}"]);
/// identitystore UpdateGroup.
pub(crate) const UPDATE_GROUP: Operation =
    Operation::write(IS, "UpdateGroup", &["groups:{IdentityStoreId}"]);
/// identitystore DeleteGroup.
pub(crate) const DELETE_GROUP: Operation = Operation::write(
    IS,
    "DeleteGroup",
    &[
        "groups:{IdentityStoreId}",
        "members:{IdentityStoreId}:{GroupId}",
        "memberof:{IdentityStoreId}",
    ],
);
/// identitystore ListGroupMemberships.
pub(crate) const LIST_GROUP_MEMBERSHIPS: Operation = Operation::list(
    IS,
    "ListGroupMemberships",
    &["GroupMemberships"],
    &[
        "members:{IdentityStoreId}:{GroupId}",
        "members:{IdentityStoreId}",
    ],
);
/// identitystore ListGroupMembershipsForMember.
pub(crate) const LIST_GROUP_MEMBERSHIPS_FOR_MEMBER: Operation = Operation::list(
    IS,
    "ListGroupMembershipsForMember",
    &["GroupMemberships"],
    &[
        "memberof:{IdentityStoreId}:{MemberId.UserId}",
        "memberof:{IdentityStoreId}",
    ],
);
/// identitystore GetGroupMembershipId.
pub(crate) const GET_GROUP_MEMBERSHIP_ID: Operation = Operation::read(
    IS,
    "GetGroupMembershipId",
    &[
        "members:{IdentityStoreId}:{GroupId}",
        "members:{IdentityStoreId}",
    ],
);
/// identitystore CreateGroupMembership.
pub(crate) const CREATE_GROUP_MEMBERSHIP: Operation = Operation::write(
    IS,
    "CreateGroupMembership",
    &[
        "members:{IdentityStoreId}:{GroupId}",
        "members:{IdentityStoreId}:any",
        "memberof:{IdentityStoreId}:{MemberId.UserId}",
    ],
);
/// identitystore DeleteGroupMembership.
pub(crate) const DELETE_GROUP_MEMBERSHIP: Operation = Operation::write(
    IS,
    "DeleteGroupMembership",
    &["members:{IdentityStoreId}", "memberof:{IdentityStoreId}"],
);
/// sso-admin ListInstances.
pub(crate) const LIST_INSTANCES: Operation =
    Operation::list(SSO, "ListInstances", &["Instances"], &["instances"]).on_this_machine_only();
/// sso-admin ListPermissionSets.
pub(crate) const LIST_PERMISSION_SETS: Operation = Operation::list(
    SSO,
    "ListPermissionSets",
    &["PermissionSets"],
    &["permsets:{InstanceArn}"],
);
/// sso-admin DescribePermissionSet.
pub(crate) const DESCRIBE_PERMISSION_SET: Operation = Operation::read(
    SSO,
    "DescribePermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin CreatePermissionSet.
pub(crate) const CREATE_PERMISSION_SET: Operation =
    Operation::write(SSO, "CreatePermissionSet", &["permsets:{InstanceArn}"]);
/// sso-admin UpdatePermissionSet.
pub(crate) const UPDATE_PERMISSION_SET: Operation = Operation::write(
    SSO,
    "UpdatePermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin DeletePermissionSet.
pub(crate) const DELETE_PERMISSION_SET: Operation = Operation::write(
    SSO,
    "DeletePermissionSet",
    &[
        "permsets:{InstanceArn}",
        "permset:{InstanceArn}:{PermissionSetArn}",
        "provisioned:{InstanceArn}",
        "assignments:{InstanceArn}",
    ],
);
/// sso-admin ListManagedPoliciesInPermissionSet.
pub(crate) const LIST_MANAGED_POLICIES_IN_PERMISSION_SET: Operation = Operation::list(
    SSO,
    "ListManagedPoliciesInPermissionSet",
    &["AttachedManagedPolicies"],
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin AttachManagedPolicyToPermissionSet.
pub(crate) const ATTACH_MANAGED_POLICY_TO_PERMISSION_SET: Operation = Operation::write(
    SSO,
    "AttachManagedPolicyToPermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin AttachCustomerManagedPolicyReferenceToPermissionSet.
pub(crate) const ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET: Operation =
    Operation::write(
        SSO,
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        &["permset:{InstanceArn}:{PermissionSetArn}"],
    );
/// sso-admin DetachCustomerManagedPolicyReferenceFromPermissionSet.
pub(crate) const DETACH_CUSTOMER_MANAGED_POLICY_REFERENCE_FROM_PERMISSION_SET: Operation =
    Operation::write(
        SSO,
        "DetachCustomerManagedPolicyReferenceFromPermissionSet",
        &["permset:{InstanceArn}:{PermissionSetArn}"],
    );
/// sso-admin DeletePermissionsBoundaryFromPermissionSet.
pub(crate) const DELETE_PERMISSIONS_BOUNDARY_FROM_PERMISSION_SET: Operation = Operation::write(
    SSO,
    "DeletePermissionsBoundaryFromPermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin PutPermissionsBoundaryToPermissionSet.
pub(crate) const PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET: Operation = Operation::write(
    SSO,
    "PutPermissionsBoundaryToPermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin DetachManagedPolicyFromPermissionSet.
pub(crate) const DETACH_MANAGED_POLICY_FROM_PERMISSION_SET: Operation = Operation::write(
    SSO,
    "DetachManagedPolicyFromPermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin ListCustomerManagedPolicyReferencesInPermissionSet.
pub(crate) const LIST_CUSTOMER_MANAGED_POLICY_REFERENCES_IN_PERMISSION_SET: Operation =
    Operation::list(
        SSO,
        "ListCustomerManagedPolicyReferencesInPermissionSet",
        &["CustomerManagedPolicyReferences"],
        &["permset:{InstanceArn}:{PermissionSetArn}"],
    );
/// sso-admin GetInlinePolicyForPermissionSet.
pub(crate) const GET_INLINE_POLICY_FOR_PERMISSION_SET: Operation = Operation::read(
    SSO,
    "GetInlinePolicyForPermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin PutInlinePolicyToPermissionSet.
pub(crate) const PUT_INLINE_POLICY_TO_PERMISSION_SET: Operation = Operation::write(
    SSO,
    "PutInlinePolicyToPermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin DeleteInlinePolicyFromPermissionSet.
pub(crate) const DELETE_INLINE_POLICY_FROM_PERMISSION_SET: Operation = Operation::write(
    SSO,
    "DeleteInlinePolicyFromPermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin GetPermissionsBoundaryForPermissionSet.
pub(crate) const GET_PERMISSIONS_BOUNDARY_FOR_PERMISSION_SET: Operation = Operation::read(
    SSO,
    "GetPermissionsBoundaryForPermissionSet",
    &["permset:{InstanceArn}:{PermissionSetArn}"],
);
/// sso-admin ProvisionPermissionSet.
pub(crate) const PROVISION_PERMISSION_SET: Operation = Operation::write(
    SSO,
    "ProvisionPermissionSet",
    &["provisioned:{InstanceArn}"],
);
/// sso-admin DescribeInstance (the instance's status; never cached).
pub(crate) const DESCRIBE_INSTANCE: Operation = Operation::status(SSO, "DescribeInstance");
/// sso-admin ListPermissionSetProvisioningStatus (never cached).
pub(crate) const LIST_PERMISSION_SET_PROVISIONING_STATUS: Operation = Operation {
    kind: OpKind::Status,
    ..Operation::list(
        SSO,
        "ListPermissionSetProvisioningStatus",
        &["PermissionSetsProvisioningStatus"],
        &[],
    )
};
/// sso-admin ListAccountAssignmentCreationStatus (never cached).
pub(crate) const LIST_ACCOUNT_ASSIGNMENT_CREATION_STATUS: Operation = Operation {
    kind: OpKind::Status,
    ..Operation::list(
        SSO,
        "ListAccountAssignmentCreationStatus",
        &["AccountAssignmentsCreationStatus"],
        &[],
    )
};
/// sso-admin ListAccountAssignmentDeletionStatus (never cached).
pub(crate) const LIST_ACCOUNT_ASSIGNMENT_DELETION_STATUS: Operation = Operation {
    kind: OpKind::Status,
    ..Operation::list(
        SSO,
        "ListAccountAssignmentDeletionStatus",
        &["AccountAssignmentsDeletionStatus"],
        &[],
    )
};
/// sso-admin DescribePermissionSetProvisioningStatus.
pub(crate) const DESCRIBE_PERMISSION_SET_PROVISIONING_STATUS: Operation =
    Operation::status(SSO, "DescribePermissionSetProvisioningStatus");
/// sso-admin ListPermissionSetsProvisionedToAccount.
pub(crate) const LIST_PERMISSION_SETS_PROVISIONED_TO_ACCOUNT: Operation = Operation::list(
    SSO,
    "ListPermissionSetsProvisionedToAccount",
    &["PermissionSets"],
    &["provisioned:{InstanceArn}"],
);
/// sso-admin ListAccountsForProvisionedPermissionSet.
pub(crate) const LIST_ACCOUNTS_FOR_PROVISIONED_PERMISSION_SET: Operation = Operation::list(
    SSO,
    "ListAccountsForProvisionedPermissionSet",
    &["AccountIds"],
    &["provisioned:{InstanceArn}"],
);
/// sso-admin ListAccountAssignments.
pub(crate) const LIST_ACCOUNT_ASSIGNMENTS: Operation = Operation::list(
    SSO,
    "ListAccountAssignments",
    &["AccountAssignments"],
    &[
        "assignments:{InstanceArn}:account:{AccountId}",
        "assignments:{InstanceArn}",
    ],
);
/// sso-admin ListAccountAssignmentsForPrincipal.
pub(crate) const LIST_ACCOUNT_ASSIGNMENTS_FOR_PRINCIPAL: Operation = Operation::list(
    SSO,
    "ListAccountAssignmentsForPrincipal",
    &["AccountAssignments"],
    &[
        "assignments:{InstanceArn}:principal:{PrincipalId}",
        "assignments:{InstanceArn}",
    ],
);
/// sso-admin CreateAccountAssignment.
pub(crate) const CREATE_ACCOUNT_ASSIGNMENT: Operation = Operation::write(
    SSO,
    "CreateAccountAssignment",
    &[
        "assignments:{InstanceArn}:account:{TargetId}",
        "assignments:{InstanceArn}:principal:{PrincipalId}",
        "assignments:{InstanceArn}:any",
        "provisioned:{InstanceArn}",
    ],
);
/// sso-admin DeleteAccountAssignment.
pub(crate) const DELETE_ACCOUNT_ASSIGNMENT: Operation = Operation::write(
    SSO,
    "DeleteAccountAssignment",
    &[
        "assignments:{InstanceArn}:account:{TargetId}",
        "assignments:{InstanceArn}:principal:{PrincipalId}",
        "assignments:{InstanceArn}:any",
        "provisioned:{InstanceArn}",
    ],
);
/// sso-admin DescribeAccountAssignmentCreationStatus.
pub(crate) const DESCRIBE_ACCOUNT_ASSIGNMENT_CREATION_STATUS: Operation =
    Operation::status(SSO, "DescribeAccountAssignmentCreationStatus");
/// sso-admin DescribeAccountAssignmentDeletionStatus.
pub(crate) const DESCRIBE_ACCOUNT_ASSIGNMENT_DELETION_STATUS: Operation =
    Operation::status(SSO, "DescribeAccountAssignmentDeletionStatus");
/// organizations ListRoots.
pub(crate) const LIST_ROOTS: Operation = Operation::list(ORG, "ListRoots", &["Roots"], &["org"]);
/// organizations ListOrganizationalUnitsForParent.
pub(crate) const LIST_ORGANIZATIONAL_UNITS_FOR_PARENT: Operation = Operation::list(
    ORG,
    "ListOrganizationalUnitsForParent",
    &["OrganizationalUnits"],
    &["org"],
);
/// organizations ListAccountsForParent.
pub(crate) const LIST_ACCOUNTS_FOR_PARENT: Operation =
    Operation::list(ORG, "ListAccountsForParent", &["Accounts"], &["org"]);
/// organizations ListAccounts.
pub(crate) const LIST_ACCOUNTS: Operation =
    Operation::list(ORG, "ListAccounts", &["Accounts"], &["org"]);
/// organizations ListParents.
pub(crate) const LIST_PARENTS: Operation =
    Operation::list(ORG, "ListParents", &["Parents"], &["org"]);
/// organizations ListPoliciesForTarget (service control and resource control policies).
pub(crate) const LIST_POLICIES_FOR_TARGET: Operation =
    Operation::list(ORG, "ListPoliciesForTarget", &["Policies"], &["org"]);
/// organizations DescribeAccount.
pub(crate) const DESCRIBE_ACCOUNT: Operation = Operation::read(ORG, "DescribeAccount", &["org"]);
/// organizations DescribeOrganizationalUnit.
pub(crate) const DESCRIBE_ORGANIZATIONAL_UNIT: Operation =
    Operation::read(ORG, "DescribeOrganizationalUnit", &["org"]);
/// organizations ListTagsForResource (pages by NextToken but takes no MaxResults).
pub(crate) const LIST_TAGS_FOR_RESOURCE: Operation = Operation {
    paging: Some(Paging {
        result_keys: &["Tags"],
        max_results: None,
    }),
    ..Operation::list(ORG, "ListTagsForResource", &["Tags"], &["org"])
};
/// sso-admin ListTagsForResource (a permission set's tags; pages by NextToken only).
pub(crate) const LIST_PERMISSION_SET_TAGS: Operation = Operation {
    paging: Some(Paging {
        result_keys: &["Tags"],
        max_results: None,
    }),
    ..Operation::list(
        SSO,
        "ListTagsForResource",
        &["Tags"],
        &["permset:{InstanceArn}:{ResourceArn}"],
    )
};
/// sso-admin TagResource (tags added to or changed on a permission set, `ResourceArn`): it
/// changes what LIST_PERMISSION_SET_TAGS answers for that set.
pub(crate) const TAG_RESOURCE: Operation =
    Operation::write(SSO, "TagResource", &["permset:{InstanceArn}:{ResourceArn}"]);
/// sso-admin UntagResource (tags removed from a permission set, `ResourceArn`).
pub(crate) const UNTAG_RESOURCE: Operation = Operation::write(
    SSO,
    "UntagResource",
    &["permset:{InstanceArn}:{ResourceArn}"],
);
/// s3 PutObject (a backup written).
pub(crate) const PUT_OBJECT: Operation = Operation::stored(S3, "PutObject", "PutObject");
/// s3 GetObject (a backup read).
pub(crate) const GET_OBJECT: Operation = Operation::stored(S3, "GetObject", "GetObject");
/// s3 ListObjectsV2 (the backups under a prefix; IAM action s3:ListBucket).
pub(crate) const LIST_OBJECTS_V2: Operation = Operation::stored(S3, "ListObjectsV2", "ListBucket");
/// s3 DeleteObject (a backup deleted).
pub(crate) const DELETE_OBJECT: Operation = Operation::stored(S3, "DeleteObject", "DeleteObject");

/// Answers awsideman builds from many reads and caches as one entry, so a warm command reads
/// a few entries instead of hundreds. A composite's tags cover everything its parts depend
/// on (coarse tags that every write to a part also invalidates), and it expires with its
/// oldest part ([`Client::composite`]). Not AWS operations: never in IAM policies.
pub(crate) const COMPOSITES: &[Operation] = &[
    ORGANIZATION_ASSIGNMENTS,
    ORGANIZATION_ASSIGNMENT_ROWS,
    ORGANIZATION_ACCESS_ROWS,
    GROUP_MEMBERS,
];

/// Every account assignment of the organization, by the cheaper reading plan (accounts,
/// the sets provisioned to each, the assignments of each set in each account).
pub(crate) const ORGANIZATION_ASSIGNMENTS: Operation = Operation::read(
    SSO,
    "OrganizationAssignments",
    &[
        "org",
        "users:{IdentityStoreId}",
        "groups:{IdentityStoreId}",
        "provisioned:{InstanceArn}",
        "assignments:{InstanceArn}",
        "assignments:{InstanceArn}:any",
    ],
);

/// `assignment list` of the whole organization as printed: every assignment with the names
/// of its account, permission set and principal. Depends on what
/// [`ORGANIZATION_ASSIGNMENTS`] depends on (the users and groups tags also cover renames)
/// and on the permission sets there are.
pub(crate) const ORGANIZATION_ASSIGNMENT_ROWS: Operation = Operation::read(
    SSO,
    "OrganizationAssignmentRows",
    &[
        "org",
        "users:{IdentityStoreId}",
        "groups:{IdentityStoreId}",
        "permsets:{InstanceArn}",
        "provisioned:{InstanceArn}",
        "assignments:{InstanceArn}",
        "assignments:{InstanceArn}:any",
    ],
);

/// `access-review org` of the whole organization as printed: every assignment and every
/// user each group assignment reaches, named. Depends on what
/// [`ORGANIZATION_ASSIGNMENT_ROWS`] depends on and on every group's members (see
/// [`GROUP_MEMBERS`]).
pub(crate) const ORGANIZATION_ACCESS_ROWS: Operation = Operation::read(
    SSO,
    "OrganizationAccessRows",
    &[
        "org",
        "users:{IdentityStoreId}",
        "groups:{IdentityStoreId}",
        "members:{IdentityStoreId}",
        "members:{IdentityStoreId}:any",
        "permsets:{InstanceArn}",
        "provisioned:{InstanceArn}",
        "assignments:{InstanceArn}",
        "assignments:{InstanceArn}:any",
    ],
);

/// The member user ids of each group of a list (`GroupIds`): one ListGroupMemberships per
/// group. Any membership added (`:any`) or deleted (the store-wide tag), any user or group
/// deleted, changes it.
pub(crate) const GROUP_MEMBERS: Operation = Operation::read(
    IS,
    "GroupMembers",
    &[
        "users:{IdentityStoreId}",
        "groups:{IdentityStoreId}",
        "members:{IdentityStoreId}",
        "members:{IdentityStoreId}:any",
    ],
);

/// Every operation of the table, for listings and IAM policy generation.
pub(crate) const OPERATIONS: &[Operation] = &[
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
    CREATE_PERMISSION_SET,
    UPDATE_PERMISSION_SET,
    DELETE_PERMISSION_SET,
    LIST_MANAGED_POLICIES_IN_PERMISSION_SET,
    ATTACH_MANAGED_POLICY_TO_PERMISSION_SET,
    DETACH_MANAGED_POLICY_FROM_PERMISSION_SET,
    LIST_CUSTOMER_MANAGED_POLICY_REFERENCES_IN_PERMISSION_SET,
    GET_INLINE_POLICY_FOR_PERMISSION_SET,
    PUT_INLINE_POLICY_TO_PERMISSION_SET,
    DELETE_INLINE_POLICY_FROM_PERMISSION_SET,
    GET_PERMISSIONS_BOUNDARY_FOR_PERMISSION_SET,
    PROVISION_PERMISSION_SET,
    DESCRIBE_INSTANCE,
    ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET,
    DETACH_CUSTOMER_MANAGED_POLICY_REFERENCE_FROM_PERMISSION_SET,
    PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET,
    DELETE_PERMISSIONS_BOUNDARY_FROM_PERMISSION_SET,
    LIST_PERMISSION_SET_PROVISIONING_STATUS,
    LIST_ACCOUNT_ASSIGNMENT_CREATION_STATUS,
    LIST_ACCOUNT_ASSIGNMENT_DELETION_STATUS,
    DESCRIBE_PERMISSION_SET_PROVISIONING_STATUS,
    LIST_PERMISSION_SETS_PROVISIONED_TO_ACCOUNT,
    LIST_ACCOUNTS_FOR_PROVISIONED_PERMISSION_SET,
    LIST_ACCOUNT_ASSIGNMENTS,
    LIST_ACCOUNT_ASSIGNMENTS_FOR_PRINCIPAL,
    CREATE_ACCOUNT_ASSIGNMENT,
    DELETE_ACCOUNT_ASSIGNMENT,
    DESCRIBE_ACCOUNT_ASSIGNMENT_CREATION_STATUS,
    DESCRIBE_ACCOUNT_ASSIGNMENT_DELETION_STATUS,
    LIST_ROOTS,
    LIST_ORGANIZATIONAL_UNITS_FOR_PARENT,
    LIST_ACCOUNTS_FOR_PARENT,
    LIST_ACCOUNTS,
    LIST_PARENTS,
    LIST_POLICIES_FOR_TARGET,
    DESCRIBE_ACCOUNT,
    DESCRIBE_ORGANIZATIONAL_UNIT,
    LIST_TAGS_FOR_RESOURCE,
    LIST_PERMISSION_SET_TAGS,
    TAG_RESOURCE,
    UNTAG_RESOURCE,
    PUT_OBJECT,
    GET_OBJECT,
    LIST_OBJECTS_V2,
    DELETE_OBJECT,
];

/// The client commands use: one call per operation, every page of a list merged, reads
/// answered from the cache when they can be, writes invalidating what they change.
pub(crate) struct Client {
    session: Session,
    cache: Option<CacheManager>,
    use_cached: bool,
    refresh: bool,
    profile: String,
    scope: String,
    namespace_shown: std::sync::Once,
    /// When the oldest cached answer this client served was read from AWS (Unix seconds;
    /// `u64::MAX` before any): a composite built now is no younger than that.
    oldest_hit: std::sync::atomic::AtomicU64,
    /// When the first cached answer this client served or stored expires (Unix seconds;
    /// `u64::MAX` before any): a composite built now expires no later.
    first_expiry: std::sync::atomic::AtomicU64,
    recorder: Option<std::sync::Arc<Recorder>>,
}

impl Client {
    /// A client over a session. `cache` is the cache (None when caching is off);
    /// `use_cached` false (`--no-cache`) neither reads nor stores answers, but writes still
    /// invalidate.
    pub(crate) fn new(
        session: Session,
        cache: Option<CacheManager>,
        use_cached: bool,
        profile: impl Into<String>,
    ) -> Client {
        Client {
            session,
            cache,
            use_cached,
            refresh: false,
            profile: profile.into(),
            scope: String::new(),
            namespace_shown: std::sync::Once::new(),
            oldest_hit: std::sync::atomic::AtomicU64::new(u64::MAX),
            first_expiry: std::sync::atomic::AtomicU64::new(u64::MAX),
            recorder: None,
        }
    }

    /// The same client, keying cached answers also by `scope`: the awsideman profile's
    /// instance and identity store as configured, so changing them leaves the old answers
    /// unreachable.
    pub(crate) fn with_scope(mut self, scope: impl Into<String>) -> Client {
        self.scope = scope.into();
        self
    }

    /// The same client, reading every answer from AWS and storing it (`--refresh`): a cached
    /// answer is never served, a fresh one replaces it.
    pub(crate) fn refreshing(mut self, refresh: bool) -> Client {
        self.refresh = refresh;
        self
    }

    /// The same client, handing every write that succeeds to `recorder` (the rollback
    /// journal of the command).
    pub(crate) fn recording(mut self, recorder: std::sync::Arc<Recorder>) -> Client {
        self.recorder = Some(recorder);
        self
    }

    /// Where this client's writes are recorded, if anywhere.
    pub(crate) fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_deref()
    }

    /// The session (region, profile) behind the client.
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// The cache, when caching is on.
    pub(crate) fn cache(&self) -> Option<&CacheManager> {
        self.cache.as_ref()
    }

    /// Calls `op` once with `input`.
    pub(crate) fn call(&self, op: &Operation, input: Value) -> Result<Value> {
        self.through_cache(op, &input, || {
            self.session
                .call(op.service, op.name, &input)
                .map(Answer::fresh)
        })
        .map(Answer::into_value)
    }

    /// Calls a REST operation (S3) of the table: objects awsideman keeps itself, never
    /// cached (see [`OpKind::Stored`]).
    pub(crate) fn rest(&self, op: &Operation, request: &RestRequest) -> Result<HttpResponse> {
        if op.kind != OpKind::Stored {
            return Err(crate::error::Error::runtime(format!(
                "internal error: {} is not a REST operation",
                op.name
            )));
        }
        self.session.call_rest(op.service, op.name, request)
    }

    /// Like [`Client::list`], but read from AWS now whatever the operation's kind: the cache
    /// is neither read nor written. For health checks, whose answer must be true now.
    pub(crate) fn list_live(&self, op: &Operation, input: Value) -> Result<Value> {
        match &op.paging {
            None => self.session.call(op.service, op.name, &input),
            Some(paging) => paginate::collect_pages(&input, paging, None, |page| {
                self.session.call(op.service, op.name, page)
            }),
        }
    }

    /// Calls a list operation until its last page and returns every item in one reply.
    pub(crate) fn list(&self, op: &Operation, input: Value) -> Result<Value> {
        self.list_limited(op, input, None)
    }

    /// Like [`Client::list`], as JSON text: a cached answer is handed over as it is stored,
    /// never parsed, for commands that print the whole answer.
    pub(crate) fn list_document(&self, op: &Operation, input: Value) -> Result<Document> {
        let answer = match &op.paging {
            None => self.through_cache(op, &input, || {
                self.session
                    .call(op.service, op.name, &input)
                    .map(Answer::fresh)
            })?,
            // Page by page into text: a long list never exists as values all at once.
            Some(paging) => self.through_cache(op, &input, || {
                paginate::collect_pages_text(&input, paging, |page| {
                    self.session.call(op.service, op.name, page)
                })
                .map(Answer::Text)
            })?,
        };
        answer.into_document(op)
    }

    /// The items of a list operation's first result member (`Users` of ListUsers), every
    /// page, decoded straight from the answer's text into `T` (no tree of values).
    pub(crate) fn list_items<T: serde::de::DeserializeOwned>(
        &self,
        op: &Operation,
        input: Value,
    ) -> Result<Vec<T>> {
        let Some(key) = op.paging.as_ref().and_then(|p| p.result_keys.first()) else {
            return Err(Error::runtime(format!(
                "internal error: {} is not a list operation",
                op.name
            )));
        };
        shapes::items_in(op, &self.list_document(op, input)?, key)
    }

    /// Like [`Client::list`], with at most `limit` items (the reply then carries
    /// `"Truncated": true` when items were left out). A complete list is cached; a cut one
    /// never is, so a `--limit` cannot poison the full list.
    pub(crate) fn list_limited(
        &self,
        op: &Operation,
        input: Value,
        limit: Option<usize>,
    ) -> Result<Value> {
        let Some(paging) = &op.paging else {
            return self.call(op, input);
        };
        let fetch_all = || {
            paginate::collect_pages(&input, paging, None, |page| {
                self.session.call(op.service, op.name, page)
            })
        };
        let mut reply = match limit {
            None => self
                .through_cache(op, &input, || fetch_all().map(Answer::fresh))?
                .into_value(),
            Some(limit) => match self.cached(op, &input)? {
                Some(Read::Hit(hit, read_at, expires_at)) => {
                    self.note_hit(read_at, expires_at);
                    hit.into_value()
                }
                _ => paginate::collect_pages(&input, paging, Some(limit), |page| {
                    self.session.call(op.service, op.name, page)
                })?,
            },
        };
        if let Some(limit) = limit {
            truncate(&mut reply, paging.result_keys.first().copied(), limit);
        }
        Ok(reply)
    }

    /// Answers a read from the cache or from `fetch` (then stores it, recorded against the
    /// generations its tags had before AWS was asked); runs a write and invalidates what it
    /// changes.
    fn through_cache(
        &self,
        op: &Operation,
        input: &Value,
        fetch: impl FnOnce() -> Result<Answer>,
    ) -> Result<Answer> {
        match op.kind {
            OpKind::Status | OpKind::Stored => fetch(),
            OpKind::Write => {
                if let Some(recorder) = &self.recorder {
                    self.note_state_before(recorder, op, input);
                }
                let reply = fetch()?;
                if let Some(recorder) = &self.recorder {
                    let value = match &reply {
                        Answer::Parsed(value, _) => std::borrow::Cow::Borrowed(value),
                        Answer::Text(document) => std::borrow::Cow::Owned(document.to_value()),
                    };
                    recorder.wrote(op.service.name(), op.name, input, &value);
                }
                if let Some(cache) = &self.cache {
                    let tags = key::expand_tags(op.tags, input);
                    let moved = cache.invalidate(Invalidation::Tags(&tags));
                    self.debug(|| {
                        format!(
                            "cache invalidate {} {} tags={tags:?} moved={moved}",
                            op.service.name(),
                            op.name
                        )
                    });
                }
                Ok(reply)
            }
            OpKind::Read => {
                let ticket = match self.cached(op, input)? {
                    Some(Read::Hit(hit, read_at, expires_at)) => {
                        self.note_hit(read_at, expires_at);
                        return Ok(Answer::Text(hit));
                    }
                    Some(Read::Miss(ticket)) => ticket,
                    None => None,
                };
                let mut answer = fetch()?;
                if let (Some(cache), Some(ticket)) = (&self.cache, ticket) {
                    // A composite is as old as the oldest cached part it was built from, and
                    // expires with the first of them to expire.
                    let parts = if COMPOSITES.contains(op) {
                        Parts {
                            read_at: self.oldest_hit.load(Ordering::Relaxed),
                            expire_at: self.first_expiry.load(Ordering::Relaxed),
                        }
                    } else {
                        Parts::NONE
                    };
                    // Serialised once: stored, and kept for a caller that prints it.
                    if let Answer::Parsed(reply, document @ None) = &mut answer {
                        *document = Document::from_value(reply);
                    }
                    if let Answer::Parsed(_, Some(document)) | Answer::Text(document) = &answer {
                        self.store(cache, op, input, document, ticket, parts)?;
                    }
                }
                Ok(answer)
            }
        }
    }

    /// For the rollback journal: reads what undoing the write `op` needs of the state it
    /// changes (the old inline policy, boundary or settings, a permission set in full before
    /// its deletion), through the read path, once, unless the command noted it already or
    /// the object was created by this same command. A read that fails is recorded as such.
    fn note_state_before(&self, recorder: &Recorder, op: &Operation, input: &Value) {
        let Some(id) = recorder.wants_state_before(op.name, input) else {
            return;
        };
        match permission_set::state_before(self, op, input) {
            Some(Ok(state)) => recorder.before(op.name, &id, &state, None),
            Some(Err(e)) => recorder.unread(op.name, &id, &e.to_string()),
            None => {}
        }
    }

    /// Stores the answer to a miss.
    fn store(
        &self,
        cache: &CacheManager,
        op: &Operation,
        input: &Value,
        reply: &Document,
        ticket: Ticket,
        parts: Parts,
    ) -> Result<()> {
        let key = self.key(op, input)?;
        let tags = key::expand_tags(op.tags, input);
        let ttl = self.ttl(cache, op);
        if ttl > 0 {
            let expires_at = crate::clock::now_secs()
                .saturating_add(ttl)
                .min(parts.expire_at);
            self.first_expiry.fetch_min(expires_at, Ordering::Relaxed);
        }
        cache.store_as_of(
            &key,
            &NewEntry {
                service: op.service.name(),
                operation: op.name,
                profile: &self.profile,
                params: &key::without_paging(input),
                value: reply,
                ttl,
                tags: &tags,
            },
            ticket,
            parts,
        );
        Ok(())
    }

    /// When the oldest cached answer this client served was read from AWS, if it served any.
    pub(crate) fn oldest_cached(&self) -> Option<u64> {
        Some(self.oldest_hit.load(Ordering::Relaxed)).filter(|&t| t != u64::MAX)
    }

    /// Records that a cached answer read from AWS at `read_at`, expiring at `expires_at`,
    /// was served.
    fn note_hit(&self, read_at: u64, expires_at: u64) {
        self.oldest_hit.fetch_min(read_at, Ordering::Relaxed);
        self.first_expiry.fetch_min(expires_at, Ordering::Relaxed);
    }

    /// An answer built from many reads by `build` (a row of [`COMPOSITES`]), cached as one
    /// entry: served while every tag of the composite is current and its oldest part has not
    /// expired; built (its parts read through this client, from the cache or AWS) otherwise.
    pub(crate) fn composite(
        &self,
        op: &Operation,
        input: Value,
        build: impl FnOnce() -> Result<Value>,
    ) -> Result<Document> {
        self.composite_text(op, input, || build().map(Answer::fresh)?.into_document(op))
    }

    /// Like [`Client::composite`], for an answer `build` writes as JSON text itself.
    pub(crate) fn composite_text(
        &self,
        op: &Operation,
        input: Value,
        build: impl FnOnce() -> Result<Document>,
    ) -> Result<Document> {
        debug_assert!(COMPOSITES.contains(op), "{} is not a composite", op.name);
        self.through_cache(op, &input, || build().map(Answer::Text))?
            .into_document(op)
    }

    /// The cache's answer to a read, if caching is on and the operation is cached.
    fn cached(&self, op: &Operation, input: &Value) -> Result<Option<Read>> {
        let Some(cache) = self.cache.as_ref().filter(|_| self.use_cached) else {
            return Ok(None);
        };
        if op.kind != OpKind::Read {
            return Ok(None);
        }
        if op.sharing == Sharing::ThisMachine && cache.backend().shared_between_machines() {
            return Ok(None);
        }
        let key = self.key(op, input)?;
        let tags = key::expand_tags(op.tags, input);
        let read = if self.refresh {
            cache.refresh(&key, &tags)
        } else {
            cache.read(&key, &tags, self.ttl(cache, op))
        };
        self.debug(|| {
            format!(
                "cache {} {} {} key={}",
                if matches!(read, Read::Hit(..)) {
                    "hit"
                } else {
                    "miss"
                },
                op.service.name(),
                op.name,
                &key.as_str()[..12]
            )
        });
        Ok(Some(read))
    }

    /// How long an answer of `op` is cached (`cache.operation_ttls`, else the default).
    fn ttl(&self, cache: &CacheManager, op: &Operation) -> u64 {
        cache.settings().ttl_for(&op.snake_name())
    }

    /// The key of `op` called with `input`: scoped to the caller, the profile's instance
    /// and store, the endpoint and the region (see [`Namespace`]).
    fn key(&self, op: &Operation, input: &Value) -> Result<CacheKey> {
        let namespace = Namespace {
            caller: self.session.caller()?,
            scope: self.scope.clone(),
            endpoint: self.session.endpoint(op.service)?.url,
            region: self.session.region()?,
        };
        self.namespace_shown.call_once(|| {
            self.debug(|| {
                format!(
                    "cache namespace: caller {}, region {}, {}",
                    namespace.caller,
                    namespace.region,
                    if namespace.scope.is_empty() {
                        "no instance configured"
                    } else {
                        namespace.scope.as_str()
                    }
                )
            })
        });
        Ok(CacheKey::new(&namespace, op.service.name(), op.name, input))
    }

    fn debug(&self, line: impl FnOnce() -> String) {
        self.session.transport().debug(line);
    }
}

/// An answer to a read: parsed (read from AWS now, with its text when it was stored) or
/// as the cache holds it.
enum Answer {
    Parsed(Value, Option<Document>),
    Text(Document),
}

impl Answer {
    fn fresh(value: Value) -> Answer {
        Answer::Parsed(value, None)
    }

    fn into_value(self) -> Value {
        match self {
            Answer::Parsed(value, _) => value,
            Answer::Text(document) => document.into_value(),
        }
    }

    fn into_document(self, op: &Operation) -> Result<Document> {
        match self {
            Answer::Parsed(_, Some(document)) | Answer::Text(document) => Ok(document),
            Answer::Parsed(value, None) => Document::from_value(&value).ok_or_else(|| {
                Error::runtime(format!(
                    "{} {}: the answer is not a JSON object",
                    op.service.name(),
                    op.name
                ))
            }),
        }
    }
}

/// Cuts the list member `key` of a reply to `limit` items, marking it `"Truncated": true`.
fn truncate(reply: &mut Value, key: Option<&str>, limit: usize) {
    let Some(items) = key
        .and_then(|k| reply.get_mut(k))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    if items.len() > limit {
        items.truncate(limit);
        reply["Truncated"] = Value::Bool(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of the table is used by some code (its constant is named outside this
    /// file), so the generated IAM policies grant only what awsideman can call.
    #[test]
    fn every_operation_is_called_somewhere() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut code = String::new();
        let mut dirs = vec![src.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && path != src.join("client").join("mod.rs")
                {
                    code.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let unused: Vec<String> = OPERATIONS
            .iter()
            .map(|op| op.snake_name().to_uppercase())
            .filter(|name| {
                !code.match_indices(name.as_str()).any(|(at, _)| {
                    let after = code[at + name.len()..].chars().next();
                    let before = code[..at].chars().next_back();
                    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                    !word(after) && !word(before)
                })
            })
            .collect();
        assert!(unused.is_empty(), "rows no code calls: {unused:?}");
    }

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
            if op.kind == OpKind::Stored {
                assert!(op.tags.is_empty() && op.paging.is_none(), "{}", op.name);
                continue;
            }
            let read_name = ["List", "Describe", "Get", "IsMember"]
                .iter()
                .any(|p| op.name.starts_with(p));
            assert_eq!(read_name, op.kind != OpKind::Write, "{} kind", op.name);
            if op.kind != OpKind::Status {
                assert!(!op.tags.is_empty(), "{} has cache tags", op.name);
            }
            assert_eq!(
                op.paging.is_some(),
                op.name.starts_with("List"),
                "{} paging",
                op.name
            );
        }
        assert_eq!(LIST_USERS.iam_action(), "identitystore:ListUsers");
        assert_eq!(LIST_INSTANCES.iam_action(), "sso:ListInstances");
        assert_eq!(LIST_OBJECTS_V2.iam_action(), "s3:ListBucket");
        assert_eq!(
            LIST_GROUP_MEMBERSHIPS_FOR_MEMBER.snake_name(),
            "list_group_memberships_for_member"
        );
    }

    /// Every write has a row in the rollback journal's table of inverses, and every inverse
    /// it names is an operation of this table.
    #[test]
    fn every_write_says_how_it_is_undone() {
        use crate::rollback::{INVERSES, Inverse, inverse_of};
        for op in OPERATIONS.iter().filter(|o| o.kind == OpKind::Write) {
            assert!(
                inverse_of(op.name).is_some(),
                "{} has no rollback row",
                op.name
            );
        }
        for (name, inverse) in INVERSES {
            let named = match inverse {
                Inverse::Same(op)
                | Inverse::FromReply { op, .. }
                | Inverse::Recreate { op, .. } => Some(*op),
                Inverse::Revert { .. } => Some(*name),
                Inverse::PutBack { put, delete, .. } => {
                    assert!(OPERATIONS.iter().any(|o| o.name == *delete), "{delete}");
                    Some(*put)
                }
                Inverse::Retag { tag, untag, .. } => {
                    assert!(OPERATIONS.iter().any(|o| o.name == *untag), "{untag}");
                    Some(*tag)
                }
                Inverse::Nothing(_) => None,
            };
            for op in std::iter::once(*name).chain(named) {
                assert!(
                    OPERATIONS
                        .iter()
                        .any(|o| o.name == op && o.kind == OpKind::Write),
                    "{name}: {op} is not a write of the table"
                );
            }
        }
    }

    /// A tag write of a permission set invalidates the cached tag listing of that set (the
    /// tags its answer is filed under), and not the listing of another set.
    #[test]
    fn tag_writes_invalidate_the_tag_listing_of_their_set() {
        let of = |arn: &str| serde_json::json!({"InstanceArn": "i", "ResourceArn": arn});
        let listing = key::expand_tags(LIST_PERMISSION_SET_TAGS.tags, &of("ps1"));
        assert!(!listing.is_empty());
        for op in [TAG_RESOURCE, UNTAG_RESOURCE] {
            let mut request = of("ps1");
            request["Tags"] = serde_json::json!([{"Key": "k", "Value": "v"}]);
            request["TagKeys"] = serde_json::json!(["k"]);
            let written = key::expand_tags(op.tags, &request);
            assert!(
                listing.iter().all(|t| written.contains(t)),
                "{}: {written:?} misses {listing:?}",
                op.name
            );
            let elsewhere = key::expand_tags(op.tags, &of("ps2"));
            assert!(
                listing.iter().all(|t| !elsewhere.contains(t)),
                "{}",
                op.name
            );
        }
    }

    /// Every write must invalidate at least one tag some read is filed under, and every
    /// template must only name members the operation's request has (checked by expanding
    /// against a request holding every member name used).
    #[test]
    fn writes_invalidate_tags_that_reads_use() {
        let read_tags: Vec<&str> = OPERATIONS
            .iter()
            .filter(|o| o.kind == OpKind::Read)
            .flat_map(|o| o.tags.iter().copied())
            .collect();
        let prefix = |t: &str| t.split(':').next().unwrap_or("").to_string();
        for op in OPERATIONS.iter().filter(|o| o.kind == OpKind::Write) {
            for tag in op.tags {
                assert!(
                    read_tags.iter().any(|r| prefix(r) == prefix(tag)),
                    "{}: tag {tag} is used by no read",
                    op.name
                );
            }
        }
    }
}
