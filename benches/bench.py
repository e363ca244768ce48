"""Times awsideman and the aws CLI against moto_server and writes benches/RESULTS.md.

Seeds the data set of seed.py through boto3 (so the tool under test does not seed itself),
counts the requests each command makes (from `--debug`) against the minimum the data
requires, then times every command as a fresh process, N runs each, and reports medians.
The measurements of one table run round-robin (one run of each, N times over), so load
from elsewhere on the machine falls on all of them alike and the ratios stay fair.

Every awsideman setup has its own HOME (config and file cache) and, for the hybrid
backend, its own DynamoDB table, so no two share state. "cold" means the cache is cleared
before every run, "warm" that one run filled it first.
"""

import argparse
import base64
import datetime
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import seed

USER_LIST = ["--output", "json", "user", "list"]
ORG_TREE = ["--output", "json", "org", "tree"]
ASSIGNMENT_LIST = ["--output", "json", "assignment", "list"]
ACCESS_REVIEW_ORG = ["--output", "json", "access-review", "org"]
# The services whose requests count against the minimum (the rest is the cache's own).
AWS_SERVICES = {"identitystore", "sso-admin", "organizations"}
DEBUG_REQUEST = re.compile(r"^awsideman: debug: (\S+) (\S+) status=")
# Cache variants: label and the environment that selects them (the key is random per run).
VARIANTS = {
    "file": ("file cache", {}),
    "encrypted": ("encrypted file cache", {
        "AWSIDEMAN_CACHE_ENCRYPTION": "true",
        "AWSIDEMAN_CACHE_KEY_SOURCE": "env",
        "AWSIDEMAN_CACHE_KEY": base64.b64encode(os.urandom(32)).decode(),
    }),
    "hybrid": ("hybrid cache", {"AWSIDEMAN_CACHE_BACKEND": "hybrid"}),
}


def main():
    """Parses the arguments, seeds moto, measures, writes the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True, help="the awsideman binary to measure")
    ap.add_argument("--aws", required=True, help="the aws CLI to compare with")
    ap.add_argument("--endpoint", required=True, help="moto_server's URL")
    ap.add_argument("--runs", type=int, default=20, help="runs per measurement")
    ap.add_argument("--out", default="benches/RESULTS.md")
    ap.add_argument("--crypto", help="Markdown table printed by `cargo bench --bench crypto`")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    started = time.perf_counter()
    world = seed.seed(args.endpoint)
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    base = base_env(args.endpoint)
    with tempfile.TemporaryDirectory(prefix="awsideman-bench-") as root:
        homes = make_homes(root, args.binary, base)
        aws = Aws(args.aws, dict(base, HOME=os.path.join(root, "aws")), world.store)
        requests = count_all(homes, aws, world)
        versus_aws = time_versus_aws(homes, aws, args.runs)
        org_wide = time_org_wide(homes, args.runs)
        backends = compare_backends(Home(root, "backends", args.binary, base))
        info = machine_info(args.binary, aws)
    write_results(args, info, world, versus_aws, org_wide, requests, backends)
    print(f"total {time.perf_counter() - started:.1f} s")


def base_env(endpoint):
    """The environment every command runs in: static keys, moto's endpoint, no pacing."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "AKIDBENCH",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        # moto answers at once; pacing would only measure the limiter.
        "AWSIDEMAN_RATE_LIMIT": "1000",
    }


