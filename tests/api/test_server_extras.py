"""A server's password (os-server-password), its diagnostics and the events
other services send (os-server-external-events), on a live server whose
simulated hosts really run the servers; every refusal is Nova's fault."""

from __future__ import annotations

import pytest

from core.compute.models import InstancePassword
from core.db import Database
from tests.conftest import unique
from tests.support.compute_api import Api, wait_for
from tests.support.compute_env import PREFIX
from tests.support.nova import fault

pytestmark = pytest.mark.usefixtures("no_server_errors")

NO_SUCH = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def tenant(env):
    return env.tenant({"instances": 6, "cores": 12, "ram": -1}, reader=True)


@pytest.fixture(scope="module")
def vm(env, tenant) -> str:
    return env.boot(tenant.member, "extras")[0]


@pytest.fixture(scope="module")
def hostless(env, tenant) -> str:
    """A server no host could take (ERROR, on no host)."""
    name = unique("huge")
    env.admin.ok("POST", "/flavors", {"flavor": {"name": name, "id": name, "ram": 10_000_000,
                                                 "vcpus": 1, "disk": 0}})
    env.flavors.append(name)
    env.admin.ok("POST", f"/flavors/{name}/action",
                 {"addTenantAccess": {"tenant": tenant.project_id}}, status=(200, 409))
    sid = tenant.member.ok("POST", "/servers", {"server": {
        "name": f"{PREFIX}-hostless", "imageRef": env.image, "flavorRef": name}},
        status=202)["server"]["id"]
    shown = wait_for(tenant.member, sid, "ERROR")
    assert env.admin.ok("GET", f"/servers/{sid}")["server"]["OS-EXT-SRV-ATTR:host"] is None, \
        shown
    return sid


# ---------------------------------------------------------------- os-server-password

def _post_password(server, uuid: str, password: str) -> None:
    """What the guest's POST to the metadata service stores."""
    db = Database(f"sqlite:///{server.data_dir / 'nimbus.db'}")
    try:
        with db.session() as s:
            s.merge(InstancePassword(instance_uuid=uuid, password=password))
    finally:
        db.dispose()


def test_password_is_empty_then_shown_then_cleared(server, env, tenant, vm):
    path = f"/servers/{vm}/os-server-password"
    assert tenant.member.ok("GET", path) == {"password": ""}
    _post_password(server, vm, "ZW5jcnlwdGVk")
    assert tenant.reader.ok("GET", path) == {"password": "ZW5jcnlwdGVk"}
    fault(tenant.reader("DELETE", path), 403, "forbidden")
    tenant.member.ok("DELETE", path, status=204)
    assert tenant.member.ok("GET", path) == {"password": ""}
    tenant.member.ok("DELETE", path, status=204)  # clearing nothing is fine


def test_password_refusals(env, tenant, vm):
    other = env.tenant()
    fault(other.member("GET", f"/servers/{vm}/os-server-password"), 404, "itemNotFound")
    fault(other.member("DELETE", f"/servers/{vm}/os-server-password"), 404, "itemNotFound")
    fault(tenant.member("GET", f"/servers/{NO_SUCH}/os-server-password"), 404, "itemNotFound")


# ---------------------------------------------------------------- diagnostics

def test_admin_reads_diagnostics(env, vm):
    d = env.admin.ok("GET", f"/servers/{vm}/diagnostics")
    assert d["cpu0_time"] > 0
    assert d["memory"] == 512 * 1024
    assert {"vda_read", "vda_read_req", "vda_write", "vda_write_req", "vda_errors"} <= set(d)


def test_diagnostics_refusals(env, tenant, vm, hostless):
    fault(tenant.member("GET", f"/servers/{vm}/diagnostics"), 403, "forbidden")
    fault(env.admin("GET", f"/servers/{NO_SUCH}/diagnostics"), 404, "itemNotFound")
    fault(env.admin("GET", f"/servers/{hostless}/diagnostics"), 409, "conflictingRequest")


def test_a_stopped_server_has_no_diagnostics(env, tenant):
    sid = env.boot(tenant.member, "diag-stopped")[0]
    tenant.member.ok("POST", f"/servers/{sid}/action", {"os-stop": None}, status=202)
    wait_for(tenant.member, sid, "SHUTOFF")
    fault(env.admin("GET", f"/servers/{sid}/diagnostics"), 409, "conflictingRequest")


# ---------------------------------------------------------------- external events

def _events(api: Api, *events: dict, mv: str | None = None):
    return api("POST", "/os-server-external-events", {"events": list(events)}, mv=mv)


def test_accepted_events_answer_200(env, vm):
    r = _events(env.admin, {"name": "network-vif-plugged", "server_uuid": vm,
                            "tag": "port-1"},
                {"name": "network-changed", "server_uuid": vm})
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert [e["code"] for e in events] == [200, 200]
    assert events[0] == {"name": "network-vif-plugged", "server_uuid": vm, "tag": "port-1",
                         "status": "completed", "code": 200}


def test_some_events_refused_answer_207(env, vm, hostless):
    r = _events(env.admin, {"name": "network-vif-plugged", "server_uuid": vm},
                {"name": "network-vif-unplugged", "server_uuid": NO_SUCH},
                {"name": "network-vif-deleted", "server_uuid": hostless, "status": "failed"})
    assert r.status_code == 207, r.text
    codes = [(e["code"], e["status"]) for e in r.json()["events"]]
    assert codes == [(200, "completed"), (404, "failed"), (422, "failed")]


def test_no_event_accepted_is_a_207_with_every_event_failed(env, hostless):
    # Nova (since Ussuri) no longer answers 404 when no event was accepted
    r = _events(env.admin, {"name": "network-changed", "server_uuid": NO_SUCH},
                {"name": "network-changed", "server_uuid": hostless})
    assert r.status_code == 207, r.text
    assert [(e["code"], e["status"]) for e in r.json()["events"]] == [
        (404, "failed"), (422, "failed")]


@pytest.mark.parametrize("event", [
    {"name": "volume-extended", "server_uuid": NO_SUCH, "tag": "v"},  # from 2.51
    {"name": "made-up", "server_uuid": NO_SUCH},
    {"name": "network-changed"},
    {"name": "network-changed", "server_uuid": NO_SUCH, "status": "bored"},
    {"name": "network-changed", "server_uuid": NO_SUCH, "tag": "x" * 256},
    {"name": "network-changed", "server_uuid": NO_SUCH, "extra": 1},
])
def test_bad_events_are_400s(env, event):
    fault(_events(env.admin, event), 400, "badRequest")


def test_empty_event_list_is_a_400(env):
    fault(env.admin("POST", "/os-server-external-events", {"events": []}), 400, "badRequest")


def test_members_may_not_send_events(env, tenant, vm):
    fault(_events(tenant.member, {"name": "network-changed", "server_uuid": vm}), 403,
          "forbidden")
