"""Times awsideman and the aws CLI against moto_server and writes benches/RESULTS.md.

Seeds the data set of seed.py through boto3 (so the tool under test does not seed itself),
counts the requests each command makes (from `--debug`) against the minimum the data
requires, then times every command as a fresh process, N runs each, and reports medians.
The measurements of one table run round-robin (one run of each, N times over), so load
from elsewhere on the machine falls on all of them alike and the ratios stay fair.

Every awsideman setup has its own HOME (config and file cache) and, for the hybrid
backend, its own DynamoDB table, so no two share state. "cold" means the cache is cleared
before every run, "warm" that one run filled it first. Every timed run goes through
a small helper (benches/tools/wait4.rs) that takes its wall time and, from the kernel
(`wait4`), its peak RSS; the medians of both are printed side by side.

The scale section runs against a second moto_server of its own (started here) seeded with
--scale users only, so the main data set and its rows stay as they are. The backups, and
last the throttled bulk assign (through a proxy that answers ThrottlingException beyond
20 Identity Center requests in any one second), run on the main data set.
"""

import argparse
import base64
import datetime
import http.client
import http.server
import importlib.metadata
import json
import math
import os
import shutil
import platform
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import seed

USER_LIST = ["--output", "json", "user", "list"]
ORG_TREE = ["--output", "json", "org", "tree"]
ASSIGNMENT_LIST = ["--output", "json", "assignment", "list"]
ACCESS_REVIEW_ORG = ["--output", "json", "access-review", "org"]
# The throttled bulk assign: rows, and the rate (requests per second) the proxy allows.
BULK_ROWS = 200
THROTTLE_RATE = 20
# The JSON targets of Identity Center's two APIs (X-Amz-Target prefixes), the ones throttled.
IDENTITY_CENTER_TARGETS = ("AWSIdentityStore.", "SWBExternalService.")
# The services whose requests count against the minimum (the rest is the cache's own).
AWS_SERVICES = {"identitystore", "sso-admin", "organizations"}
# Runs one command and reports its wall time and peak RSS (built by benches/run.sh).
WAIT4 = os.environ.get("AWSIDEMAN_BENCH_WAIT4", "target/bench-wait4")
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
    ap.add_argument("--moto-server", required=True,
                    help="the moto_server executable (the scale section starts its own)")
    ap.add_argument("--runs", type=int, default=20, help="runs per measurement")
    ap.add_argument("--scale", type=int, default=10_000,
                    help="users in the scale section's identity store (e.g. 100000)")
    ap.add_argument("--slow-runs", type=int, default=3,
                    help="runs of the slow rows: cold and aws CLI at scale, backups")
    ap.add_argument("--scale-only", action="store_true",
                    help="measure only the scale section and write it to --out "
                         "(default benches/RESULTS-scale.md)")
    ap.add_argument("--out", help="the report (default benches/RESULTS.md)")
    ap.add_argument("--crypto", help="Markdown table printed by `cargo bench --bench crypto`")
    args = ap.parse_args()
    if args.runs < 1 or args.slow_runs < 1:
        ap.error("--runs and --slow-runs must be at least 1")
    if args.scale < 1:
        ap.error("--scale must be at least 1")
    if args.out is None:
        args.out = "benches/RESULTS-scale.md" if args.scale_only else "benches/RESULTS.md"
    if args.scale_only:
        return scale_only(args)

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
        scale = time_scale(args, root, base)
        backups = measure_backups(args, root, base, world)
        # Last: it adds assignments (revoked after, but no other row sees them).
        bulk = throttled_bulk_assign(args, root, base, world)
        info = machine_info(args.binary, aws)
    write_results(args, info, world, versus_aws, org_wide, requests, backends, scale, backups,
                  bulk)
    print(f"total {time.perf_counter() - started:.1f} s")


