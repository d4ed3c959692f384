"""Two API nodes behind nginx (nginx/run.sh), driven by real clients.

One data directory is bootstrapped once; both nodes serve it (same SQLite file,
same fernet keys) on their own ports, with the public URL set to nginx's, so
the catalog and clouds.yaml send clients through the balancer.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3

from tests.conftest import Cli, require_service
from tests.support.server import ROOT, Server, free_port, make_server, wait_http

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("nginx-two-nodes")]

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                  else None)
LOAD_THREADS = 3
LOAD_SECONDS_BEFORE_KILL = 2.0
LOAD_SECONDS_AFTER_KILL = 4.0
MAX_REQUESTS_PER_THREAD = 20_000


@dataclass
class Cluster:
    url: str
    nodes: list[Server]
    nginx: subprocess.Popen
    run_dir: Path

    @property
    def identity(self) -> str:
        return f"{self.url}/identity/v3"

    def access_log(self, until_ids: set[str] = frozenset(), timeout: float = 5.0
                   ) -> list[dict]:
        """nginx's access log, once it holds every upstream request id in
        ``until_ids`` (nginx logs a request just after sending its response)."""
        deadline = time.monotonic() + timeout
        while True:
            text = (self.run_dir / "access.log").read_text()
            entries = [json.loads(line) for line in text.splitlines() if line.strip()]
            logged = {e["upstream_request_id"] for e in entries}
            if until_ids <= logged or time.monotonic() > deadline:
                return entries
            time.sleep(0.05)

    def password(self, name: str) -> str:
        return self.nodes[0].password(name)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_service(NGINX is not None, "nginx")
    base = tmp_path_factory.mktemp("nginx-cluster")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = make_server(base / "data", public_url=url)
    first.bootstrap()
    # Same settings, same data dir (database, key repositories), another port.
    nodes = [first, make_server(base / "data", public_url=url)]
    run_dir = base / "nginx"
    proc = None
    try:
        for node in nodes:
            node.start()
        with open(base / "nginx.out", "wb") as out:
            proc = subprocess.Popen(
                ["bash", str(ROOT / "nginx" / "run.sh"), str(run_dir), str(port),
                 *(str(n.port) for n in nodes)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(f"{url}/identity/v3", proc=proc)
        yield Cluster(url, nodes, proc, run_dir)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGQUIT)  # graceful: finish, flush logs
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for node in nodes:
            node.stop()


def _password_session(auth_url: str, name: str, password: str) -> ksa_session.Session:
    # An auth_url ending in /v3 posts straight to it: no discovery, which would
    # follow the version document's links to the public (nginx) URL.
    auth = v3.Password(auth_url=auth_url, username=name, password=password,
                       user_domain_id="default", project_name=name,
                       project_domain_id="default")
    return ksa_session.Session(auth=auth)


def _validate(node: Server, token: str) -> dict:
    """GET /auth/tokens on one node, the token validating itself."""
    resp = ksa_session.Session().get(
        f"{node.url}/identity/v3/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert resp.status_code == 200
    assert resp.headers["X-Subject-Token"] == token
    return resp.json()["token"]


def test_clouds_yaml_points_at_nginx(cluster):
    clouds = yaml.safe_load(cluster.nodes[0].clouds_yaml.read_text())["clouds"]
    assert {c["auth"]["auth_url"] for c in clouds.values()} == {f"{cluster.url}/identity"}


def test_metrics_only_on_the_nodes_and_healthcheck_through(cluster):
    # nginx matches the normalised path: every spelling of /metrics is refused
    # (uvicorn would decode /%6detrics to /metrics).
    for path in ("/metrics", "/metrics/", "//metrics", "/%6detrics", "/metrics?x=1"):
        r = requests.get(f"{cluster.url}{path}", timeout=5)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == 404
    for node in cluster.nodes:
        r = requests.get(f"{node.url}/metrics", timeout=5)
        assert r.status_code == 200 and "nimbus_api_requests_total" in r.text
    r = requests.get(f"{cluster.url}/healthcheck", timeout=5)
    assert (r.status_code, r.text) == (200, "OK")


def test_token_from_one_node_validates_on_the_other(cluster):
    first, second = cluster.nodes
    # Issued through nginx by the CLI, then checked on each node directly.
    issued = Cli(first).json("admin", "token", "issue")
    for node in cluster.nodes:
        assert _validate(node, issued["id"])["user"]["id"] == issued["user_id"]
    # Issued by one node directly, validated by the other, both ways.
    for issuer, validator in ((first, second), (second, first)):
        sess = _password_session(f"{issuer.url}/identity/v3", "demo", cluster.password("demo"))
        token = sess.get_token()
        body = _validate(validator, token)
        assert body["project"]["name"] == "demo"
        assert body["catalog"][0]["endpoints"][0]["url"].startswith(cluster.url)


def test_request_ids_through_nginx(cluster):
    sent: dict[str, str | None] = {}
    own = f"req-{uuid.uuid4()}"
    for i in range(8):
        headers = {"X-Openstack-Request-Id": own} if i == 0 else {}
        resp = requests.get(cluster.identity, headers=headers, timeout=10)
        assert resp.status_code == 200
        sent[resp.headers["x-openstack-request-id"]] = headers.get("X-Openstack-Request-Id")
    resp = requests.post(f"{cluster.identity}/auth/tokens", timeout=10, json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"id": "default"}, "password": cluster.password("demo")}}},
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}})
    assert resp.status_code == 201
    sent[resp.headers["x-openstack-request-id"]] = None
    assert own in sent  # a client's own id comes back unchanged

    by_upstream_id = {e["upstream_request_id"]: e for e in cluster.access_log(set(sent))}
    for returned, client_id in sent.items():
        entry = by_upstream_id[returned]
        if client_id is None:
            assert returned == f"req-{uuid.UUID(entry['request_id'])}"
    # least_conn spread the requests over both nodes.
    used = {e["upstream"] for e in by_upstream_id.values() if e["upstream_request_id"] in sent}
    assert used == {f"127.0.0.1:{n.port}" for n in cluster.nodes}


class _Load:
    """Threads sending GETs (project list) and POSTs (token issue) through nginx."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.stop = threading.Event()
        self.counts: Counter[tuple[str, int | str]] = Counter()
        self.without_request_id = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True)
                        for _ in range(LOAD_THREADS)]

    def _run(self) -> None:
        password = self.cluster.password("admin")
        sess = _password_session(self.cluster.identity, "admin", password)
        sess.get_token()
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": password}}}}}
        for i in range(MAX_REQUESTS_PER_THREAD):
            if self.stop.is_set():
                break
            method = "POST" if i % 4 == 3 else "GET"
            try:
                if method == "POST":
                    resp = sess.post(f"{self.cluster.identity}/auth/tokens", json=body,
                                     authenticated=False, raise_exc=False)
                else:
                    resp = sess.get(f"{self.cluster.identity}/projects", raise_exc=False)
                status: int | str = resp.status_code
                has_id = "x-openstack-request-id" in resp.headers
            except ksa_exc.ClientException as exc:
                status, has_id = type(exc).__name__, True
            with self.lock:
                self.counts[(method, status)] += 1
                self.without_request_id += not has_id

    def __enter__(self) -> _Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


