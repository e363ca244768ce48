"""The benchmark's data set: seeds it into moto_server through boto3 and says how many
requests reading it back needs at least.

The data: 1,000 users; 100 groups of 20 members (every user in two groups); 50 permission
sets; an organization of 50 accounts (the management account and 49 more) in 11 nested
OUs; and 300 account assignments (5 permission sets in every account, each to a group,
the first one also to a user).

It expects a fresh moto_server (benches/run.sh starts one): an organization can be
created only once.

moto answers ListPermissionSetsProvisionedToAccount with every provisioned set whatever
the account, so every account gets assignments of the same 5 sets and only those 5 are
provisioned: moto then answers exactly what AWS would.
"""

import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import boto3

# The largest page AWS returns (MaxResults) per service.
PAGE = {"identitystore": 100, "sso-admin": 100, "organizations": 20}

USERS = 1000
GROUPS = 100
PERMISSION_SETS = 50
ASSIGNED_SETS = 5
# Every OU by path, parents first, with the number of accounts directly in it. The root
# holds the management account and 4 more; Sandbox (22) needs two pages of accounts.
OUS = {
    "Root": 4,
    "Root/Engineering": 0,
    "Root/Engineering/Prod": 0,
    "Root/Engineering/Prod/Web": 4,
    "Root/Engineering/Prod/Data": 4,
    "Root/Engineering/Staging": 3,
    "Root/Engineering/Dev": 0,
    "Root/Engineering/Dev/TeamA": 3,
    "Root/Engineering/Dev/TeamB": 3,
    "Root/Finance": 3,
    "Root/Security": 3,
    "Root/Sandbox": 22,
}
WORKERS = 8


@dataclass
class World:
    """What was seeded, as the minimum request counts need it."""

    instance_arn: str
    store: str
    users: int = 0
    groups: int = 0
    permission_sets: int = 0
    # Per container path: (child OUs, accounts directly in it).
    tree: dict = field(default_factory=dict)
    accounts: list = field(default_factory=list)
    # (account id, permission set ARN, principal type, principal id).
    assignments: list = field(default_factory=list)
    # Members per group id.
    members: dict = field(default_factory=dict)


def pages(items, service):
    """Requests needed to list `items` at the largest page size (an empty list costs one)."""
    return max(1, math.ceil(items / PAGE[service]))


def client_args(endpoint):
    """boto3 client arguments for the moto_server at `endpoint`."""
    return dict(endpoint_url=endpoint, region_name="us-east-1",
                aws_access_key_id="AKIDBENCH", aws_secret_access_key="bench")


def seed(endpoint):
    """Seeds the whole data set into the moto_server at `endpoint`; returns the World."""
    kw = client_args(endpoint)
    sso = boto3.client("sso-admin", **kw)
    ids = boto3.client("identitystore", **kw)
    org = boto3.client("organizations", **kw)
    instance = sso.list_instances()["Instances"][0]
    world = World(instance["InstanceArn"], instance["IdentityStoreId"])
    with ThreadPoolExecutor(WORKERS) as pool:
        users = seed_users(pool, ids, world)
        groups = seed_groups(pool, ids, world, users)
        sets = seed_permission_sets(pool, sso, world)
        seed_organization(pool, org, world)
        seed_assignments(pool, sso, world, users, groups, sets)
    return world


def seed_users(pool, ids, world, count=USERS):
    """Creates `count` users; returns their ids in order."""
    def create(i):
        return ids.create_user(
            IdentityStoreId=world.store,
            UserName=f"user{i:05d}",
            DisplayName=f"User {i}",
            Name={"GivenName": "User", "FamilyName": f"{i}"},
            Emails=[{"Value": f"user{i:05d}@example.com", "Primary": True}],
        )["UserId"]
    users = list(pool.map(create, range(count)))
    world.users = len(users)
    return users