def scale_only(args):
    """Measures the scale section alone (no main data set) and writes it to --out: the way
    to run --scale 100000, which takes most of an hour on moto, without the other rows."""
    started = time.perf_counter()
    base = base_env(args.endpoint)
    with tempfile.TemporaryDirectory(prefix="awsideman-bench-") as root:
        scale = time_scale(args, root, base)
        aws = Aws(args.aws, dict(base, HOME=os.path.join(root, "aws")), "-")
        info = machine_info(args.binary, aws)
    lines = ["# awsideman benchmarks: scale", "",
             "Generated by `benches/run.sh --scale-only` (do not edit by hand).", "",
             f"Machine: {info}. Each command a fresh process with its output to /dev/null; "
             "peak RSS as the kernel reports it (`wait4`)."]
    lines += scale_lines(scale, None, None)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}; total {time.perf_counter() - started:.1f} s")


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


def measure(argv, env, ok=(0,), stdout=None, stderr=None):
    """Runs a command once as a fresh process, its output into `stdout` (an open file;
    /dev/null by default) and its errors into `stderr` (an open file; by default kept only
    to report a failure), through the wait4 helper (benches/tools/wait4.rs: Linux keeps a
    peak RSS across exec, so a child of this large Python process would report Python's),
    and exits the benchmark loudly if its exit status is not in `ok`. Returns (wall
    seconds, peak RSS in KB, exit status), as the helper measured them."""
    with tempfile.NamedTemporaryFile() as report, tempfile.TemporaryFile() as own:
        err = stderr or own
        proc = subprocess.run([WAIT4, report.name, *argv], env=env, stdin=subprocess.DEVNULL,
                              stdout=stdout or subprocess.DEVNULL, stderr=err)
        fields = report.read().split()
        if proc.returncode != 0 or len(fields) != 3 or int(fields[0]) not in ok:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)}: exit {fields[0].decode() if fields else '?'}: "
                             f"{err.read(4096).decode(errors='replace')}")
    return int(fields[1]) / 1e9, int(fields[2]), int(fields[0])


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
    """One timed command: a label, how to run it, what to do before each run, the exit
    statuses that count as success; its wall times and peak RSS per run."""

    label: str
    argv: list
    env: dict
    before_each: Callable[[], None] | None = None
    ok: tuple = (0,)
    times: list = field(default_factory=list)
    rss: list = field(default_factory=list)

    def median_ms(self):
        """The median wall time in milliseconds."""
        return statistics.median(self.times) * 1000

    def median_rss_kb(self):
        """The median peak RSS in KB."""
        return statistics.median(self.rss)

    def runs(self):
        """How many times it ran."""
        return len(self.times)


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
    """Runs every case `runs` times, one run of each in turn, recording wall time and peak
    RSS; prints the medians."""
    for _ in range(runs):
        for c in cases:
            if c.before_each:
                c.before_each()
            elapsed, rss, _ = measure(c.argv, c.env, c.ok)
            c.times.append(elapsed)
            c.rss.append(rss)
    for c in cases:
        print(f"{c.label:60s} {c.median_ms():10.2f} ms {mb(c.median_rss_kb()):>10s}")


def operation_entry(home, operation):
    """The path and size of the largest file in a HOME's file cache entries whose header
    names `operation` (other rows fill the same HOME with larger entries of their own)."""
    entries = os.path.join(home.env["HOME"], ".awsideman", "cache", "entries")
    files = [os.path.join(d, f) for d, _, names in os.walk(entries) for f in names]
    marker = f'"operation":"{operation}"'.encode()

    def holds(path):
        with open(path, "rb") as f:
            return marker in f.readline(64 * 1024)

    files = [f for f in files if holds(f)]
    if not files:
        raise SystemExit(f"no {operation} cache entry under {entries}")
    path = max(files, key=os.path.getsize)
    return path, os.path.getsize(path)


def time_versus_aws(homes, aws, runs):
    """Start-up and `user list` in every variant, each next to the aws CLI, `cat` of the
    warm file cache's entry as the floor of a warm `user list` and `true` as the floor of
    any command. Returns (rows (label, awsideman Case, aws Case), (the `cat` Case, the
    `true` Case), the entry's size in bytes)."""
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
    entry, size = operation_entry(homes["file-warm"], "ListUsers")
    cat = Case("cat of the warm cache entry", ["cat", entry], home.env)
    true = Case("true", [shutil.which("true") or "/bin/true"], home.env)
    time_round_robin([aws_version, aws_users, cat, true] + [c for _, c, _ in pairs], runs)
    return pairs, (cat, true), size


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