def _cli_loop(cli: Cli, stop: threading.Event, results: list) -> None:
    commands = [("project", "list"), ("token", "issue")]
    while not stop.is_set() and len(results) < 20:
        args = commands[len(results) % 2]
        started = time.monotonic()
        proc = cli.run("admin", *args, "-f", "json", check=False)
        results.append((started, args, proc.returncode, proc.stderr[-300:]))


def test_node_killed_under_load_loses_no_get(cluster, record_property):
    first, second = cluster.nodes
    cli = Cli(first)
    cli_runs: list = []
    stop_cli = threading.Event()
    cli_thread = threading.Thread(target=_cli_loop, args=(cli, stop_cli, cli_runs), daemon=True)
    with _Load(cluster) as load:
        cli_thread.start()
        time.sleep(LOAD_SECONDS_BEFORE_KILL)
        killed_at = time.monotonic()
        second.stop(signal.SIGKILL)  # the whole process group: master and worker
        time.sleep(LOAD_SECONDS_AFTER_KILL)
        # At least one CLI run must start after the kill (bounded wait).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(r[0] > killed_at for r in cli_runs):
            time.sleep(0.2)
        stop_cli.set()
    cli_thread.join(timeout=30)

    counts = load.counts
    gets = sum(n for (m, _), n in counts.items() if m == "GET")
    posts = sum(n for (m, _), n in counts.items() if m == "POST")
    post_502 = counts[("POST", 502)]
    log = cluster.access_log()
    retried = [e for e in log if "," in e["upstream"]]
    summary = (f"{gets} GETs, {posts} POSTs, statuses {dict(counts)}, POST 502s {post_502}, "
               f"requests nginx retried on the other node {len(retried)}, "
               f"CLI runs {[(' '.join(a), rc) for _, a, rc, _ in cli_runs]}")
    print(f"\nnginx, two nodes, one killed -9: {summary}")
    record_property("load_summary", summary)

    assert gets > 50 and posts > 10
    assert counts[("GET", 200)] == gets, dict(counts)
    # A POST in flight on the killed node may get a 502 (nginx does not replay
    # POSTs); nothing else may fail.
    assert counts[("POST", 201)] + post_502 == posts, dict(counts)
    assert post_502 <= LOAD_THREADS
    assert load.without_request_id == 0
    for _, args, rc, err in cli_runs:
        # Each CLI run starts with a POST (authentication): it may meet a 502.
        assert rc == 0 or "502" in err, (args, err)
    assert any(started > killed_at and rc == 0 for started, _, rc, _ in cli_runs)

    # The surviving node logged no errors.
    errors = [line for line in first.log_text().splitlines()
              if "Traceback" in line or '"level": "ERROR"' in line]
    assert not errors, errors[:5]

    # With no node left, nginx answers itself: a JSON fault with a request id.
    first.stop(signal.SIGKILL)
    resp = requests.get(cluster.identity, timeout=10)
    assert resp.status_code == 502
    assert resp.json()["error"]["code"] == 502
    assert resp.headers["x-openstack-request-id"].startswith("req-")