def run(argv, env):
    """Runs a command; exits the benchmark loudly if it fails. Returns (stdout, stderr)."""
    out = subprocess.run(argv, env=env, capture_output=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {out.returncode}: {out.stderr.decode()}")
    return out.stdout, out.stderr.decode()


class Home:
    """One awsideman HOME (its own config and cache) with the environment to run in it."""

    def __init__(self, root, name, binary, env, variant_env=None):
        self.binary = binary
        path = os.path.join(root, name)
        os.mkdir(path)
        self.env = dict(env, HOME=path, AWSIDEMAN_CACHE_DYNAMODB_TABLE=f"awsideman-bench-{name}",
                        **(variant_env or {}))
        self.awsideman(["sso", "discover"])

    def argv(self, argv):
        """The full command line of an awsideman command."""
        return [self.binary, *argv]

    def awsideman(self, argv):
        """Runs awsideman in this HOME; returns (stdout, stderr)."""
        return run(self.argv(argv), self.env)

    def clear(self):
        """Empties this HOME's cache (and its DynamoDB table)."""
        self.awsideman(["cache", "clear", "--yes"])


class Aws:
    """The aws CLI, pointed at moto."""

    def __init__(self, binary, env, store):
        self.binary = binary
        self.env = env
        os.makedirs(env["HOME"])
        self.list_users = ["identitystore", "list-users", "--identity-store-id", store,
                           "--output", "json"]

    def argv(self, argv):
        """The full command line of an aws command."""
        return [self.binary, *argv]

    def version(self):
        """`aws-cli/1.46.3` (older versions print it on stderr)."""
        out, err = run(self.argv(["--version"]), self.env)
        return (out.decode() or err).split()[0]


def make_homes(root, binary, env):
    """The HOMEs: `uncached` (for --no-cache) and a cold and a warm one per cache variant."""
    homes = {"uncached": Home(root, "uncached", binary, env)}
    for variant, (_, variant_env) in VARIANTS.items():
        for temperature in ("cold", "warm"):
            name = f"{variant}-{temperature}"
            homes[name] = Home(root, name, binary, env, variant_env)
    return homes


@dataclass
class Case:
    """One timed command: a label, how to run it, what to do before each run."""

    label: str
    argv: list
    env: dict
    before_each: Callable[[], None] | None = None
    times: list = field(default_factory=list)

    def median_ms(self):
        """The median wall time in milliseconds."""
        return statistics.median(self.times) * 1000


def case(homes, variant, temperature, argv, label):
    """The Case of awsideman `argv` in a variant's cold or warm HOME (`uncached`:
    --no-cache). A warm HOME is filled here by one run."""
    if variant == "uncached":
        home = homes["uncached"]
        return Case(label, home.argv(["--no-cache", *argv]), home.env)
    home = homes[f"{variant}-{temperature}"]
    if temperature == "warm":
        home.awsideman(argv)
    return Case(label, home.argv(argv), home.env,
                before_each=home.clear if temperature == "cold" else None)


def time_round_robin(cases, runs):
    """Runs every case `runs` times, one run of each in turn; prints the medians."""
    for _ in range(runs):
        for c in cases:
            if c.before_each:
                c.before_each()
            start = time.perf_counter()
            run(c.argv, c.env)
            c.times.append(time.perf_counter() - start)
    for c in cases:
        print(f"{c.label:60s} {c.median_ms():10.2f} ms")


def time_versus_aws(homes, aws, runs):
    """Start-up and `user list` in every variant, each next to the aws CLI. Returns rows
    (label, awsideman Case, aws Case)."""
    aws_version = Case("aws --version", aws.argv(["--version"]), aws.env)
    aws_users = Case("aws identitystore list-users", aws.argv(aws.list_users), aws.env)
    home = homes["uncached"]
    pairs = [("`--version`", Case("awsideman --version", home.argv(["--version"]), home.env),
              aws_version),
             ("`user list`, `--no-cache`",
              case(homes, "uncached", None, USER_LIST, "user list --no-cache"), aws_users)]
    for variant, (label, _) in VARIANTS.items():
        for temperature in ("cold", "warm"):
            pairs.append((f"`user list`, {label}, {temperature}",
                          case(homes, variant, temperature, USER_LIST,
                               f"user list {variant} {temperature}"), aws_users))
    time_round_robin([aws_version, aws_users] + [c for _, c, _ in pairs], runs)
    return pairs


def time_org_wide(homes, runs):
    """`org tree` and org-wide `assignment list`: --no-cache, cold and warm file cache.
    Returns rows (label, {temperature: Case})."""
    rows = []
    for label, argv in (("`org tree`", ORG_TREE),
                        ("`assignment list` (no filters)", ASSIGNMENT_LIST),
                        ("`access-review org`", ACCESS_REVIEW_ORG)):
        name = " ".join(argv[2:])
        rows.append((label, {
            "uncached": case(homes, "uncached", None, argv, f"{name} --no-cache"),
            "cold": case(homes, "file", "cold", argv, f"{name} cold"),
            "warm": case(homes, "file", "warm", argv, f"{name} warm"),
        }))
    time_round_robin([c for _, cases in rows for c in cases.values()], runs)
    return rows


@dataclass
class Requests:
    """The requests one command made, by operation: to AWS, and to the cache's table."""

    command: str
    cache: str
    minimum: int
    aws: Counter
    other: Counter


def debug_requests(stderr):
    """Counts the HTTP requests of awsideman's `--debug` lines: (AWS APIs, cache table)."""
    aws, other = Counter(), Counter()
    for line in stderr.splitlines():
        m = DEBUG_REQUEST.match(line)
        if m:
            (aws if m[1] in AWS_SERVICES else other)[m[2]] += 1
    return aws, other


def count(homes, variant, temperature, argv, check):
    """Runs awsideman `argv` once with --debug in a cold state (cache cleared) or a warm
    one (after a run), checks its output with `check`; returns (AWS, cache table) counts."""
    if variant == "uncached":
        home, argv = homes["uncached"], ["--no-cache", *argv]
    else:
        home = homes[f"{variant}-{temperature}"]
        home.clear()
        if temperature == "warm":
            home.awsideman(argv)
    out, err = home.awsideman(["--debug", *argv])
    check(json.loads(out))
    return debug_requests(err)


def expect(what, seen, wanted):
    """Fails the benchmark when a command printed the wrong number of things."""
    if seen != wanted:
        raise SystemExit(f"{what}: expected {wanted}, got {seen}")


def accounts_in(nodes):
    """The number of accounts in `org tree` JSON nodes."""
    return sum(1 if n["Type"] == "ACCOUNT" else accounts_in(n.get("Children", []))
               for n in nodes)


def count_all(homes, aws, world):
    """Request counts of every measured command against the minimum; checks each output."""
    def users(doc):
        expect("users", len(doc["Users"]), world.users)

    def tree(doc):
        expect("accounts", accounts_in(doc["Roots"]), len(world.accounts))

    def assignments(doc):
        rows = doc["AccountAssignments"]
        expect("assignments", len(rows), len(world.assignments))
        expect("rows without names", sum(1 for r in rows if not (
            r["AccountName"] and r["PermissionSetName"] and r["PrincipalName"])), 0)

    def access(doc):
        rows = doc["Access"]
        expect("access rows", len(rows), seed.access_rows(world))
        expect("rows without names", sum(1 for r in rows if not (
            r["AccountName"] and r["PermissionSetName"] and r["PrincipalName"])), 0)

    commands = [("`user list`", USER_LIST, users, seed.minimum_user_list(world), VARIANTS),
                ("`org tree`", ORG_TREE, tree, seed.minimum_org_tree(world), ["file"]),
                ("`assignment list`", ASSIGNMENT_LIST, assignments,
                 min(seed.minimum_assignment_list(world).values()), ["file"]),
                ("`access-review org`", ACCESS_REVIEW_ORG, access,
                 seed.minimum_access_review_org(world), ["file"])]
    found = []
    for command, argv, check, minimum, variants in commands:
        found.append(Requests(command, "none (`--no-cache`)", minimum,
                              *count(homes, "uncached", None, argv, check)))
        for variant in variants:
            label = VARIANTS[variant][0]
            for temperature, least in (("cold", minimum), ("warm", 0)):
                found.append(Requests(command, f"{label}, {temperature}", least,
                                      *count(homes, variant, temperature, argv, check)))
    found.append(aws_requests(aws, world))
    for r in found:
        print(f"{r.command:22s} {r.cache:32s} {sum(r.aws.values()):5d} requests "
              f"(minimum {r.minimum}) {dict(r.aws)} {dict(r.other)}")
    return found


def aws_requests(aws, world):
    """The aws CLI's requests for list-users, from botocore's --debug log."""
    out, err = run(aws.argv(["--debug", *aws.list_users]), aws.env)
    expect("users (aws CLI)", len(json.loads(out)["Users"]), world.users)
    sent = err.count("Sending http request")
    return Requests("`aws identitystore list-users`", "none (the aws CLI has none)",
                    seed.minimum_user_list(world), Counter({"ListUsers": sent}), Counter())


def compare_backends(home, entries=200, size=4096):
    """The same `cache benchmark` workload against each backend (DynamoDB on moto)."""
    results = []
    for backend in ("file", "dynamodb", "hybrid"):
        out, _ = run(home.argv(["--output", "json", "cache", "benchmark", "--entries",
                                str(entries), "--size", str(size)]),
                     dict(home.env, AWSIDEMAN_CACHE_BACKEND=backend))
        by_op = {r["operation"]: r for r in json.loads(out)["results"]}
        results.append((backend, by_op["set"]["medianMs"], by_op["get"]["medianMs"]))
        print(f"{backend:10s} set {by_op['set']['medianMs']:8.3f} ms  "
              f"get {by_op['get']['medianMs']:8.3f} ms")
    return results


def machine_info(binary, aws):
    """One line about the machine and the versions measured."""
    with open("/proc/cpuinfo") as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    cpu = names[0] if names else platform.machine()
    version = run([binary, "--version"], {})[0].decode().split()[-1]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{len(os.sched_getaffinity(0))} CPUs ({cpu}), Linux {platform.release()}, {date}; "
            f"awsideman {version} (release build), {aws.version().replace('/', ' ')}, "
            f"moto_server {importlib.metadata.version('moto')}")