def free_port():
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """A moto_server of the benchmark's own on a free loopback port, so a data set can live
    apart from the main one; a context manager that stops it."""

    def __init__(self, executable, log):
        self.executable = executable
        self.log = log
        self.url = f"http://127.0.0.1:{free_port()}"
        self.proc = None

    def __enter__(self):
        port = self.url.rsplit(":", 1)[1]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([self.executable, "-H", "127.0.0.1", "-p", port],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise SystemExit(f"the second moto_server did not start (see {self.log})")

    def __exit__(self, *_):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def answer_size(argv, env, what, wanted):
    """Runs a `user list`-like command once with its answer into a file, checks it holds
    `wanted` users; returns the answer's size in bytes."""
    with tempfile.TemporaryFile() as out:
        measure(argv, env, stdout=out)
        size = out.tell()
        out.seek(0)
        expect(what, len(json.load(out)["Users"]), wanted)
    return size


@dataclass
class Scale:
    """The scale section's measurements: `user list` of `users` users, warm and cold, and
    the aws CLI's list-users, with the bytes each printed."""

    users: int
    warm: Case
    cold: Case
    aws: Case
    size: int
    aws_size: int


def time_scale(args, root, base):
    """Seeds --scale users into a second moto_server and times warm `user list` (--runs
    runs), cold `user list` and the aws CLI's list-users (--slow-runs runs each), each
    with its peak RSS and answer size."""
    with MotoServer(args.moto_server, "target/moto_server-scale.log") as moto:
        started = time.perf_counter()
        world = seed.seed_users_only(moto.url, args.scale)
        print(f"scale: seeded {world.users:,} users in {time.perf_counter() - started:.1f} s")
        env = dict(base, AWS_ENDPOINT_URL=moto.url)
        warm = Home(root, "scale-warm", args.binary, env)
        cold = Home(root, "scale-cold", args.binary, env)
        aws = Aws(args.aws, dict(env, HOME=os.path.join(root, "aws-scale")), world.store)
        # Fills the warm cache, and says how large the answer is.
        size = answer_size(warm.argv(USER_LIST), warm.env, "users (scale)", world.users)
        aws_size = answer_size(aws.argv(aws.list_users), aws.env, "users (scale, aws CLI)",
                               world.users)
        label = f"{world.users:,} users"
        found = Scale(world.users,
                      Case(f"user list warm, {label}", warm.argv(USER_LIST), warm.env),
                      Case(f"user list cold, {label}", cold.argv(USER_LIST), cold.env,
                           before_each=cold.clear),
                      Case(f"aws identitystore list-users, {label}",
                           aws.argv(aws.list_users), aws.env),
                      size, aws_size)
        time_round_robin([found.warm], args.runs)
        time_round_robin([found.cold, found.aws], args.slow_runs)
    return found


@dataclass
class Backups:
    """`backup create` and `backup diff --live`: their Cases and the AWS requests of each."""

    create: Case
    diff: Case
    create_requests: Counter
    diff_requests: Counter
    minimum: int


def measure_backups(args, root, base, world):
    """`backup create --to DIR` and `backup diff ID --live` on the main data set: requests
    (from `--debug`) against the minimum, then --slow-runs timed runs of each. moto
    implements neither permission set tags nor permissions boundaries, so AWS_MAX_ATTEMPTS=1
    keeps those two failing calls at one attempt each (the tests do the same)."""
    home = Home(root, "backup", args.binary, dict(base, AWS_MAX_ATTEMPTS="1"))
    dest = os.path.join(root, "backups")
    os.mkdir(dest, 0o700)
    create = ["--output", "json", "backup", "create", "--to", dest]
    out, err = home.awsideman(["--debug", *create])
    backup_id = json.loads(out)["Id"]
    create_requests, _ = debug_requests(err)
    diff = ["--output", "json", "backup", "diff", backup_id, "--from", dest, "--live"]
    proc = subprocess.run(home.argv(["--debug", *diff]), env=home.env, capture_output=True)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"backup diff --live: exit {proc.returncode}: {proc.stderr.decode()}")
    if proc.returncode == 3:
        print("note: backup diff --live found differences right after backup create")
    diff_requests, _ = debug_requests(proc.stderr.decode())
    found = Backups(Case("backup create", home.argv(create), home.env),
                    Case("backup diff --live", home.argv(diff), home.env, ok=(0, 3)),
                    create_requests, diff_requests, seed.minimum_backup(world))
    time_round_robin([found.create, found.diff], args.slow_runs)
    for what, counts in (("backup create", create_requests), ("backup diff --live", diff_requests)):
        print(f"{what:22s} {sum(counts.values()):5d} requests (minimum {found.minimum}) "
              f"{dict(counts)}")
    return found


