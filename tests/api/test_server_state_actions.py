"""Pause / unpause, suspend / resume, rescue / unrescue, changePassword,
os-resetState, and soft delete with restore and forceDelete, through the real
``openstack`` CLI (each command under test), openstacksdk's compute proxy and
boto3, on live all-in-one servers whose simulated hosts do the work: Nova's
statuses and vm_states, the instance actions (``openstack server event list``),
409 in a wrong state, 403 for a non-admin resetState, 404 for a missing server
before anything the action checks.

Soft delete needs ``reclaim_instance_interval``: those tests run on a second
server of their own started with NIMBUS_RECLAIM_INSTANCE_INTERVAL=3600.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import Cli, ksa_session, sdk_connection, unique
from tests.support.compute_api import WAIT, Api, delete_all, show, wait_for, wait_gone
from tests.support.ec2 import bootstrap_keys, client, endpoint_of, error, instances
from tests.support.nova import fault
from tests.support.server import Server, make_server

pytestmark = pytest.mark.usefixtures("no_server_errors")

PREFIX = unique("state-act")
NO_SUCH = "00000000-0000-4000-8000-000000000000"


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def image(server, demo_session) -> str:
    images = demo_session.get(f"{server.url}/image/v2/images?name=nimbus-tiny").json()
    return images["images"][0]["id"]


@pytest.fixture(scope="module")
def demo(server, demo_session, image) -> Iterator[Api]:
    """The demo project's compute API (the CLI's ``demo`` cloud); the module's
    servers go at the end."""
    api = Api(f"{server.url}/compute/v2.1", demo_session)
    yield api
    _clean_up(api)


@pytest.fixture(scope="module")
def admin(server, admin_session) -> Api:
    return Api(f"{server.url}/compute/v2.1", admin_session)


def _clean_up(api: Api) -> None:
    listed = api.ok("GET", f"/servers?name=^{PREFIX}")["servers"]
    delete_all(api, [s["id"] for s in listed])


def boot(api: Api, image: str, name: str) -> str:
    """A new ACTIVE server ``<PREFIX>-<name>``."""
    made = api.ok("POST", "/servers", {"server": {
        "name": f"{PREFIX}-{name}", "imageRef": image, "flavorRef": "1"}})["server"]
    wait_for(api, made["id"], "ACTIVE")
    return made["id"]


def act(api: Api, sid: str, body: dict, status: int = 202):
    return api.ok("POST", f"/servers/{sid}/action", body, status=status)


def refused(api: Api, sid: str, body: dict, verb: str, state: str,
            attr: str = "vm_state") -> None:
    fault(api("POST", f"/servers/{sid}/action", body), 409, "conflictingRequest",
          f"Cannot '{verb}' instance {sid} while it is in {attr} {state}")


def console(api: Api, sid: str) -> str:
    return act(api, sid, {"os-getConsoleOutput": {}}, status=200)["output"]


@pytest.fixture(scope="module")
def subject(demo, image) -> str:
    """An ACTIVE server the tests below take through their states one after another
    (each leaves it ACTIVE again)."""
    return boot(demo, image, "subject")


# ---------------------------------------------------------------- pause / unpause

def test_pause_and_unpause_with_the_cli(cli, demo, subject):
    cli.run("demo", "server", "pause", subject)
    paused = wait_for(demo, subject, "PAUSED")
    assert paused["OS-EXT-STS:vm_state"] == "paused"
    assert paused["OS-EXT-STS:power_state"] == 3
    refused(demo, subject, {"pause": None}, "pause", "paused")
    refused(demo, subject, {"suspend": None}, "suspend", "paused")
    refused(demo, subject, {"os-stop": None}, "stop", "paused")
    listed = demo.ok("GET", f"/servers/detail?status=PAUSED&name=^{PREFIX}")["servers"]
    assert [s["id"] for s in listed] == [subject]
    cli.run("demo", "server", "unpause", subject)
    active = wait_for(demo, subject, "ACTIVE")
    assert active["OS-EXT-STS:power_state"] == 1
    refused(demo, subject, {"unpause": None}, "unpause", "active")
    events = cli.json("demo", "server", "event", "list", subject)
    assert [e["Action"] for e in events][:2] == ["unpause", "pause"]
    assert "Guest paused" in console(demo, subject)


# ---------------------------------------------------------------- suspend / resume

def test_suspend_and_resume_with_the_cli(cli, demo, subject):
    cli.run("demo", "server", "suspend", subject)
    suspended = wait_for(demo, subject, "SUSPENDED")
    assert suspended["OS-EXT-STS:vm_state"] == "suspended"
    assert suspended["OS-EXT-STS:power_state"] == 7
    refused(demo, subject, {"suspend": None}, "suspend", "suspended")
    refused(demo, subject, {"unpause": None}, "unpause", "suspended")
    cli.run("demo", "server", "resume", subject)
    assert wait_for(demo, subject, "ACTIVE")["OS-EXT-STS:power_state"] == 1
    refused(demo, subject, {"resume": None}, "resume", "active")
    actions = demo.ok("GET", f"/servers/{subject}/os-instance-actions")["instanceActions"]
    assert [a["action"] for a in actions][:2] == ["resume", "suspend"]


# ---------------------------------------------------------------- rescue / unrescue

def test_rescue_and_unrescue_with_the_cli(cli, demo, subject):
    cli.run("demo", "server", "rescue", "--image", "nimbus-tiny", "--password", "s3cret-pw",
            subject)
    rescued = wait_for(demo, subject, "RESCUE")
    assert rescued["OS-EXT-STS:vm_state"] == "rescued"
    assert rescued["OS-EXT-STS:power_state"] == 1
    assert "rescue login:" in console(demo, subject)
    refused(demo, subject, {"rescue": None}, "rescue", "rescued")
    refused(demo, subject, {"pause": None}, "pause", "rescued")
    cli.run("demo", "server", "unrescue", subject)
    wait_for(demo, subject, "ACTIVE")
    assert console(demo, subject).rstrip().endswith("login:")
    refused(demo, subject, {"unrescue": None}, "unrescue", "active")
    events = cli.json("demo", "server", "event", "list", subject)
    assert [e["Action"] for e in events][:2] == ["unrescue", "rescue"]


def test_rescue_answers_the_password_given_or_a_new_one(demo, subject):
    given = act(demo, subject, {"rescue": {"adminPass": "mine-1234"}}, status=200)
    assert given == {"adminPass": "mine-1234"}
    wait_for(demo, subject, "RESCUE")
    act(demo, subject, {"unrescue": None})
    wait_for(demo, subject, "ACTIVE")
    # a stopped server may be rescued too; unrescued it is ACTIVE
    act(demo, subject, {"os-stop": None})
    wait_for(demo, subject, "SHUTOFF")
    made = act(demo, subject, {"rescue": None}, status=200)
    assert len(made["adminPass"]) == 12 and made["adminPass"].isalnum()
    wait_for(demo, subject, "RESCUE")
    act(demo, subject, {"unrescue": None})
    wait_for(demo, subject, "ACTIVE")


@pytest.mark.parametrize(("body", "message"), [
    ({"rescue": {"rescue_image_ref": NO_SUCH}}, f"Image {NO_SUCH} could not be found."),
    ({"rescue": {"rescue_image_ref": "not-a-uuid"}}, "is not a 'uuid'"),
    ({"rescue": {"adminPass": 5}}, "is not of type 'string'"),
    ({"rescue": {"colour": "red"}}, "('colour' was unexpected)"),
    ({"rescue": "now"}, "is not of type 'object'"),
    ({"changePassword": {}}, "'adminPass' is a required property"),
    ({"changePassword": None}, "is not of type 'object'"),
    ({"changePassword": {"adminPass": ["x"]}}, "is not of type 'string'"),
    ({"os-resetState": {"state": "paused"}}, "'paused' is not one of ['active', 'error']"),
    ({"os-resetState": {}}, "'state' is a required property"),
])
def test_invalid_state_action_bodies_are_400(admin, subject, body, message):
    assert message in fault(admin("POST", f"/servers/{subject}/action", body), 400,
                            "badRequest")


# ---------------------------------------------------------------- changePassword

def test_change_password_with_the_cli(cli, demo, subject):
    cli.run("demo", "server", "set", "--password", "n3w-Passw0rd", subject)
    wait_for(demo, subject, "ACTIVE")
    assert "the administrator password was changed" in console(demo, subject)
    actions = demo.ok("GET", f"/servers/{subject}/os-instance-actions")["instanceActions"]
    assert actions[0]["action"] == "changePassword"
    act(demo, subject, {"os-stop": None})
    wait_for(demo, subject, "SHUTOFF")
    refused(demo, subject, {"changePassword": {"adminPass": "x"}}, "changePassword",
            "stopped")
    act(demo, subject, {"os-start": None})
    wait_for(demo, subject, "ACTIVE")


# ---------------------------------------------------------------- os-resetState

def test_reset_state_is_for_admins(cli, demo, admin, subject):
    r = demo("POST", f"/servers/{subject}/action", {"os-resetState": {"state": "error"}})
    fault(r, 403, "forbidden")
    cli.run("admin", "server", "set", "--state", "error", "--auto-approve", subject)
    shown = show(admin, subject)
    assert shown["status"] == "ERROR" and shown["OS-EXT-STS:task_state"] is None
    cli.run("admin", "server", "set", "--state", "active", "--auto-approve", subject)
    assert show(admin, subject)["status"] == "ACTIVE"
    actions = demo.ok("GET", f"/servers/{subject}/os-instance-actions")["instanceActions"]
    assert [a["action"] for a in actions][:2] == ["resetState", "resetState"]


# ---------------------------------------------------------------- locks, 404, 400

def test_a_locked_server_is_a_conflict(demo, admin, subject):
    act(admin, subject, {"lock": None})
    try:
        fault(demo("POST", f"/servers/{subject}/action", {"pause": None}), 409,
              "conflictingRequest", f"Instance {subject} is locked")
    finally:
        act(admin, subject, {"unlock": None})


@pytest.mark.parametrize("body", [{"pause": None}, {"unpause": None}, {"suspend": None},
                                  {"resume": None}, {"rescue": None}, {"unrescue": None},
                                  {"changePassword": {"adminPass": "x"}},
                                  {"os-resetState": {"state": "active"}}, {"restore": None},
                                  {"forceDelete": None}, {"os-stop": None},
                                  {"no-such-action": None}])
def test_a_missing_server_is_404_whatever_the_action(demo, body):
    fault(demo("POST", f"/servers/{NO_SUCH}/action", body), 404, "itemNotFound",
          f"Instance {NO_SUCH} could not be found.")


def test_another_projects_server_is_404_and_an_unknown_action_400(server, demo, subject):
    other = Api(demo.base, ksa_session(server, "admin", server.password("admin"), "admin"))
    # the admin sees every project's servers: an unknown action is then Nova's 400
    fault(other("POST", f"/servers/{subject}/action", {"hibernate": None}), 400,
          "badRequest", "There is no such action: hibernate")
    fault(demo("POST", f"/servers/{subject}/action", {"hibernate": None}), 400,
          "badRequest", "There is no such action: hibernate")


def test_restore_and_force_delete_without_soft_delete(demo, image):
    sid = boot(demo, image, "no-soft")
    refused(demo, sid, {"restore": None}, "restore", "active")
    act(demo, sid, {"forceDelete": None})
    wait_gone(demo, [sid])


# ---------------------------------------------------------------- openstacksdk

def test_the_sdk_pauses_suspends_and_rescues(demo_client, demo, subject):
    compute = demo_client.compute
    srv = compute.get_server(subject)
    compute.pause_server(srv)
    compute.wait_for_server(srv, status="PAUSED", wait=WAIT)
    compute.unpause_server(srv)
    compute.wait_for_server(srv, status="ACTIVE", wait=WAIT)
    compute.suspend_server(srv)
    compute.wait_for_server(srv, status="SUSPENDED", wait=WAIT)
    compute.resume_server(srv)
    compute.wait_for_server(srv, status="ACTIVE", wait=WAIT)
    compute.rescue_server(srv, admin_pass="sdk-pass")
    compute.wait_for_server(srv, status="RESCUE", wait=WAIT)
    compute.unrescue_server(srv)
    compute.wait_for_server(srv, status="ACTIVE", wait=WAIT)
    compute.change_server_password(srv, "sdk-new-pass")
    wait_for(demo, subject, "ACTIVE")
    actions = [a.action for a in compute.server_actions(srv)]
    assert actions[:7] == ["changePassword", "unrescue", "rescue", "resume", "suspend",
                           "unpause", "pause"]


# ---------------------------------------------------------------- EC2's view

def test_ec2_shows_paused_and_suspended_servers_stopped(server, demo, subject):
    ec2 = client(endpoint_of(server), bootstrap_keys(server, "demo"))
    name = show(demo, subject)["name"]

    def ec2_view() -> dict:
        (inst,) = [i for i in instances(ec2) if {"Key": "Name", "Value": name}
                   in i.get("Tags", [])]
        return inst

    act(demo, subject, {"pause": None})
    wait_for(demo, subject, "PAUSED")
    paused = ec2_view()
    assert paused["State"] == {"Code": 80, "Name": "stopped"}
    # only unpause brings a paused server back: EC2 cannot start it
    code, status = error(ec2.start_instances, InstanceIds=[paused["InstanceId"]])
    assert (code, status) == ("IncorrectInstanceState", 400)
    act(demo, subject, {"unpause": None})
    wait_for(demo, subject, "ACTIVE")
    act(demo, subject, {"suspend": None})
    wait_for(demo, subject, "SUSPENDED")
    assert ec2_view()["State"]["Name"] == "stopped"
    act(demo, subject, {"resume": None})
    wait_for(demo, subject, "ACTIVE")
    act(demo, subject, {"rescue": None}, status=200)
    wait_for(demo, subject, "RESCUE")
    assert ec2_view()["State"]["Name"] == "running"
    act(demo, subject, {"unrescue": None})
    wait_for(demo, subject, "ACTIVE")
    assert ec2_view()["State"] == {"Code": 16, "Name": "running"}


# ---------------------------------------------------------------- soft delete

@pytest.fixture(scope="module")
def soft(tmp_path_factory) -> Iterator[Server]:
    """A server of its own whose deletes are soft (reclaimed after an hour)."""
    srv = make_server(tmp_path_factory.mktemp("soft-delete"),
                      reclaim_instance_interval="3600")
    srv.bootstrap()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def soft_cli(soft) -> Cli:
    return Cli(soft)


@pytest.fixture(scope="module")
def soft_api(soft) -> Api:
    return Api(f"{soft.url}/compute/v2.1", ksa_session(soft, "demo", soft.password("demo"),
                                                       "demo"))


@pytest.fixture(scope="module")
def soft_image(soft, soft_api) -> str:
    images = soft_api.session.get(f"{soft.url}/image/v2/images?name=nimbus-tiny").json()
    return images["images"][0]["id"]


def instances_used(api: Api) -> int:
    return api.ok("GET", "/limits")["limits"]["absolute"]["totalInstancesUsed"]


def wait_used(api: Api, count: int) -> None:
    deadline = time.monotonic() + WAIT
    while instances_used(api) != count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert instances_used(api) == count


def test_soft_delete_restore_and_force_delete_with_the_cli(soft, soft_cli, soft_api,
                                                           soft_image):
    api = soft_api
    sid = boot(api, soft_image, "soft")
    used = instances_used(api)
    soft_cli.run("demo", "server", "delete", sid)
    gone = wait_for(api, sid, "SOFT_DELETED")
    assert gone["OS-EXT-STS:vm_state"] == "soft-delete"
    assert gone["OS-EXT-STS:power_state"] == 4
    assert instances_used(api) == used  # the quota stays counted, as in Nova
    listed = api.ok("GET", f"/servers?status=SOFT_DELETED&name=^{PREFIX}")["servers"]
    assert [s["id"] for s in listed] == [sid]
    assert sid not in [s["id"] for s in api.ok("GET", "/servers")["servers"]]  # as Nova
    refused(api, sid, {"pause": None}, "pause", "soft-delete")
    refused(api, sid, {"os-start": None}, "start", "soft-delete")
    # EC2 shows it on its way out
    ec2 = client(endpoint_of(soft), bootstrap_keys(soft, "demo"))
    states = {i["State"]["Name"] for i in instances(ec2)
              if {"Key": "Name", "Value": gone["name"]} in i.get("Tags", [])}
    assert states == {"shutting-down"}

    soft_cli.run("demo", "server", "restore", sid)
    restored = wait_for(api, sid, "ACTIVE")
    assert restored["OS-EXT-STS:power_state"] == 1
    refused(api, sid, {"restore": None}, "restore", "active")

    api.ok("DELETE", f"/servers/{sid}", status=204)
    wait_for(api, sid, "SOFT_DELETED")
    soft_cli.run("demo", "server", "delete", "--force", sid)
    wait_gone(api, [sid])
    wait_used(api, used - 1)
    events = soft_cli.json("demo", "--os-compute-api-version", "2.21", "server", "event",
                           "list", sid)
    assert [e["Action"] for e in events] == ["delete", "delete", "restore", "delete",
                                             "create"]


def test_delete_again_locks_and_the_sdks_force_delete(soft, soft_api, soft_image):
    api = soft_api
    admin = Api(api.base, ksa_session(soft, "admin", soft.password("admin"), "admin"))
    sid = boot(api, soft_image, "again")
    act(admin, sid, {"lock": None})
    fault(api("DELETE", f"/servers/{sid}"), 409, "conflictingRequest",
          f"Instance {sid} is locked")
    act(admin, sid, {"unlock": None})
    api.ok("DELETE", f"/servers/{sid}", status=204)
    wait_for(api, sid, "SOFT_DELETED")
    api.ok("DELETE", f"/servers/{sid}", status=204)  # again: its clock starts again
    wait_for(api, sid, "SOFT_DELETED")
    conn = sdk_connection(soft, "demo")
    try:
        conn.compute.delete_server(sid, force=True)
    finally:
        conn.close()
    wait_gone(api, [sid])
