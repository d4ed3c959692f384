"""The DNS responder resolving live names with dnspython's resolver: a server
booted through the compute API on the test server, ``python -m core.dns``
started against the same database, and its private alias (as DescribeInstances
shows it), its ``<hostname>.<project>.<domain>`` name and its PTR resolved —
until the server is deleted. Also the all-in-one API process running the
responder itself (``NIMBUS_RUN_DNS``, as ``make run`` sets it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import dns.reversename
import pytest

from tests.conftest import unique
from tests.support.compute_api import Api, delete_all, new_tenant, wait_for
from tests.support.ec2 import client, new_credential
from tests.support.server import ROOT, make_server

PREFIX = unique("dns")
READY_TIMEOUT = 30.0

pytestmark = pytest.mark.usefixtures("no_server_errors")


def free_dual_port() -> int:
    """A port free for both UDP and TCP on loopback."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port for UDP and TCP")


def resolver_for(port: int) -> dns.resolver.Resolver:
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = port
    res.timeout, res.lifetime = 2.0, 5.0
    return res


def wait_answering(port: int, proc: subprocess.Popen | None = None) -> None:
    """Until the responder answers an SOA query (bounded)."""
    deadline = time.monotonic() + READY_TIMEOUT
    query = dns.message.make_query("nimbus.test", "SOA")
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"python -m core.dns exited with {proc.returncode}")
        try:
            reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=0.5)
        except dns.exception.Timeout:
            continue
        except ConnectionRefusedError:
            time.sleep(0.1)
            continue
        assert reply.rcode() == dns.rcode.NOERROR and reply.answer
        return
    raise AssertionError(f"no DNS answer on port {port} in {READY_TIMEOUT}s")


@pytest.fixture(scope="module")
def responder(server):
    """``python -m core.dns`` on its own, on the API's database; stopped by SIGTERM."""
    port = free_dual_port()
    log = open(server.data_dir / f"dns-{port}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "core.dns"], cwd=ROOT,
                            env={**server.env, "NIMBUS_DNS_PORT": str(port)},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_answering(port, proc)
        yield port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = "killed"
        log.close()
    assert code == 0, f"python -m core.dns did not stop cleanly on SIGTERM: {code}"


@dataclass
class Project:
    name: str
    member: Api
    ec2: Any


@pytest.fixture(scope="module")
def project(server, admin_session, identity_url, endpoint):
    """A project of its own with a compute API session and an EC2 client."""
    admin = Api(f"{server.url}/compute/v2.1", admin_session)
    tenant = new_tenant(server, admin, {"instances": 5})
    keys = new_credential(tenant.member.session, identity_url)
    yield Project(tenant.name, tenant.member, client(endpoint, keys))
    listed = tenant.member.ok("GET", "/servers")["servers"]
    delete_all(tenant.member, [s["id"] for s in listed])


def boot(server, api: Api, name: str) -> dict:
    images = api.session.get(f"{server.url}/image/v2/images?name=nimbus-tiny").json()
    created = api.ok("POST", "/servers", {"server": {
        "name": name, "imageRef": images["images"][0]["id"], "flavorRef": "1"}},
        status=202)["server"]
    return wait_for(api, created["id"], "ACTIVE")


def answers(res: dns.resolver.Resolver, name: str, qtype: str = "A") -> list[str]:
    return sorted(r.to_text() for r in res.resolve(name, qtype))


def test_a_servers_names_resolve_until_it_is_deleted(server, project, responder):
    res = resolver_for(responder)
    shown = boot(server, project.member, f"{PREFIX}_Web 1")
    (address,) = [a["addr"] for a in shown["addresses"]["private"]]
    reservations = project.ec2.describe_instances(
        Filters=[{"Name": "private-ip-address", "Values": [address]}])["Reservations"]
    (instance,) = reservations[0]["Instances"]
    private_name = instance["PrivateDnsName"]
    assert private_name == f"ip-{address.replace('.', '-')}.RegionOne.compute.internal"
    server_name = f"{PREFIX}-web-1.{project.name}.nimbus.test"

    # A: the EC2 alias and the server's own name, in any letter case
    assert answers(res, private_name) == [address]
    assert answers(res, private_name.upper()) == [address]
    assert answers(res, server_name) == [address]
    answer = res.resolve(server_name, "A")
    assert answer.rrset.ttl == 30
    # PTR: the address back to the alias
    ptr = res.resolve_address(address)
    assert [r.target.to_text() for r in ptr] == [private_name + "."]
    # other types of an existing name: no answer, no error
    with pytest.raises(dns.resolver.NoAnswer):
        res.resolve(server_name, "AAAA")
    # names of ours that hold nothing: NXDOMAIN
    for name in (f"nobody.{project.name}.nimbus.test", "ip-10-0-200-1.RegionOne.compute.internal",
                 f"{PREFIX}-web-1.no-such-project.nimbus.test"):
        with pytest.raises(dns.resolver.NXDOMAIN):
            res.resolve(name, "A")
    # names outside our zones: REFUSED (no recursion here)
    with pytest.raises(dns.resolver.NoNameservers, match="REFUSED"):
        res.resolve("www.example.com", "A")
    with pytest.raises(dns.resolver.NoNameservers, match="REFUSED"):
        res.resolve_address("192.0.2.1")

    delete_all(project.member, [shown["id"]])
    for name in (private_name, server_name):
        with pytest.raises(dns.resolver.NXDOMAIN):
            res.resolve(name, "A")
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve_address(address)


def test_the_names_are_answered_over_tcp_too(server, project, responder):
    res = resolver_for(responder)
    shown = boot(server, project.member, f"{PREFIX}-tcp")
    (address,) = [a["addr"] for a in shown["addresses"]["private"]]
    name = f"{PREFIX}-tcp.{project.name}.nimbus.test"
    assert sorted(r.to_text() for r in res.resolve(name, "A", tcp=True)) == [address]
    delete_all(project.member, [shown["id"]])


def test_the_all_in_one_process_runs_the_responder(tmp_path):
    """``make run``'s settings: the API process serves DNS on NIMBUS_DNS_PORT and
    the bootstrap banner lists it among the endpoints."""
    port = free_dual_port()
    aio = make_server(tmp_path / "aio", run_dns="true", dns_port=str(port),
                      dns_domain="cloud.example.test")
    banner = subprocess.run([sys.executable, "-m", "core.manage", "bootstrap"], cwd=ROOT,
                            env=aio.env, check=True, capture_output=True, text=True,
                            timeout=120).stdout
    assert f"DNS (A, PTR; udp/tcp)   127.0.0.1:{port}" in banner
    aio.start()
    try:
        res = resolver_for(port)
        answer = res.resolve("cloud.example.test", "SOA")
        assert answer.rrset[0].mname.to_text() == "ns.cloud.example.test."
        with pytest.raises(dns.resolver.NXDOMAIN):
            res.resolve("nobody.demo.cloud.example.test", "A")
    finally:
        aio.stop()