def seed_users_only(endpoint, count):
    """Seeds `count` users (and nothing else) into the fresh moto_server at `endpoint`, the
    scale section's identity store; returns the World.

    moto checks a new user name against every user, iterating its dict while other threads
    add to it: past some 10,000 users that fails with HTTP 500 more and more often (at
    100,000, more often than 30 retries can absorb). One request at a time never races,
    and costs little: moto serves one request at a time under Python's lock anyway."""
    ids = boto3.client("identitystore", **client_args(endpoint))
    sso = boto3.client("sso-admin", **client_args(endpoint))
    instance = sso.list_instances()["Instances"][0]
    world = World(instance["InstanceArn"], instance["IdentityStoreId"])
    with ThreadPoolExecutor(1) as pool:
        seed_users(pool, ids, world, count)
    return world


def seed_groups(pool, ids, world, users):
    """Creates the groups and puts user i in groups i % 100 and (7i + 3) % 100 (never the
    same one, as 6i + 3 is odd); returns the group ids in order."""
    def create(i):
        return ids.create_group(IdentityStoreId=world.store, DisplayName=f"team-{i:03d}",
                                Description=f"Team {i}")["GroupId"]
    groups = list(pool.map(create, range(GROUPS)))

    def join(pair):
        ids.create_group_membership(IdentityStoreId=world.store, GroupId=groups[pair[1]],
                                    MemberId={"UserId": users[pair[0]]})
    pairs = [(i, g) for i in range(len(users)) for g in (i % GROUPS, (7 * i + 3) % GROUPS)]
    list(pool.map(join, pairs))
    world.groups = len(groups)
    world.members = Counter(groups[g] for _, g in pairs)
    return groups


def seed_permission_sets(pool, sso, world):
    """Creates the permission sets and provisions the ones that get assignments; returns
    their ARNs in order."""
    def create(i):
        return sso.create_permission_set(
            InstanceArn=world.instance_arn, Name=f"PermissionSet{i:02d}",
            Description=f"Permission set {i}", SessionDuration="PT4H",
        )["PermissionSet"]["PermissionSetArn"]
    sets = list(pool.map(create, range(PERMISSION_SETS)))
    for arn in sets[:ASSIGNED_SETS]:
        sso.provision_permission_set(InstanceArn=world.instance_arn, PermissionSetArn=arn,
                                     TargetType="ALL_PROVISIONED_ACCOUNTS")
    world.permission_sets = len(sets)
    return sets


def seed_organization(pool, org, world):
    """Creates the organization, its OUs and accounts, and moves each account into place."""
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou_ids = {"Root": root}
    for path in OUS:
        if path != "Root":
            parent, name = path.rsplit("/", 1)
            ou_ids[path] = org.create_organizational_unit(
                ParentId=ou_ids[parent], Name=name)["OrganizationalUnit"]["Id"]
    world.tree = {path: [sum(1 for p in OUS if p.rsplit("/", 1)[0] == path and p != path), n]
                  for path, n in OUS.items()}
    world.tree["Root"][1] += 1  # the management account
    places = [path for path, n in OUS.items() for _ in range(n)]

    def create(pair):
        i, path = pair
        status = org.create_account(Email=f"account{i:02d}@example.com",
                                    AccountName=f"account-{i:02d}")["CreateAccountStatus"]
        if path != "Root":
            org.move_account(AccountId=status["AccountId"], SourceParentId=root,
                             DestinationParentId=ou_ids[path])
        return status["AccountId"]
    created = list(pool.map(create, enumerate(places)))
    world.accounts = [a["Id"] for a in org.list_accounts()["Accounts"]]
    if len(world.accounts) != len(created) + 1 or not set(created) < set(world.accounts):
        raise SystemExit(f"organization: {len(world.accounts)} accounts, expected "
                         f"{len(created)} and the management account")