class ThrottlingProxy:
    """A loopback HTTP proxy in front of moto that answers Identity Center (identitystore
    and sso-admin) requests beyond `rate` in any one second with ThrottlingException, as
    AWS does, and forwards everything else. Counts what it forwarded and refused; a context
    manager that serves from a thread."""

    def __init__(self, upstream, rate):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.rate = rate
        self.lock = threading.Lock()
        self.recent = deque()
        self.forwarded = Counter()
        self.throttled = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                proxy.handle(self)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_):
        self.server.shutdown()
        self.server.server_close()

    def admit(self, target):
        """Whether a request with this X-Amz-Target goes through (always, outside Identity
        Center); counts it either way."""
        if not target.startswith(IDENTITY_CENTER_TARGETS):
            self.forwarded["other"] += 1
            return True
        with self.lock:
            now = time.monotonic()
            while self.recent and now - self.recent[0] >= 1:
                self.recent.popleft()
            if len(self.recent) >= self.rate:
                self.throttled += 1
                return False
            self.recent.append(now)
            self.forwarded["identity center"] += 1
            return True

    def handle(self, req):
        """Answers one request: throttled, or moto's answer."""
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        if not self.admit(req.headers.get("X-Amz-Target", "")):
            reply = json.dumps({"__type": "ThrottlingException",
                                "message": "Rate exceeded"}).encode()
            req.send_response(400)
            req.send_header("x-amzn-errortype", "ThrottlingException")
            req.send_header("Content-Type", "application/x-amz-json-1.1")
            req.send_header("Content-Length", str(len(reply)))
            req.end_headers()
            req.wfile.write(reply)
            return
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port,
                                          timeout=60)
        try:
            headers = {k: v for k, v in req.headers.items()
                       if k.lower() not in ("connection", "keep-alive", "transfer-encoding")}
            conn.request(req.command, req.path, body=body, headers=headers)
            answer = conn.getresponse()
            payload = answer.read()
            req.send_response(answer.status, answer.reason)
            for k, v in answer.getheaders():
                if k.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                     "content-length", "server", "date"):
                    req.send_header(k, v)
            req.send_header("Content-Length", str(len(payload)))
            req.end_headers()
            if req.command != "HEAD":
                req.wfile.write(payload)
        finally:
            conn.close()


@dataclass
class Bulk:
    """One throttled bulk assign: its file's shape, wall time, peak RSS, what the proxy let
    through and refused, and how it ended (`Summary` counts, or the error it stopped on)."""

    label: str
    rows: int
    seconds: float
    rss_kb: int
    forwarded: int
    other: int
    throttled: int
    succeeded: int
    failed: int
    error: str