def ms(value):
    """Milliseconds with two decimals."""
    return f"{value:,.2f} ms"


def by_operation(counts):
    """`ListUsers 10, ListGroups 1`, most first; `-` for none."""
    return ", ".join(f"{op} {n}" for op, n in counts.most_common()) or "-"


def write_results(args, info, world, versus_aws, org_wide, requests, backends):
    """Writes the Markdown report."""
    plans = seed.minimum_assignment_list(world)
    tree = world.tree
    lines = [
        "# awsideman benchmarks",
        "",
        "Generated by `benches/run.sh` (do not edit by hand).",
        "",
        f"Machine: {info}. Medians of {args.runs} runs, each command a fresh process, "
        "against moto_server on 127.0.0.1 (it answers in a few milliseconds; against AWS "
        "every request is a network round trip, so the uncached and cold columns grow with "
        "latency while the warm ones stay the same).",
        "",
        f"Data (seeded with boto3): {world.users:,} users; {world.groups} groups, every user "
        f"in two; {world.permission_sets} permission sets; an organization of "
        f"{len(world.accounts)} accounts in {len(tree) - 1} nested OUs; "
        f"{len(world.assignments)} account assignments (5 permission sets in every account).",
        "",
        "\"cold\": the cache emptied before every run; \"warm\": filled by one run before. "
        "Each setup has its own HOME and, for the hybrid cache, its own DynamoDB table "
        "(on moto).",
        "",
        "## awsideman and the aws CLI",
        "",
        "awsideman runs `awsideman --output json user list`; the aws CLI "
        "`aws identitystore list-users --identity-store-id ID --output json`, which has no "
        "cache, so every run of it pages through all the users.",
        "",
        "| measurement | awsideman median | aws CLI median | ratio (aws CLI / awsideman) |",
        "|---|---|---|---|",
    ]
    for label, ours, theirs in versus_aws:
        lines.append(f"| {label} | {ms(ours.median_ms())} | {ms(theirs.median_ms())} | "
                     f"{theirs.median_ms() / ours.median_ms():,.1f}x |")
    lines += ["", "## Organization-wide reads (file cache)", "",
              "| command | `--no-cache` | cold | warm | cold / warm |", "|---|---|---|---|---|"]
    for label, cases in org_wide:
        u, c, w = (cases[t].median_ms() for t in ("uncached", "cold", "warm"))
        lines.append(f"| {label} | {ms(u)} | {ms(c)} | {ms(w)} | {c / w:,.1f}x |")
    lines += ["", "## Requests per command", "",
              "Counted from `--debug` (one line per HTTP attempt; the aws CLI's from botocore's "
              "debug log). \"cache table\" is the hybrid cache's own DynamoDB traffic, not "
              "counted against the minimum.", "",
              "| command | cache | AWS requests | minimum the data requires | cache table | "
              "by operation |", "|---|---|---|---|---|---|"]
    for r in requests:
        lines.append(f"| {r.command} | {r.cache} | {sum(r.aws.values())} | {r.minimum} | "
                     f"{sum(r.other.values()) or '-'} | {by_operation(r.aws)} |")
    paged = [path.rsplit('/', 1)[-1] for path, (ous, accounts) in tree.items()
             if seed.pages(ous, "organizations") + seed.pages(accounts, "organizations") > 2]
    lines += [
        "",
        "Minimums, at AWS's largest pages (100 for identitystore and sso-admin, 20 for "
        "organizations); a warm cache needs none:",
        "",
        f"- `user list`: {world.users:,} users in pages of 100: "
        f"{seed.minimum_user_list(world)} ListUsers.",
        f"- `org tree`: ListRoots, then for the root and each of the {len(tree) - 1} OUs one "
        f"ListOrganizationalUnitsForParent and one ListAccountsForParent per 20 children "
        f"(a second page for {', '.join(paged) or 'none'}): {seed.minimum_org_tree(world)}.",
        f"- `assignment list`: the lower bound of the cheaper plan. Per account: ListAccounts "
        f"(3), ListPermissionSetsProvisionedToAccount per account ({len(world.accounts)}), "
        "ListAccountAssignments per account and provisioned set, DescribePermissionSet per "
        "distinct set (ListPermissionSets has no names), and the principals' names from "
        f"ListUsers and ListGroups: {plans['per-account']:,}. Per principal it would be "
        f"{plans['per-principal']:,} (one ListAccountAssignmentsForPrincipal for each of the "
        f"{world.users + world.groups:,} users and groups, plus the same listings).",
        f"- `access-review org`: the `assignment list` plan plus one ListGroupMemberships "
        f"per assigned group ({len(seed.assigned_groups(world))} groups, 20 members each): "
        f"{seed.minimum_access_review_org(world):,}, printing {seed.access_rows(world):,} "
        "rows (every assignment and every member of each assigned group).",
        "- moto answers ListPermissionSetsProvisionedToAccount with every provisioned set "
        "whatever the account, so every account has assignments of the same 5 sets and only "
        "those are provisioned: moto then answers what AWS would.",
    ]
    base_get = backends[0][2]
    lines += ["", "## Cache backends (`cache benchmark --entries 200 --size 4096`, DynamoDB "
              "on moto)", "", "| backend | set (median) | get (median) | get vs file |",
              "|---|---|---|---|"]
    lines += [f"| {b} | {st:.3f} ms | {gt:.3f} ms | {gt / base_get:,.1f}x |"
              for b, st, gt in backends]
    if args.crypto:
        with open(args.crypto) as f:
            table = f.read().strip().splitlines()
        lines += ["", "## Cache encryption (AES-256-CBC + HMAC-SHA256, release build)", ""]
        lines += table
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
