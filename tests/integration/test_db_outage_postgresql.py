"""A database outage seen by the real clients, on a real API node (gunicorn)
over PostgreSQL, and its end: nothing restarted.

The outage: ``ALTER DATABASE … ALLOW_CONNECTIONS false`` (run while connected
to ``postgres``) and ``pg_terminate_backend`` on every session of the node's
database, for about five seconds. Meanwhile openstacksdk, boto3 and raw HTTP
calls to each API (Keystone, Nova, Glance, EC2) get 503 with ``Retry-After``
in that API's own error format — never a 500, a traceback or a hang — and once
connections are allowed again the same clients succeed, against the same
node processes.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from xml.etree import ElementTree

import httpx
import openstack
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from openstack import exceptions as sdk_exceptions
from sqlalchemy import text

from tests.conftest import ksa_session
from tests.db.conftest import postgresql_server  # noqa: F401  (fixture used by name)
from tests.support.ec2 import bootstrap_keys, client
from tests.support.server import Server, make_server

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 5.0
# No single call may take longer than this (the node's connect timeout is 2 s).
CALL_LIMIT = 8.0
RECOVERY_LIMIT = 15.0


@dataclass
class Node:
    server: Server
    database: str
    admin: object  # the admin engine of the PostgreSQL server


@pytest.fixture(scope="module")
def node(postgresql_server, tmp_path_factory) -> Iterator[Node]:  # noqa: F811
    name = f"nimbus_outage_{uuid.uuid4().hex[:8]}"
    url = postgresql_server.create(name)
    srv = make_server(tmp_path_factory.mktemp("outage"), database_url=url,
                      database_connect_timeout="2", compute_hosts="1")
    try:
        srv.bootstrap()
        srv.start()
        yield Node(srv, name, postgresql_server.admin)
    finally:
        srv.stop()
        allow_connections(postgresql_server.admin, name, True)
        postgresql_server.drop(name)


def allow_connections(admin, database: str, allowed: bool) -> None:
    with admin.connect() as conn:
        conn.execute(text(f"ALTER DATABASE {database} ALLOW_CONNECTIONS "
                          f"{'true' if allowed else 'false'}"))
        if not allowed:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"),
                         {"name": database})


@dataclass
class Outcome:
    """One call: its client, HTTP status, Retry-After, the error's shape, time."""

    probe: str
    status: int
    retry_after: str | None
    shape_ok: bool
    seconds: float


@dataclass
class Probes:
    """One call per API and client, each answering an Outcome."""

    node: Node
    calls: dict[str, Callable[[], tuple[int, str | None, bool]]] = field(default_factory=dict)

    def run_all(self) -> list[Outcome]:
        out = []
        for name, call in self.calls.items():
            start = time.monotonic()
            status, retry_after, shape_ok = call()
            out.append(Outcome(name, status, retry_after, shape_ok, time.monotonic() - start))
        return out


def _json(response: httpx.Response) -> dict:
    try:
        return response.json()
    except ValueError:
        return {}