def bulk_files(world):
    """The two files of BULK_ROWS rows assigning PermissionSet00, none assigned yet, as
    (label, CSV rows): users by name, and groups by name; accounts by id.

    Users: users 0-49, each in the 4 accounts after its own number (the shape of the
    end-to-end test), skipping account j for user 20j (seed.py gives it set 0 there).
    Groups: in account j, groups 5j+1 to 5j+4 (seed.py gives set 0 to group 5j only)."""
    accounts = world.accounts
    per_principal = math.ceil(BULK_ROWS / 50)
    users = []
    for i in range(50):
        after = ((i + 1 + m) % len(accounts) for m in range(len(accounts)))
        free = [j for j in after if (20 * j) % world.users != i][:per_principal]
        users += [f"user{i:05d},PermissionSet00,{accounts[j]},USER" for j in free]
    per_account = math.ceil(BULK_ROWS / len(accounts))
    groups = [f"team-{(seed.ASSIGNED_SETS * j + k) % world.groups:03d},PermissionSet00,"
              f"{account},GROUP"
              for j, account in enumerate(accounts) for k in range(1, per_account + 1)]
    files = []
    for what, rows in (("users", users[:BULK_ROWS]), ("groups", groups[:BULK_ROWS])):
        expect(f"distinct bulk rows ({what})", len(set(rows)), BULK_ROWS)
        principals = len({row.split(",")[0] for row in rows})
        files.append((f"{BULK_ROWS} rows, {principals} {what}", rows))
    return files


def throttled_bulk_assign(args, root, base, world):
    """Each of bulk_files as `bulk assign FILE --yes` at the default rate limit, with no
    cache, through a ThrottlingProxy at THROTTLE_RATE requests per second in front of moto:
    one run each (it takes seconds by design), its wall time, peak RSS and outcome (a
    failure is reported, not fatal: it is what the row measures). Each file's rows are
    revoked after (straight to moto) so moto holds the seeded data again."""
    home = Home(root, "bulk", args.binary, base)
    env = {k: v for k, v in home.env.items() if k != "AWSIDEMAN_RATE_LIMIT"}
    found = []
    for n, (label, rows) in enumerate(bulk_files(world)):
        path = os.path.join(root, f"bulk-{n}.csv")
        with open(path, "w") as f:
            f.write("principal_name,permission_set_name,account_name,principal_type\n")
            f.write("\n".join(rows) + "\n")
        argv = home.argv(["--no-cache", "--output", "json", "bulk", "assign", path, "--yes"])
        with ThrottlingProxy(args.endpoint, THROTTLE_RATE) as proxy, \
                tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            seconds, rss, status = measure(argv, dict(env, AWS_ENDPOINT_URL=proxy.url),
                                           ok=(0, 1), stdout=out, stderr=err)
            out.seek(0)
            err.seek(0)
            answer = out.read()
            errors = [line for line in err.read().decode(errors="replace").splitlines()
                      if line.startswith("awsideman: error")]
        summary = json.loads(answer)["Summary"] if answer.strip() else {}
        bulk = Bulk(label, len(rows), seconds, rss, proxy.forwarded["identity center"],
                    proxy.forwarded["other"], proxy.throttled, summary.get("Succeeded", 0),
                    summary.get("Failed", 0),
                    "" if status == 0 else (errors[-1] if errors else f"exit {status}"))
        print(f"bulk assign, {label}, at {THROTTLE_RATE}/s: exit {status}, {seconds:.2f} s "
              f"{mb(rss)}, {bulk.succeeded} succeeded, {bulk.failed} failed, "
              f"{bulk.forwarded} Identity Center requests (bound "
              f"{bulk.forwarded / THROTTLE_RATE:.2f} s), {bulk.throttled} throttled, "
              f"{bulk.other} others {bulk.error}")
        if bulk.succeeded:
            measure(home.argv(["--no-cache", "bulk", "revoke", path, "--yes",
                               "--continue-on-error"]), home.env, ok=(0, 1))
        found.append(bulk)
    return found


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


def mb(kb):
    """A size in KB as MB with one decimal."""
    return f"{kb / 1024:,.1f} MB"


def timed(c):
    """A Case's median time and peak RSS: `12.34 ms, 9.8 MB`."""
    return f"{ms(c.median_ms())}, {mb(c.median_rss_kb())}"


