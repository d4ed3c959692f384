"""Remote consoles on a live server: ``openstack console url show``, the
remote-consoles API (2.6+) and the legacy os-get*Console actions (below 2.6),
the simulated console endpoint their URLs open, and Nova's refusals."""

from __future__ import annotations

import datetime

import pytest
import requests

from core.compute.models import ConsoleAuthToken
from core.db import Database
from tests.support.compute_api import Api, wait_for
from tests.support.nova import fault

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def tenant(env):
    return env.tenant({"instances": 5, "cores": 10, "ram": 10 * 2048}, reader=True)


@pytest.fixture(scope="module")
def vm(env, tenant) -> str:
    return env.boot(tenant.member, "console")[0]


def _remote(api: Api, sid: str, protocol: str = "vnc", kind: str = "novnc",
            mv: str = "2.6"):
    return api("POST", f"/servers/{sid}/remote-consoles",
               {"remote_console": {"protocol": protocol, "type": kind}}, mv=mv)


def test_remote_console_url_opens_the_console_page(env, tenant, vm):
    r = _remote(tenant.member, vm)
    assert r.status_code == 200, r.text
    console = r.json()["remote_console"]
    assert (console["protocol"], console["type"]) == ("vnc", "novnc")
    page = requests.get(console["url"], timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert vm in page.text


@pytest.mark.parametrize(("protocol", "kind"), [("spice", "spice-html5"),
                                                ("serial", "serial")])
def test_other_console_types_the_driver_offers(env, tenant, vm, protocol, kind):
    r = _remote(tenant.member, vm, protocol, kind)
    assert r.status_code == 200, r.text
    assert requests.get(r.json()["remote_console"]["url"], timeout=30).status_code == 200


def test_cli_console_url_show(env, tenant, vm, cli):
    shown = cli.json("admin", "console", "url", "show", "--novnc", vm)
    assert shown["type"] == "novnc"
    assert requests.get(shown["url"], timeout=30).status_code == 200


@pytest.mark.parametrize(("name", "kind"), [("os-getVNCConsole", "novnc"),
                                            ("os-getSPICEConsole", "spice-html5"),
                                            ("os-getSerialConsole", "serial")])
def test_legacy_actions_below_2_6(env, tenant, vm, name, kind):
    r = tenant.member("POST", f"/servers/{vm}/action", {name: {"type": kind}}, mv="2.5")
    assert r.status_code == 200, r.text
    console = r.json()["console"]
    assert console["type"] == kind
    assert requests.get(console["url"], timeout=30).status_code == 200
    # gone from 2.6 (the remote-consoles API replaces them): Nova's 404
    r = tenant.member("POST", f"/servers/{vm}/action", {name: {"type": kind}}, mv="2.6")
    fault(r, 404, "itemNotFound")


def test_remote_consoles_api_is_not_below_2_6(env, tenant, vm):
    fault(_remote(tenant.member, vm, mv="2.5"), 404, "itemNotFound")


def test_unknown_and_expired_tokens_are_refused(server, env, tenant, vm):
    base = f"{server.url}/compute/console"
    r = requests.get(f"{base}?token=not-a-token", timeout=30)
    fault(r, 404, "itemNotFound")
    r = requests.get(base, timeout=30)  # no token at all
    assert r.status_code == 400
    url = _remote(tenant.member, vm).json()["remote_console"]["url"]
    db = Database(f"sqlite:///{server.data_dir / 'nimbus.db'}")
    try:
        with db.session() as s:
            for row in s.query(ConsoleAuthToken).filter_by(instance_uuid=vm):
                row.expires = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
                    seconds=1)
    finally:
        db.dispose()
    r = requests.get(url, timeout=30)
    assert r.status_code == 401
    assert r.json()[next(iter(r.json()))]["code"] == 401


@pytest.mark.parametrize(("protocol", "kind", "status"), [
    ("vnc", "spice-html5", 400),  # a type of another protocol
    ("rdp", "rdp-html5", 400),  # not one the driver offers
    ("mks", "webmks", 400),
    ("vnc", "telnet", 400),  # not a console type at all
    ("ssh", "novnc", 400),
])
def test_bad_console_requests_are_400s(env, tenant, vm, protocol, kind, status):
    fault(_remote(tenant.member, vm, protocol, kind), status, "badRequest")


def test_refusals(env, tenant, vm):
    fault(_remote(tenant.member, "00000000-0000-4000-8000-000000000000"), 404,
          "itemNotFound")
    other = env.tenant()
    fault(_remote(other.member, vm), 404, "itemNotFound")
    fault(_remote(tenant.reader, vm), 403, "forbidden")
    r = tenant.member("POST", f"/servers/{vm}/remote-consoles", {"remote_console": {
        "protocol": "vnc"}}, mv="2.6")
    fault(r, 400, "badRequest")


def test_a_stopped_server_has_no_console(env, tenant):
    sid = env.boot(tenant.member, "console-stopped")[0]
    tenant.member.ok("POST", f"/servers/{sid}/action", {"os-stop": None}, status=202)
    wait_for(tenant.member, sid, "SHUTOFF")
    fault(_remote(tenant.member, sid), 409, "conflictingRequest")