def build_probes(node: Node) -> Probes:
    srv = node.server
    admin = ksa_session(srv, "admin", srv.password("admin"), "admin")
    token = admin.get_token()
    http = httpx.Client(base_url=srv.url, timeout=CALL_LIMIT)
    headers = {"X-Auth-Token": token}
    sdk = openstack.connect(auth_url=srv.auth_url, username="admin",
                            password=srv.password("admin"), project_name="admin",
                            user_domain_id="default", project_domain_id="default",
                            region_name="RegionOne")
    list(sdk.compute.flavors())  # the catalog and endpoints, while the database is up
    keys = bootstrap_keys(srv)
    ec2 = client(f"{srv.url}/ec2/", keys)

    def nova() -> tuple[int, str | None, bool]:
        r = http.get("/compute/v2.1/servers", headers=headers)
        body = _json(r)
        ok = r.status_code < 400 or body.get("serviceUnavailable", {}).get("code") == 503
        return r.status_code, r.headers.get("retry-after"), ok

    def keystone() -> tuple[int, str | None, bool]:
        r = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"},
                "password": srv.password("admin")}}}}})
        body = _json(r)
        ok = r.status_code < 400 or body.get("error", {}).get("code") == 503
        return r.status_code, r.headers.get("retry-after"), ok

    def glance() -> tuple[int, str | None, bool]:
        r = http.get("/image/v2/images", headers=headers)
        ok = r.status_code < 400 or _json(r).get("code") == "503 Service Unavailable"
        return r.status_code, r.headers.get("retry-after"), ok

    def sdk_servers() -> tuple[int, str | None, bool]:
        try:
            list(sdk.compute.servers())
        except sdk_exceptions.HttpException as exc:
            response = exc.response
            assert response is not None
            return (response.status_code, response.headers.get("retry-after"),
                    "serviceUnavailable" in response.text)
        return 200, None, True

    def boto3_instances() -> tuple[int, str | None, bool]:
        try:
            ec2.describe_instances()
        except ClientError as exc:
            meta = exc.response["ResponseMetadata"]
            return (meta["HTTPStatusCode"], meta["HTTPHeaders"].get("retry-after"),
                    exc.response["Error"]["Code"] == "ServiceUnavailable")
        return 200, None, True

    def ec2_xml() -> tuple[int, str | None, bool]:
        # Signed with SigV4 by botocore, sent and read raw: the XML error body.
        body = "Action=DescribeRegions&Version=2016-11-15"
        signed = AWSRequest("POST", f"{srv.url}/ec2/", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(Credentials(*keys), "ec2", "RegionOne").add_auth(signed)
        r = http.post("/ec2/", content=body, headers=dict(signed.headers.items()))
        if r.status_code != 503:
            return r.status_code, r.headers.get("retry-after"), True
        root = ElementTree.fromstring(r.content)
        ok = root.tag == "Response" and root.findtext("Errors/Error/Code") == \
            "ServiceUnavailable" and bool(root.findtext("RequestID"))
        return r.status_code, r.headers.get("retry-after"), ok

    return Probes(node, {"nova": nova, "keystone": keystone, "glance": glance,
                         "openstacksdk": sdk_servers, "boto3": boto3_instances,
                         "ec2-xml": ec2_xml})


def test_database_outage_is_503_with_retry_after_and_recovers(node):
    probes = build_probes(node)
    before = probes.run_all()
    assert all(o.status < 400 for o in before), before
    log_offset = len(node.server.log_text())

    allow_connections(node.admin, node.database, False)
    started = time.monotonic()
    during: list[Outcome] = []
    health: list[int] = []
    try:
        while time.monotonic() - started < OUTAGE_SECONDS:
            during += probes.run_all()
            # Shallow: the node stays in the load balancer's pool.
            health.append(httpx.get(f"{node.server.url}/healthcheck", timeout=5).status_code)
    finally:
        allow_connections(node.admin, node.database, True)
    ended = time.monotonic()

    recovered_after = None
    after: list[Outcome] = []
    while time.monotonic() - ended < RECOVERY_LIMIT:
        after = probes.run_all()
        if all(o.status < 500 for o in after):
            recovered_after = time.monotonic() - ended
            break
        time.sleep(0.1)

    unavailable = [o for o in during if o.status == 503]
    by_status = Counter((o.probe, o.status) for o in during)
    print(f"\noutage {ended - started:.1f} s: {len(during)} calls, {len(unavailable)} "
          f"answered 503; by client and status {dict(by_status)}; slowest call "
          f"{max(o.seconds for o in during):.2f} s; recovered "
          f"{recovered_after if recovered_after is None else round(recovered_after, 2)} s "
          f"after connections were allowed again")

    # During: 503s with Retry-After in each API's own format, from every client.
    assert {o.probe for o in unavailable} == set(probes.calls), by_status
    assert all(o.status in (200, 503) for o in during), by_status
    assert all(o.retry_after == "5" and o.shape_ok for o in unavailable), unavailable
    assert max(o.seconds for o in during) < CALL_LIMIT
    assert health and set(health) == {200}
    # After: the same clients, the same node, without a restart.
    assert recovered_after is not None, after
    assert all(o.status < 400 for o in after), after
    log = node.server.log_text()[log_offset:]
    assert '"status": 500' not in log
    assert '"msg": "unexpected error"' not in log
    assert "Booting worker" not in log  # no worker died and was replaced
    assert node.server.proc is not None and node.server.proc.poll() is None