def seed_assignments(pool, sso, world, users, groups, sets):
    """Assigns, in account j, assigned set k to group (5j + k) % 100, and set 0 also to
    user 20j."""
    wanted = []
    for j, account in enumerate(world.accounts):
        for k, arn in enumerate(sets[:ASSIGNED_SETS]):
            wanted.append((account, arn, "GROUP", groups[(ASSIGNED_SETS * j + k) % len(groups)]))
            if k == 0:
                wanted.append((account, arn, "USER", users[(20 * j) % len(users)]))

    def assign(a):
        sso.create_account_assignment(
            InstanceArn=world.instance_arn, TargetId=a[0], TargetType="AWS_ACCOUNT",
            PermissionSetArn=a[1], PrincipalType=a[2], PrincipalId=a[3])
    list(pool.map(assign, wanted))
    world.assignments = wanted


def minimum_user_list(world):
    """ListUsers pages: 10 for 1,000 users."""
    return pages(world.users, "identitystore")


def minimum_org_tree(world):
    """ListRoots, then for every container (root and OUs) its OUs and its accounts, each at
    least one page."""
    return 1 + sum(pages(ous, "organizations") + pages(accounts, "organizations")
                   for ous, accounts in world.tree.values())


def assigned_groups(world):
    """The ids of the groups that hold an assignment."""
    return {pid for _, _, kind, pid in world.assignments if kind == "GROUP"}


def minimum_access_review_org(world):
    """The cheaper assignment-list plan plus one membership listing per assigned group."""
    return (min(minimum_assignment_list(world).values())
            + sum(pages(world.members[g], "identitystore") for g in assigned_groups(world)))


def access_rows(world):
    """The rows of `access-review org`: every assignment, plus one per member of each
    group assignment."""
    return len(world.assignments) + sum(
        world.members[pid] for _, _, kind, pid in world.assignments if kind == "GROUP")


def minimum_assignment_list(world):
    """Lower bounds of the two ways to read every assignment with names, as a dict
    {"per-account": n, "per-principal": n}.

    Per account: ListAccounts; per account its provisioned sets; per account and set its
    assignments; the principals' names by ListUsers and ListGroups or one Describe per
    distinct principal, whichever is fewer. Per principal: ListUsers and ListGroups, each
    principal's assignments, ListAccounts for the account names. Both need one
    DescribePermissionSet per distinct assigned set (ListPermissionSets has no names)."""
    per_pair, per_principal = Counter(), Counter()
    for account, arn, _, pid in world.assignments:
        per_pair[(account, arn)] += 1
        per_principal[pid] += 1
    sets_in = Counter(account for account, _ in per_pair)
    set_names = len({arn for _, arn in per_pair})
    list_principals = pages(world.users, "identitystore") + pages(world.groups, "identitystore")
    list_accounts = pages(len(world.accounts), "organizations")
    return {
        "per-account": (list_accounts + set_names
                        + sum(pages(sets_in[a], "sso-admin") for a in world.accounts)
                        + sum(pages(n, "sso-admin") for n in per_pair.values())
                        + min(list_principals, len(per_principal))),
        "per-principal": (list_principals + list_accounts + set_names
                          + world.users + world.groups - len(per_principal)
                          + sum(pages(n, "sso-admin") for n in per_principal.values())),
    }


def minimum_backup(world):
    """`backup create` (and `backup diff --live`, which reads the same): the assignment
    plan, whose ListAccounts, ListUsers and ListGroups it shares but whose set name lookups
    become its own DescribePermissionSet of every set; plus ListRoots, ListPermissionSets,
    one ListGroupMemberships per group, six requests per permission set (Describe, managed
    policies, customer managed references, inline policy, permissions boundary, tags), and
    one ListOrganizationalUnitsForParent per root and OU."""
    set_names = len({arn for _, arn, _, _ in world.assignments})
    members = (sum(pages(n, "identitystore") for n in world.members.values())
               + world.groups - len(world.members))
    ou_listings = sum(pages(ous, "organizations") for ous, _ in world.tree.values())
    return (minimum_assignment_list(world)["per-account"] - set_names + 1
            + pages(world.permission_sets, "sso-admin") + members
            + 6 * world.permission_sets + ou_listings)