def by_operation(counts):
    """`ListUsers 10, ListGroups 1`, most first; `-` for none."""
    return ", ".join(f"{op} {n}" for op, n in counts.most_common()) or "-"


def scale_lines(scale, warm_main, main_users):
    """The scale section of the report, the main data set's warm `user list` first (when
    `warm_main` is given)."""
    lines = ["", f"## Scale: {scale.users:,} users", "",
             f"A second moto_server holding {scale.users:,} users and nothing else (seeded "
             "with boto3; `benches/run.sh --scale N` seeds N)"
             + (", so the rows above keep their data" if warm_main is not None else "")
             + f". Warm: medians of {scale.warm.runs()} runs; cold and the aws CLI: "
             f"medians of {scale.cold.runs()} runs. \"RSS / answer\": peak RSS over the "
             "size of the JSON the command printed.", "",
             "| measurement | median | peak RSS | answer | RSS / answer |",
             "|---|---|---|---|---|"]
    if warm_main is not None:
        lines.append(f"| `user list`, file cache, warm, {main_users:,} users (from above) | "
                     f"{ms(warm_main.median_ms())} | {mb(warm_main.median_rss_kb())} | - | - |")
    for label, c, size in ((f"`user list`, file cache, warm, {scale.users:,} users",
                            scale.warm, scale.size),
                           (f"`user list`, file cache, cold, {scale.users:,} users",
                            scale.cold, scale.size),
                           (f"aws CLI `list-users`, {scale.users:,} users", scale.aws,
                            scale.aws_size)):
        lines.append(f"| {label} | {ms(c.median_ms())} | {mb(c.median_rss_kb())} | "
                     f"{mb(size / 1024)} | {c.median_rss_kb() * 1024 / size:,.2f}x |")
    lines += ["", f"The aws CLI against awsideman at {scale.users:,} users: "
              f"{scale.aws.median_ms() / scale.warm.median_ms():,.1f}x warm, "
              f"{scale.aws.median_ms() / scale.cold.median_ms():,.1f}x cold (time); "
              f"{scale.aws.median_rss_kb() / scale.cold.median_rss_kb():,.1f}x cold (peak RSS)."]
    return lines


def backup_lines(backups):
    """The backups section of the report."""
    lines = ["", "## Backups (main data set)", "",
             f"`backup create --to DIR` and `backup diff ID --from DIR --live`, medians of "
             f"{backups.create.runs()} runs; requests from `--debug`. moto implements neither "
             "permission set tags nor permissions boundaries: AWS_MAX_ATTEMPTS=1 keeps each of "
             "those failing calls at one attempt.", "",
             "| command | median | peak RSS | AWS requests | minimum the data requires | "
             "by operation |", "|---|---|---|---|---|---|"]
    for label, c, counts in (("`backup create`", backups.create, backups.create_requests),
                             ("`backup diff --live`", backups.diff, backups.diff_requests)):
        lines.append(f"| {label} | {ms(c.median_ms())} | {mb(c.median_rss_kb())} | "
                     f"{sum(counts.values())} | {backups.minimum} | {by_operation(counts)} |")
    lines += ["", "Minimum: the `assignment list` plan (its set name lookups become the "
              "backup's own DescribePermissionSet of every set), plus ListRoots, "
              "ListPermissionSets, one ListGroupMemberships per group, six requests per "
              "permission set (describe, managed policies, customer managed references, "
              "inline policy, permissions boundary, tags) and one "
              "ListOrganizationalUnitsForParent per root and OU. `diff --live` reads the same."]
    return lines


def bulk_lines(bulks):
    """The throttled bulk assign section of the report."""
    lines = ["", f"## Bulk assign against a throttled Identity Center ({THROTTLE_RATE} "
             "requests/s)", "",
             "`bulk assign FILE --yes --no-cache` of new assignments of one permission set "
             "(principals by name, accounts by id) at the default rate limit, through a proxy "
             "that answers ThrottlingException (HTTP 400, `x-amzn-errortype`) beyond "
             f"{THROTTLE_RATE} identitystore and sso-admin requests in any one second and "
             "forwards the rest (organizations) to moto. One run each; the rows are revoked "
             "after. The bound is the fastest any client could be: the Identity Center "
             f"requests that went through, at {THROTTLE_RATE} per second.", "",
             "| file | outcome | wall time | peak RSS | Identity Center requests | "
             "throttled replies | other requests | bound | wall time / bound |",
             "|---|---|---|---|---|---|---|---|---|"]
    for bulk in bulks:
        bound = max(bulk.forwarded, 1) / THROTTLE_RATE
        outcome = (f"{bulk.succeeded} succeeded, {bulk.failed} failed" if not bulk.error
                   else f"**failed**: {bulk.succeeded} succeeded, {bulk.failed} failed; "
                        f"`{bulk.error}`")
        lines.append(f"| {bulk.label} | {outcome} | {bulk.seconds:,.2f} s | "
                     f"{mb(bulk.rss_kb)} | {bulk.forwarded} | {bulk.throttled} | "
                     f"{bulk.other} | {bound:,.2f} s | {bulk.seconds / bound:,.2f}x |")
    return lines


def write_results(args, info, world, versus_aws, org_wide, requests, backends, scale, backups,
                  bulk):
    """Writes the Markdown report."""
    versus_aws, (cat, true), entry_size = versus_aws
    plans = seed.minimum_assignment_list(world)
    tree = world.tree
    lines = [
        "# awsideman benchmarks",
        "",
        "Generated by `benches/run.sh` (do not edit by hand).",
        "",
        f"Machine: {info}. Medians of {args.runs} runs unless a row says otherwise, each "
        "command a fresh process with its output to /dev/null, against moto_server on "
        "127.0.0.1 (it answers in a few milliseconds; against AWS every request is a network "
        "round trip, so the uncached and cold columns grow with latency while the warm ones "
        "stay the same). Peak RSS: the median of each run's maximum resident set size, as "
        "the kernel reports it for that process (`wait4`, from a small helper that also takes the "
        "time).",
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
        "| measurement | awsideman median | peak RSS | aws CLI median | peak RSS | "
        "ratio (aws CLI / awsideman) |",
        "|---|---|---|---|---|---|",
    ]
    for label, ours, theirs in versus_aws:
        lines.append(f"| {label} | {ms(ours.median_ms())} | {mb(ours.median_rss_kb())} | "
                     f"{ms(theirs.median_ms())} | {mb(theirs.median_rss_kb())} | "
                     f"{theirs.median_ms() / ours.median_ms():,.1f}x |")
    warm = next(ours for label, ours, _ in versus_aws if label == "`user list`, file cache, warm")
    version = next(ours for label, ours, _ in versus_aws if label == "`--version`")
    lines += ["", "The floors, timed the same way: of a warm `user list`, `cat` of its cache "
              f"entry (the `ListUsers` entry, {entry_size / 1024:,.1f} KB); "
              "of any command, `true` (a process that does nothing):", "",
              "| measurement | median | peak RSS | awsideman / this |", "|---|---|---|---|",
              f"| `cat` of the warm cache entry | {ms(cat.median_ms())} | "
              f"{mb(cat.median_rss_kb())} | {warm.median_ms() / cat.median_ms():,.1f}x "
              "(warm `user list`) |",
              f"| `true` | {ms(true.median_ms())} | {mb(true.median_rss_kb())} | "
              f"{version.median_ms() / true.median_ms():,.2f}x (`--version`) |"]
    lines += ["", "## Organization-wide reads (file cache)", "",
              "Median time, peak RSS.", "",
              "| command | `--no-cache` | cold | warm | cold / warm |", "|---|---|---|---|---|"]
    for label, cases in org_wide:
        u, c, w = (cases[t] for t in ("uncached", "cold", "warm"))
        lines.append(f"| {label} | {timed(u)} | {timed(c)} | {timed(w)} | "
                     f"{c.median_ms() / w.median_ms():,.1f}x |")
    lines += scale_lines(scale, warm, world.users)
    lines += backup_lines(backups)
    lines += bulk_lines(bulk)
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
