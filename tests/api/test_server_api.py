"""The servers API through keystoneauth1 and openstacksdk on a live all-in-one
server (its conductor, scheduler and simulated hosts really boot the servers):
bad input as Nova faults, quotas under concurrent creates, listing filters and
paging, microversion-dependent views and the actions end to end. No answer is
a 500 and the server logs no traceback.

Every test works in projects of its own (quotas set by the admin), so the
bootstrap ``demo`` project's quota and servers are left alone.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import unique
from tests.support.compute_api import WAIT, Api, Tenant, delete_all, show, wait_for, wait_gone
from tests.support.compute_env import PREFIX, Env, quota_race, usage, wait_usage
from tests.support.nova import fault

pytestmark = pytest.mark.usefixtures("no_server_errors")

NO_SUCH = "00000000-0000-4000-8000-000000000000"


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def alpha(env) -> Tenant:
    """A project with a member and a reader, room for everything below."""
    return env.tenant({"instances": 30, "cores": 60, "ram": 60 * 2048}, reader=True)


@pytest.fixture(scope="module")
def alpha_server(env, alpha) -> str:
    """An ACTIVE server the read-only and refused cases share."""
    return env.boot(alpha.member, "alpha")[0]


@pytest.fixture(scope="module")
def other(env) -> Tenant:
    return env.tenant()


def _image(env: Env, api: Api, upload: bool = True, **fields: Any) -> str:
    r = api.session.post(env.image_url, json={
        "name": unique("srv-api-img"), "disk_format": "raw", "container_format": "bare",
        **fields}, raise_exc=False)
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    env.images.append(image_id)
    if upload:
        r = api.session.put(f"{env.image_url}/{image_id}/file", data=b"disk" * 64,
                            headers={"Content-Type": "application/octet-stream"},
                            raise_exc=False)
        assert r.status_code == 204, r.text
    return image_id


# ---------------------------------------------------------------- bad input: create

def _body(env: Env, **server: Any) -> dict:
    return {"server": {"name": f"{PREFIX}-bad", "imageRef": env.image, "flavorRef": "1",
                       **server}}


def test_create_with_unknown_references(env, alpha):
    api = alpha.member
    fault(api("POST", "/servers", _body(env, flavorRef="nope")), 400, "badRequest",
          "Flavor nope could not be found.")
    fault(api("POST", "/servers", _body(env, imageRef=NO_SUCH)), 400, "badRequest",
          f"Image {NO_SUCH} could not be found.")
    fault(api("POST", "/servers", _body(env, imageRef="not-a-uuid")), 400, "badRequest",
          "Image not-a-uuid could not be found.")
    fault(api("POST", "/servers", _body(env, key_name="no-such-key")), 400, "badRequest",
          "Invalid key_name provided.")
    fault(api("POST", "/servers", _body(env, availability_zone="no-such-zone")), 400,
          "badRequest", "The requested availability zone is not available")
    fault(api("POST", "/servers", {**_body(env), "OS-SCH-HNT:scheduler_hints": {
        "group": NO_SUCH}}), 400, "badRequest",
          f"Invalid server group {NO_SUCH}: it could not be found.")


@pytest.mark.parametrize(("fields", "mv", "message"), [
    ({"name": None}, None, "'name' is a required property"),
    ({"name": ""}, None, "should be non-empty"),
    ({"name": "  padded"}, None, "does not match"),
    ({"flavorRef": None}, None, "'flavorRef' is a required property"),
    ({"min_count": 3, "max_count": 2}, None, "min_count must be <= max_count"),
    ({"min_count": 0}, None, "min_count"),
    ({"user_data": "not base64!"}, None, "User data needs to be valid base 64."),
    ({"user_data": "QUJD" * 20000}, None, "User data too large."),
    ({"description": "a description"}, "2.18", "('description' was unexpected)"),
    ({"tags": ["a"]}, "2.26", "('tags' was unexpected)"),  # tags on create: 2.52
    ({"accessIPv4": "not-an-ip"}, None, "is not a 'ipv4'"),
    ({"networks": "sideways"}, None, "server.networks"),
    ({"imageRef": ""}, None, "Missing imageRef attribute"),
])
def test_create_bad_bodies_are_400(env, alpha, fields, mv, message):
    body = _body(env, **{k: v for k, v in fields.items() if v is not None})
    for key in [k for k, v in fields.items() if v is None]:
        del body["server"][key]
    text = fault(alpha.member("POST", "/servers", body, mv=mv), 400, "badRequest")
    assert message in text


def test_create_with_too_many_metadata_items_is_a_quota_fault(env, alpha):
    metadata = {f"k{i}": "v" for i in range(129)}
    fault(alpha.member("POST", "/servers", _body(env, metadata=metadata)), 403, "forbidden",
          "Quota exceeded for metadata_items: Requested 129, but already used 0 of 128 "
          "metadata_items")


def test_create_with_unusable_images(env, alpha):
    api = alpha.member
    queued = _image(env, api, upload=False)
    fault(api("POST", "/servers", _body(env, imageRef=queued)), 400, "badRequest",
          f"Image {queued} is not active.")
    hungry = _image(env, api, min_ram=4096)
    fault(api("POST", "/servers", _body(env, imageRef=hungry)), 400, "badRequest",
          "Flavor's memory is too small for requested image.")
    big = _image(env, api, min_disk=50)
    fault(api("POST", "/servers", _body(env, imageRef=big)), 400, "badRequest",
          "Flavor's disk is too small for requested image. Flavor disk is 1073741824 "
          "bytes, minimum size is 53687091200 bytes.")
    # a flavor big enough takes it (m1.medium: 4 GiB RAM, 40 GiB disk; m1.large: 80 GiB)
    sid = env.boot(api, "big-image", imageRef=big, flavorRef="4", wait=None)[0]
    delete_all(api, [sid])


def test_reader_and_other_projects_cannot_create(env, alpha):
    fault(alpha.reader("POST", "/servers", _body(env)), 403, "forbidden")
    fault(alpha.member("POST", "/servers", _body(env, availability_zone="nova:compute-1")),
          403, "forbidden")


def test_line_wrapped_user_data_is_accepted(env, alpha):
    """`base64` wraps at 76 columns; Nova ignores the whitespace."""
    data = base64.encodebytes(b"#cloud-config\n" + b"x" * 200).decode()
    assert "\n" in data.strip()
    sid = env.boot(alpha.member, "userdata", user_data=data)[0]
    shown = show(env.admin, sid, mv="2.3")
    assert shown["OS-EXT-SRV-ATTR:user_data"] == data
    delete_all(alpha.member, [sid])


# ---------------------------------------------------------------- bad input: one server

@pytest.mark.parametrize("sid", ["not-a-uuid", NO_SUCH])
def test_unknown_server_is_404_everywhere(env, alpha, sid):
    api = alpha.member
    message = f"Instance {sid} could not be found."
    for method, path, body, mv in [
            ("GET", "", None, None), ("PUT", "", {"server": {"name": "x"}}, None),
            ("DELETE", "", None, None), ("POST", "/action", {"os-stop": None}, None),
            ("POST", "/action", {"reboot": {"type": "HARD"}}, None),
            ("GET", "/metadata", None, None), ("POST", "/metadata", {"metadata": {}}, None),
            ("GET", "/ips", None, None), ("GET", "/os-instance-actions", None, None),
            ("GET", "/tags", None, "2.26"), ("PUT", "/tags/t", None, "2.26")]:
        fault(api(method, f"/servers/{sid}{path}", body, mv=mv), 404, "itemNotFound", message)


def test_another_projects_server_is_hidden(env, alpha_server, other):
    api = other.member
    message = f"Instance {alpha_server} could not be found."
    for method, path, body in [
            ("GET", "", None), ("PUT", "", {"server": {"name": "mine"}}), ("DELETE", "", None),
            ("POST", "/action", {"os-stop": None}), ("POST", "/action", {"lock": None}),
            ("POST", "/action", {"os-getConsoleOutput": None}),
            ("GET", "/metadata", None), ("PUT", "/metadata", {"metadata": {"a": "b"}}),
            ("GET", "/ips", None), ("GET", "/os-instance-actions", None)]:
        fault(api(method, f"/servers/{alpha_server}{path}", body), 404, "itemNotFound",
              message)
    assert alpha_server not in [s["id"] for s in api.ok("GET", "/servers")["servers"]]
    assert show(env.admin, alpha_server)["name"] == f"{PREFIX}-alpha"


@pytest.mark.parametrize(("version", "status", "name", "message"), [
    ("2.200", 406, "computeFault", "Version 2.200 is not supported by the API. Minimum is 2.1 "
                                   "and maximum is 2.100."),
    ("2.101", 406, "computeFault", "Version 2.101 is not supported by the API. Minimum is 2.1 "
                                   "and maximum is 2.100."),
    ("2.x", 400, "badRequest", "API Version String 2.x is of invalid format. Must be of "
                               "format MajorNum.MinorNum."),
])
def test_invalid_microversions(env, alpha, alpha_server, version, status, name, message):
    api = alpha.member
    fault(api("GET", "/servers", mv=version), status, name, message)
    fault(api("POST", f"/servers/{alpha_server}/action", {"createImage": {"name": "x"}},
              mv=version), status, name, message)


@pytest.mark.parametrize(("body", "message"), [
    ({"no-such-action": None}, "There is no such action: no-such-action"),
    ({"reboot": {"type": "MEDIUM"}}, "Argument 'type' for reboot must be a string with value "
                                     "'SOFT' or 'HARD'."),
    ({"reboot": {}}, "'type' is a required property"),
    ({"resize": {}}, "'flavorRef' is a required property"),
    ({"resize": {"flavorRef": "no-such-flavor"}}, "Flavor no-such-flavor could not be found."),
    ({"resize": {"flavorRef": "1"}}, "When resizing, instances must change flavor!"),
    ({"os-stop": None, "os-start": None}, "has too many properties"),
    ({}, "should be non-empty"),
    ({"createImage": {}}, "'name' is a required property"),
    ({"createImage": {"name": ""}}, "should be non-empty"),
    ({"os-getConsoleOutput": {"length": "many"}}, "Invalid input for field/attribute length."),
    ({"os-getConsoleOutput": {"length": -2}}, "Invalid input for field/attribute length."),
])
def test_invalid_action_bodies_are_400(alpha, alpha_server, body, message):
    r = alpha.member("POST", f"/servers/{alpha_server}/action", body)
    assert message in fault(r, 400, "badRequest")


def test_wrong_states_are_409(env, alpha, alpha_server):
    api = alpha.member
    action = f"/servers/{alpha_server}/action"

    def refused(body: dict, verb: str, state: str) -> None:
        fault(api("POST", action, body), 409, "conflictingRequest",
              f"Cannot '{verb}' instance {alpha_server} while it is in vm_state {state}")

    refused({"os-start": None}, "start", "active")
    refused({"confirmResize": None}, "confirmResize", "active")
    refused({"revertResize": None}, "revertResize", "active")
    api.ok("POST", action, {"os-stop": None}, status=202)
    wait_for(api, alpha_server, "SHUTOFF")
    refused({"os-stop": None}, "stop", "stopped")
    refused({"reboot": {"type": "SOFT"}}, "reboot", "stopped")
    api.ok("POST", action, {"os-start": None}, status=202)
    wait_for(api, alpha_server, "ACTIVE")


def test_a_second_stop_while_the_first_runs_is_refused(env, alpha):
    sid = env.boot(alpha.member, "twice-stopped")[0]
    with ThreadPoolExecutor(8) as pool:
        codes = Counter(pool.map(lambda _: alpha.member(
            "POST", f"/servers/{sid}/action", {"os-stop": None}).status_code, range(8)))
    assert codes == {202: 1, 409: 7}, codes
    wait_for(alpha.member, sid, "SHUTOFF")
    delete_all(alpha.member, [sid])


def test_locked_servers(env, alpha, alpha_server):
    api, admin = alpha.member, env.admin
    action = f"/servers/{alpha_server}/action"
    locked = f"Instance {alpha_server} is locked"
    admin.ok("POST", action, {"lock": None}, status=202)
    try:
        assert show(api, alpha_server, mv="2.9")["locked"] is True
        fault(api("DELETE", f"/servers/{alpha_server}"), 409, "conflictingRequest", locked)
        fault(api("POST", action, {"os-stop": None}), 409, "conflictingRequest", locked)
        fault(api("POST", action, {"reboot": {"type": "HARD"}}), 409, "conflictingRequest",
              locked)
        fault(api("POST", f"/servers/{alpha_server}/metadata", {"metadata": {"a": "b"}}), 409,
              "conflictingRequest", locked)
        fault(alpha.reader("POST", "/servers", _body(env)), 403, "forbidden")
        # the admin's lock: the member may not lift it, nor make it its own by locking again
        fault(api("POST", action, {"unlock": None}), 403, "forbidden")
        api.ok("POST", action, {"lock": None}, status=202)
        fault(api("POST", action, {"unlock": None}), 403, "forbidden")
        assert show(api, alpha_server, mv="2.9")["locked"] is True
        fault(alpha.reader("POST", action, {"unlock": None}), 403, "forbidden")
    finally:
        admin.ok("POST", action, {"unlock": None}, status=202)
    assert show(api, alpha_server, mv="2.9")["locked"] is False
    # the member's own lock it lifts itself
    api.ok("POST", action, {"lock": None}, status=202)
    fault(api("POST", action, {"os-stop": None}), 409, "conflictingRequest", locked)
    api.ok("POST", action, {"unlock": None}, status=202)
    assert show(api, alpha_server, mv="2.9")["locked"] is False


def test_deleting_twice(env, alpha):
    api = alpha.member
    sid = env.boot(api, "twice")[0]
    assert api("DELETE", f"/servers/{sid}").status_code == 204
    again = api("DELETE", f"/servers/{sid}")  # still deleting: 204; already gone: 404
    assert again.status_code in (204, 404), again.text
    if again.status_code == 404:
        fault(again, 404, "itemNotFound", f"Instance {sid} could not be found.")
    wait_gone(api, [sid])
    fault(api("DELETE", f"/servers/{sid}"), 404, "itemNotFound",
          f"Instance {sid} could not be found.")
    fault(api("GET", f"/servers/{sid}"), 404, "itemNotFound",
          f"Instance {sid} could not be found.")


def test_tags_need_2_26(alpha, alpha_server):
    api = alpha.member
    for method, path, body in [("GET", "/tags", None), ("PUT", "/tags", {"tags": ["a"]}),
                               ("DELETE", "/tags", None), ("GET", "/tags/a", None),
                               ("PUT", "/tags/a", None), ("DELETE", "/tags/a", None)]:
        fault(api(method, f"/servers/{alpha_server}{path}", body, mv="2.25"), 404,
              "itemNotFound")


def test_metadata_and_tag_bad_input(alpha, alpha_server):
    api = alpha.member
    meta = f"/servers/{alpha_server}/metadata"
    fault(api("GET", f"{meta}/no-such-key"), 404, "itemNotFound", "Metadata item was not found")
    fault(api("DELETE", f"{meta}/no-such-key"), 404, "itemNotFound",
          "Metadata item was not found")
    fault(api("PUT", f"{meta}/a", {"meta": {"b": "1"}}), 400, "badRequest",
          "Request body and URI mismatch")
    fault(api("PUT", f"{meta}/a", {"meta": {"a": "1", "b": "2"}}), 400, "badRequest",
          "Request body contains too many items")
    fault(api("POST", meta, {"metadata": {"": "empty key"}}), 400, "badRequest")
    fault(api("POST", meta, {"metadata": {"k": 1}}), 400, "badRequest")
    fault(api("PUT", meta, {"metadata": {f"k{i}": "v" for i in range(129)}}), 403,
          "forbidden")
    tags = f"/servers/{alpha_server}/tags"
    fault(api("PUT", f"{tags}/a,b", mv="2.26"), 400, "badRequest")
    fault(api("PUT", tags, {"tags": ["x/y"]}, mv="2.26"), 400, "badRequest")
    fault(api("PUT", tags, {"tags": [f"t{i}" for i in range(51)]}, mv="2.26"), 400,
          "badRequest", "The number of tags exceeded the per-server limit 50")
    fault(api("GET", f"{tags}/no-such-tag", mv="2.26"), 404, "itemNotFound",
          "Tag no-such-tag could not be found.")
    fault(api("DELETE", f"{tags}/no-such-tag", mv="2.26"), 404, "itemNotFound",
          "Tag no-such-tag could not be found.")
    fault(api("GET", f"/servers/{alpha_server}/ips/no-such-net"), 404, "itemNotFound",
          "Instance is not a member of specified network")
    fault(api("GET", f"/servers/{alpha_server}/os-instance-actions/req-nope"), 404,
          "itemNotFound")


def test_update_bad_input(alpha, alpha_server):
    api = alpha.member
    path = f"/servers/{alpha_server}"
    assert "('description' was unexpected)" in fault(
        api("PUT", path, {"server": {"description": "d"}}, mv="2.18"), 400, "badRequest")
    fault(api("PUT", path, {"server": {"accessIPv4": "bogus"}}), 400, "badRequest")
    fault(api("PUT", path, {"server": {"name": " x"}}), 400, "badRequest")
    fault(api("PUT", path, {"server": {"flavorRef": "2"}}), 400, "badRequest")
    fault(alpha.reader("PUT", path, {"server": {"name": "r"}}), 403, "forbidden")


# ---------------------------------------------------------------- bad input: listing

@pytest.mark.parametrize(("query", "status", "name", "message"), [
    ("marker=" + NO_SUCH, 400, "badRequest", f"marker [{NO_SUCH}] not found"),
    ("sort_key=no_such_key", 400, "badRequest", "Invalid sort key: no_such_key"),
    ("sort_key=display_name&sort_dir=sideways", 400, "badRequest",
     "Invalid sort direction: sideways"),
    ("sort_dir=sideways", 400, "badRequest", "Invalid sort direction: sideways"),
    ("sort_key=host", 403, "forbidden", "Only administrators can sort servers by host"),
    ("changes-since=yesterday", 400, "badRequest", "Invalid filter field: changes-since."),
    ("changes-since=2020-13-45T00:00:00Z", 400, "badRequest",
     "Invalid filter field: changes-since."),
    ("limit=-1", 400, "badRequest", "limit param must be positive"),
    ("limit=many", 400, "badRequest", "limit param must be an integer"),
    ("name=[", 400, "badRequest",
     "Invalid input for query parameters name. Value: [. '[' is not a 'regex'"),
    ("ip=(", 400, "badRequest",
     "Invalid input for query parameters ip. Value: (. '(' is not a 'regex'"),
    ("all_tenants=maybe", 400, "badRequest",
     "Invalid value 'maybe' for all_tenants: it must be a boolean."),
    ("all_tenants=1", 403, "forbidden", None),
])
@pytest.mark.parametrize("path", ["/servers", "/servers/detail"])
def test_listing_bad_input(alpha, alpha_server, path, query, status, name, message):
    fault(alpha.member("GET", f"{path}?{query}"), status, name, message)


# ---------------------------------------------------------------- quotas

def test_quota_race_and_partial_fill(env):
    tenant = env.tenant({"instances": 10})
    made = quota_race(env, tenant)
    # three places left: max_count 5 fills them, min_count 4 does not fit at all
    delete_all(tenant.member, made[:3])
    wait_usage(env.admin, tenant.project_id, {"instances": 7, "cores": 7, "ram": 7 * 512})
    r = tenant.member("POST", "/servers", {"server": {
        "name": f"{PREFIX}-fill", "imageRef": env.image, "flavorRef": "1",
        "min_count": 1, "max_count": 5}})
    assert r.status_code == 202, r.text
    filled = tenant.member.ok("GET", f"/servers?name=^{PREFIX}-fill")["servers"]
    assert sorted(s["name"] for s in filled) == [f"{PREFIX}-fill-{i}" for i in (1, 2, 3)]
    assert usage(env.admin, tenant.project_id)["instances"] == 10
    fault(tenant.member("POST", "/servers", {"server": {
        "name": f"{PREFIX}-more", "imageRef": env.image, "flavorRef": "1",
        "min_count": 4, "max_count": 5}}), 403, "forbidden",
        "Quota exceeded for instances: Requested 4, but already used 10 of 10 instances")
    everything = [s["id"] for s in tenant.member.ok("GET", "/servers")["servers"]]
    assert len(everything) == 10
    delete_all(tenant.member, everything)
    wait_usage(env.admin, tenant.project_id, {"instances": 0, "cores": 0, "ram": 0})


def test_partial_fill_is_bounded_by_cores_too(env):
    tenant = env.tenant({"instances": 10, "cores": 4})
    r = tenant.member("POST", "/servers", {"server": {
        "name": f"{PREFIX}-cores", "imageRef": env.image, "flavorRef": "3",  # 2 vCPUs
        "min_count": 1, "max_count": 5}})
    assert r.status_code == 202, r.text
    ids = [s["id"] for s in tenant.member.ok("GET", "/servers")["servers"]]
    assert len(ids) == 2
    assert usage(env.admin, tenant.project_id) == {"instances": 2, "cores": 4, "ram": 8192}
    delete_all(tenant.member, ids)
    wait_usage(env.admin, tenant.project_id, {"instances": 0, "cores": 0, "ram": 0})


def test_quota_follows_resizes_and_deletes(env):
    """Usage tracks the flavor through resize, confirm and revert, and every way
    of deleting (mid-build, mid-resize, while resized, stopped) gives it all back."""
    tenant = env.tenant({"instances": 10, "cores": 20, "ram": 51200})
    api, pid = tenant.member, tenant.project_id
    sid = env.boot(api, "quota-resize")[0]
    assert usage(env.admin, pid) == {"instances": 1, "cores": 1, "ram": 512}
    _act(api, sid, {"resize": {"flavorRef": "3"}})  # 2 vCPUs, 4096 MiB
    wait_for(api, sid, "VERIFY_RESIZE")
    assert usage(env.admin, pid) == {"instances": 1, "cores": 2, "ram": 4096}
    _act(api, sid, {"revertResize": None})
    wait_for(api, sid, "ACTIVE")
    assert usage(env.admin, pid) == {"instances": 1, "cores": 1, "ram": 512}
    _act(api, sid, {"resize": {"flavorRef": "2"}})
    wait_for(api, sid, "VERIFY_RESIZE")
    _act(api, sid, {"confirmResize": None}, status=204)
    wait_for(api, sid, "ACTIVE")
    assert usage(env.admin, pid) == {"instances": 1, "cores": 1, "ram": 2048}
    _act(api, sid, {"resize": {"flavorRef": "3"}})
    wait_for(api, sid, "VERIFY_RESIZE")
    delete_all(api, [sid])  # while resized: the larger of both flavors goes back
    wait_usage(env.admin, pid, {"instances": 0, "cores": 0, "ram": 0})
    for _ in range(3):
        # deleted at once: mid-resize (the resize's reservation too), mid-stop, mid-build
        resizing, stopping = env.boot(api, "quota-busy", count=2)
        _act(api, resizing, {"resize": {"flavorRef": "3"}})
        api.ok("DELETE", f"/servers/{resizing}", status=204)
        _act(api, stopping, {"os-stop": None})
        api.ok("DELETE", f"/servers/{stopping}", status=204)
        building = env.boot(api, "quota-build", wait=None)
        delete_all(api, [resizing, stopping, *building])
        wait_usage(env.admin, pid, {"instances": 0, "cores": 0, "ram": 0})


# ---------------------------------------------------------------- listing

@dataclass
class Listed:
    tenant: Tenant
    ids: dict[str, str]  # short name (a-1 ...) -> id

    def names(self, servers: list[dict]) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[s["id"]] for s in servers if s["id"] in by_id]


@pytest.fixture(scope="module")
def listed(env) -> Listed:
    """Six servers: a-1 a-2 (m1.tiny), b-1 b-2 (m1.small), c-1 (stopped) c-2, tagged
    a-1 [red big], a-2 [red], b-1 [big], c-2 [blue]."""
    tenant = env.tenant({"instances": 20, "cores": 20, "ram": 40960})
    api = tenant.member
    ids: dict[str, str] = {}
    for group, flavor in (("a", "1"), ("b", "2"), ("c", "1")):
        made = env.boot(api, f"lst-{group}", count=2, flavorRef=flavor)
        ids.update({f"{group}-{i}": sid for i, sid in enumerate(made, 1)})
    for name, tags in (("a-1", ["red", "big"]), ("a-2", ["red"]), ("b-1", ["big"]),
                       ("c-2", ["blue"])):
        api.ok("PUT", f"/servers/{ids[name]}/tags", {"tags": tags}, mv="2.26")
    api.ok("POST", f"/servers/{ids['c-1']}/action", {"os-stop": None}, status=202)
    wait_for(api, ids["c-1"], "SHUTOFF")
    return Listed(tenant, ids)


def _names(listed: Listed, query: str, mv: str | None = None, detail: bool = False) -> list:
    path = "/servers/detail" if detail else "/servers"
    return sorted(listed.names(listed.tenant.member.ok("GET", f"{path}?{query}",
                                                       mv=mv)["servers"]))


ALL_SIX = ["a-1", "a-2", "b-1", "b-2", "c-1", "c-2"]


@pytest.mark.parametrize(("query", "mv", "expected"), [
    ("", None, ALL_SIX),
    ("name={P}-lst-a", None, ["a-1", "a-2"]),
    ("name=-[bc]-1$", None, ["b-1", "c-1"]),
    ("name=^{P}-LST-A", None, []),
    ("status=SHUTOFF", None, ["c-1"]),
    ("status=active", None, ["a-1", "a-2", "b-1", "b-2", "c-2"]),
    ("status=NO_SUCH_STATUS", None, []),
    ("flavor=2", None, ["b-1", "b-2"]),
    ("image=" + NO_SUCH, None, []),
    ("changes-since=2000-01-01T00:00:00Z", None, ALL_SIX),
    ("changes-since=2999-01-01T00:00:00Z", None, []),
    ("tags=red,big", "2.26", ["a-1"]),
    ("tags=red&tags-any=big,blue", "2.26", ["a-1"]),
    ("tags-any=red,blue", "2.26", ["a-1", "a-2", "c-2"]),
    ("not-tags=red,big", "2.26", ["a-2", "b-1", "b-2", "c-1", "c-2"]),
    ("not-tags-any=red,big", "2.26", ["b-2", "c-1", "c-2"]),
    ("tags=red", None, ALL_SIX),  # not a filter before 2.26
    ("host=no-such-host", None, ALL_SIX),  # ignored for a member
    ("sort_key=project_id", None, ALL_SIX),
])
@pytest.mark.parametrize("detail", [False, True])
def test_list_filters(env, listed, query, mv, expected, detail):
    query = query.replace("{P}", PREFIX)  # parameter ids stay the same in every worker
    assert _names(listed, query, mv, detail) == expected


def test_image_filter(env, listed):
    assert _names(listed, f"image={env.image}") == ALL_SIX
    assert _names(listed, f"image={env.base.rsplit('/v2.1', 1)[0]}/images/{env.image}") \
        == ALL_SIX


def test_changes_since_sees_the_latest_change(listed):
    api = listed.tenant.member
    since = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    api.ok("POST", f"/servers/{listed.ids['a-2']}/metadata", {"metadata": {"touched": "y"}})
    assert _names(listed, f"changes-since={since.replace('+00:00', 'Z')}") == ["a-2"]
    assert _names(listed, f"changes-since={since}".replace("+", "%2B")) == ["a-2"]


def test_sorting(listed):
    api = listed.tenant.member
    asc = listed.names(api.ok("GET", "/servers?sort_key=display_name&sort_dir=asc")["servers"])
    assert asc == ALL_SIX
    desc = listed.names(api.ok("GET", "/servers/detail?sort_key=display_name&sort_dir=desc")[
        "servers"])
    assert desc == ALL_SIX[::-1]
    # the default: newest first (created_at desc; ties by the internal id)
    created = [s["created"] for s in api.ok("GET", "/servers/detail")["servers"]]
    assert created == sorted(created, reverse=True)
    by_flavor = listed.names(api.ok(
        "GET", "/servers?sort_key=instance_type_id&sort_dir=desc&sort_key=display_name"
        "&sort_dir=asc")["servers"])
    assert by_flavor == ["b-1", "b-2", "a-1", "a-2", "c-1", "c-2"]


@pytest.mark.parametrize("query", ["", "sort_key=display_name&sort_dir=asc",
                                   "sort_key=task_state&sort_dir=desc",
                                   "sort_key=key_name&sort_dir=asc&sort_key=vm_state"])
@pytest.mark.parametrize("path", ["/servers", "/servers/detail"])
def test_paging_follows_next_links(listed, path, query):
    api = listed.tenant.member
    whole = [s["id"] for s in api.ok("GET", f"{path}?{query}")["servers"]]
    assert len(whole) == 6
    seen: list[str] = []
    url: str | None = f"{path}?limit=2&{query}"
    pages = 0
    while url:
        page = api.ok("GET", url)
        pages += 1
        seen += [s["id"] for s in page["servers"]]
        links = page.get("servers_links") or []
        assert len(page["servers"]) == 2 or not links
        url = links[0]["href"] if links else None
        if url:
            assert links[0]["rel"] == "next"
            assert url.startswith(f"{api.base}{path}?") and "marker=" in url
    assert seen == whole and pages == 3


def test_sdk_paginates(server, listed):
    import openstack.connection

    conn = openstack.connection.Connection(session=listed.tenant.member.session,
                                           region_name="RegionOne")
    try:
        names = [s.name for s in conn.compute.servers(limit=2, name=f"^{PREFIX}-lst")]
        assert sorted(names) == sorted(f"{PREFIX}-lst-{n}" for n in ALL_SIX)
        details = list(conn.compute.servers(details=True, limit=4, name=f"^{PREFIX}-lst"))
        assert {s.id for s in details} == set(listed.ids.values())
    finally:
        conn.close()


def test_all_tenants_for_admins(env, listed, alpha, alpha_server):
    admin = env.admin
    everyone = admin.ok("GET", f"/servers?all_tenants=1&name=^{PREFIX}-(lst|alpha)")[
        "servers"]
    assert set(listed.ids.values()) | {alpha_server} <= {s["id"] for s in everyone}
    assert not {s["id"] for s in admin.ok("GET", f"/servers?name=^{PREFIX}-")["servers"]} & \
        set(listed.ids.values())  # without all_tenants: the admin's own project only
    one = admin.ok("GET", f"/servers/detail?all_tenants=True&project_id="
                          f"{listed.tenant.project_id}")["servers"]
    assert {s["id"] for s in one} == set(listed.ids.values())
    assert {s["tenant_id"] for s in one} == {listed.tenant.project_id}
    fault(listed.tenant.member("GET", "/servers/detail?all_tenants=1"), 403, "forbidden")


def test_host_filter_is_for_admins_only(env, listed):
    admin = env.admin
    a1 = show(admin, listed.ids["a-1"])
    host = a1["OS-EXT-SRV-ATTR:host"]
    assert host.startswith("compute-")
    on_host = admin.ok("GET", f"/servers/detail?all_tenants=1&host={host}"
                              f"&name=^{PREFIX}-lst")["servers"]
    assert listed.ids["a-1"] in {s["id"] for s in on_host}
    assert {s["OS-EXT-SRV-ATTR:host"] for s in on_host} == {host}
    assert admin.ok("GET", "/servers?all_tenants=1&host=no-such-host")["servers"] == []
    # a member's host filter is dropped, not applied (allow_all_filters is admin-only)
    assert _names(listed, f"host={host}") == ALL_SIX
    assert admin.ok("GET", f"/servers?all_tenants=1&sort_key=host&name=^{PREFIX}-lst")[
        "servers"]


# ---------------------------------------------------------------- views

V21_KEYS = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image",
            "flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links",
            "key_name", "config_drive", "progress", "OS-DCF:diskConfig",
            "OS-EXT-AZ:availability_zone", "OS-EXT-STS:vm_state", "OS-EXT-STS:task_state",
            "OS-EXT-STS:power_state", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at",
            "os-extended-volumes:volumes_attached", "security_groups"}
ADMIN_21 = {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname",
            "OS-EXT-SRV-ATTR:instance_name"}
ADMIN_23 = ADMIN_21 | {"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index",
                       "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:kernel_id",
                       "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:root_device_name",
                       "OS-EXT-SRV-ATTR:user_data"}


@pytest.mark.parametrize(("mv", "member_extra", "admin_extra"), [
    (None, set(), ADMIN_21),
    ("2.1", set(), ADMIN_21),
    ("2.3", set(), ADMIN_23),
    ("2.8", set(), ADMIN_23),
    ("2.9", {"locked"}, ADMIN_23),
    ("2.15", {"locked"}, ADMIN_23),
    ("2.16", {"locked"}, ADMIN_23 | {"host_status"}),
    ("2.19", {"locked", "description"}, ADMIN_23 | {"host_status"}),
    ("2.25", {"locked", "description"}, ADMIN_23 | {"host_status"}),
    ("2.26", {"locked", "description", "tags"}, ADMIN_23 | {"host_status"}),
])
def test_views_by_microversion_and_role(env, alpha, alpha_server, mv, member_extra,
                                        admin_extra):
    for api, extra in ((alpha.member, member_extra), (alpha.reader, member_extra),
                       (env.admin, member_extra | admin_extra)):
        one = show(api, alpha_server, mv=mv)
        assert set(one) == V21_KEYS | extra, set(one) ^ (V21_KEYS | extra)
        listed = api.ok("GET", f"/servers/detail?all_tenants=1&name=^{PREFIX}-alpha$"
                        if api is env.admin else f"/servers/detail?name=^{PREFIX}-alpha$",
                        mv=mv)["servers"]
        assert [set(s) for s in listed] == [V21_KEYS | extra]
    admin = show(env.admin, alpha_server, mv=mv)
    assert admin["OS-EXT-SRV-ATTR:host"].startswith("compute-")
    assert admin["OS-EXT-SRV-ATTR:instance_name"].startswith("instance-")
    if "host_status" in admin:
        assert admin["host_status"] == "UP"
    if mv in ("2.3", "2.26"):
        assert admin["OS-EXT-SRV-ATTR:hostname"] == f"{PREFIX}-alpha".lower()
        assert admin["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")


def test_full_view_values(env, alpha, alpha_server):
    one = show(alpha.member, alpha_server, mv="2.26")
    assert one["status"] == "ACTIVE" and one["OS-EXT-STS:vm_state"] == "active"
    assert one["OS-EXT-STS:power_state"] == 1 and one["progress"] == 0
    assert one["tenant_id"] == alpha.project_id and one["user_id"] == alpha.user_id
    assert one["image"]["id"] == env.image and one["flavor"]["id"] == "1"
    assert len(one["hostId"]) == 56
    (address,) = one["addresses"]["private"]
    assert address["version"] == 4 and address["OS-EXT-IPS:type"] == "fixed"
    assert one["locked"] is False and one["description"] is None
    assert one["security_groups"] == [{"name": "default"}]
    assert one["OS-EXT-AZ:availability_zone"] == "nova"
    assert [link["rel"] for link in one["links"]] == ["self", "bookmark"]
    assert one["links"][0]["href"] == f"{env.base}/servers/{alpha_server}"
    assert "fault" not in one


def test_description_round_trip(env, alpha):
    api = alpha.member
    sid = env.boot(api, "described", description="first words", mv="2.19")[0]
    assert show(api, sid, mv="2.19")["description"] == "first words"
    assert "description" not in show(api, sid, mv="2.18")
    updated = api.ok("PUT", f"/servers/{sid}", {"server": {"description": "second"}},
                     mv="2.19")["server"]
    assert updated["description"] == "second"
    cleared = api.ok("PUT", f"/servers/{sid}", {"server": {"description": None,
                                                           "name": f"{PREFIX}-renamed"}},
                     mv="2.19")["server"]
    assert cleared["description"] is None and cleared["name"] == f"{PREFIX}-renamed"
    delete_all(api, [sid])


def test_error_server_shows_its_fault(env):
    tenant = env.tenant({"instances": 5, "cores": 10, "ram": -1})
    flavor = unique("huge")
    env.admin.ok("POST", "/flavors", {"flavor": {"name": flavor, "id": flavor,
                                                 "ram": 10 ** 6, "vcpus": 1, "disk": 1}})
    env.flavors.append(flavor)
    sid = env.boot(tenant.member, "doomed", flavorRef=flavor, wait="ERROR")[0]
    shown = show(tenant.member, sid)
    assert shown["status"] == "ERROR" and shown["OS-EXT-STS:vm_state"] == "error"
    assert shown["hostId"] == "" and "progress" not in shown
    assert shown["fault"]["code"] == 500
    assert shown["fault"]["message"].startswith("No valid host was found")
    assert set(shown["fault"]) <= {"code", "created", "message", "details"}
    admin = show(env.admin, sid, mv="2.16")
    assert admin["fault"] == shown["fault"] and admin["host_status"] == ""
    assert admin["OS-EXT-SRV-ATTR:host"] is None
    listed = tenant.member.ok("GET", "/servers/detail?status=ERROR")["servers"]
    assert [s["id"] for s in listed] == [sid] and "fault" in listed[0]
    fault(tenant.member("POST", f"/servers/{sid}/action", {"os-stop": None}), 409,
          "conflictingRequest")
    fault(tenant.member("POST", f"/servers/{sid}/action", {"os-getConsoleOutput": None}),
          409, "conflictingRequest", f"Instance {sid} is not ready")
    delete_all(tenant.member, [sid])


# ---------------------------------------------------------------- actions end to end

@pytest.fixture(scope="module")
def actor(env, alpha) -> str:
    return env.boot(alpha.member, "actor")[0]


def _act(api: Api, sid: str, body: dict, status: int = 202) -> Any:
    return api.ok("POST", f"/servers/{sid}/action", body, status=status)


def test_power_actions(alpha, actor):
    api = alpha.member
    _act(api, actor, {"os-stop": None})
    stopped = wait_for(api, actor, "SHUTOFF")
    assert stopped["OS-EXT-STS:vm_state"] == "stopped"
    assert stopped["OS-EXT-STS:power_state"] == 4 and "progress" not in stopped
    _act(api, actor, {"os-start": None})
    started = wait_for(api, actor, "ACTIVE")
    assert started["OS-EXT-STS:power_state"] == 1
    for kind in ("SOFT", "HARD", "soft"):
        _act(api, actor, {"reboot": {"type": kind}})
        rebooted = wait_for(api, actor, "ACTIVE")
        assert rebooted["OS-EXT-STS:power_state"] == 1
    # a hard reboot also brings back a stopped server
    _act(api, actor, {"os-stop": None})
    wait_for(api, actor, "SHUTOFF")
    _act(api, actor, {"reboot": {"type": "HARD"}})
    wait_for(api, actor, "ACTIVE")


def test_console_output(alpha, actor):
    api = alpha.member
    whole = _act(api, actor, {"os-getConsoleOutput": {}}, status=200)["output"]
    lines = whole.splitlines()
    assert len(lines) >= 2 and "login:" in whole
    last = _act(api, actor, {"os-getConsoleOutput": {"length": 1}}, status=200)["output"]
    assert last.splitlines() == lines[-1:]
    assert _act(api, actor, {"os-getConsoleOutput": {"length": "-1"}},
                status=200)["output"] == whole
    assert _act(api, actor, {"os-getConsoleOutput": None}, status=200)["output"] == whole
    fault(alpha.reader("POST", f"/servers/{actor}/action", {"os-getConsoleOutput": {}}), 403,
          "forbidden")


def test_create_image_answers_with_a_location(env, alpha, actor):
    api = alpha.member
    name = unique("snap")
    r = api("POST", f"/servers/{actor}/action", {"createImage": {
        "name": name, "metadata": {"purpose": "test"}}})
    assert r.status_code == 202 and not r.content, r.text
    location = r.headers["Location"]
    assert location.startswith(f"{env.image_url}/")
    image_id = location.rsplit("/", 1)[1]
    env.images.append(image_id)
    wait_for(api, actor, "ACTIVE")
    deadline = time.monotonic() + WAIT
    image: dict = {}
    while time.monotonic() < deadline:
        image = api.session.get(location).json()
        if image["status"] == "active":
            break
        time.sleep(0.1)
    assert image["status"] == "active" and image["name"] == name
    assert image["image_type"] == "snapshot" and image["instance_uuid"] == actor
    assert image["base_image_ref"] == env.image and image["purpose"] == "test"
    assert image["owner"] == alpha.project_id
    # from 2.45 the id comes in the body, with no Location
    r = api("POST", f"/servers/{actor}/action", {"createImage": {"name": name}}, mv="2.45")
    assert r.status_code == 202 and "Location" not in r.headers, r.text
    env.images.append(r.json()["image_id"])
    wait_for(api, actor, "ACTIVE")


def test_resize_confirm_and_revert(env, alpha):
    api = alpha.member
    sid = env.boot(api, "resized")[0]
    _act(api, sid, {"resize": {"flavorRef": "2"}})
    resized = wait_for(api, sid, "VERIFY_RESIZE")
    assert resized["flavor"]["id"] == "2" and resized["OS-EXT-STS:vm_state"] == "resized"
    _act(api, sid, {"confirmResize": None}, status=204)
    assert wait_for(api, sid, "ACTIVE")["flavor"]["id"] == "2"
    _act(api, sid, {"resize": {"flavorRef": "3"}})
    wait_for(api, sid, "VERIFY_RESIZE")
    _act(api, sid, {"revertResize": None})
    assert wait_for(api, sid, "ACTIVE")["flavor"]["id"] == "2"
    fault(api("POST", f"/servers/{sid}/action", {"resize": {"flavorRef": "1"}}), 400,
          "badRequest", "Resize error: Unable to resize disk down.")
    delete_all(api, [sid])


def test_metadata_round_trip(alpha, actor):
    api = alpha.member
    meta = f"/servers/{actor}/metadata"
    assert api.ok("PUT", meta, {"metadata": {"a": "1", "b": "2"}}) == {
        "metadata": {"a": "1", "b": "2"}}
    assert api.ok("POST", meta, {"metadata": {"b": "3", "c": "4"}}) == {
        "metadata": {"a": "1", "b": "3", "c": "4"}}
    assert api.ok("GET", f"{meta}/b") == {"meta": {"b": "3"}}
    assert api.ok("PUT", f"{meta}/d", {"meta": {"d": "5"}}) == {"meta": {"d": "5"}}
    api.ok("DELETE", f"{meta}/a", status=204)
    assert api.ok("GET", meta) == {"metadata": {"b": "3", "c": "4", "d": "5"}}
    assert show(api, actor)["metadata"] == {"b": "3", "c": "4", "d": "5"}
    assert alpha.reader.ok("GET", meta) == {"metadata": {"b": "3", "c": "4", "d": "5"}}
    api.ok("PUT", meta, {"metadata": {}})
    assert api.ok("GET", meta) == {"metadata": {}}


def test_tags_round_trip(alpha, actor):
    api = alpha.member
    tags = f"/servers/{actor}/tags"
    assert api.ok("PUT", tags, {"tags": ["b", "a", "b"]}, mv="2.26") == {"tags": ["a", "b"]}
    r = api("PUT", f"{tags}/c", mv="2.26")
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/servers/{actor}/tags/c")
    assert api("PUT", f"{tags}/c", mv="2.26").status_code == 204
    assert api("GET", f"{tags}/c", mv="2.26").status_code == 204
    api.ok("DELETE", f"{tags}/a", mv="2.26", status=204)
    assert api.ok("GET", tags, mv="2.26") == {"tags": ["b", "c"]}
    assert show(api, actor, mv="2.26")["tags"] == ["b", "c"]
    api.ok("DELETE", tags, mv="2.26", status=204)
    assert api.ok("GET", tags, mv="2.26") == {"tags": []}


def test_concurrent_metadata_and_tag_writes_all_land(alpha, actor):
    api = alpha.member
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda i: api("POST", f"/servers/{actor}/metadata", {
            "metadata": {f"k{i}": str(i)}}).status_code, range(16)))
        assert codes == [200] * 16
        assert api.ok("GET", f"/servers/{actor}/metadata")["metadata"] == {
            f"k{i}": str(i) for i in range(16)}
        tag_codes = list(pool.map(lambda i: api("PUT", f"/servers/{actor}/tags/t{i % 8}",
                                                mv="2.26").status_code, range(16)))
        assert sorted(tag_codes) == [201] * 8 + [204] * 8
        assert api.ok("GET", f"/servers/{actor}/tags", mv="2.26")["tags"] == [
            f"t{i}" for i in range(8)]
    api.ok("PUT", f"/servers/{actor}/metadata", {"metadata": {}})
    api.ok("DELETE", f"/servers/{actor}/tags", mv="2.26", status=204)


def test_ips(alpha, actor):
    api = alpha.member
    addresses = api.ok("GET", f"/servers/{actor}/ips")["addresses"]
    assert list(addresses) == ["private"]
    assert api.ok("GET", f"/servers/{actor}/ips/private") == {"private": addresses["private"]}
    assert show(api, actor)["addresses"] == addresses


def test_instance_actions_list_the_history(env, alpha):
    api = alpha.member
    sid = env.boot(api, "history")[0]
    _act(api, sid, {"os-stop": None})
    wait_for(api, sid, "SHUTOFF")
    _act(api, sid, {"os-start": None})
    wait_for(api, sid, "ACTIVE")
    _act(api, sid, {"reboot": {"type": "SOFT"}})
    wait_for(api, sid, "ACTIVE")
    env.admin.ok("POST", f"/servers/{sid}/action", {"lock": None}, status=202)
    env.admin.ok("POST", f"/servers/{sid}/action", {"unlock": None}, status=202)
    history = api.ok("GET", f"/servers/{sid}/os-instance-actions")["instanceActions"]
    assert [a["action"] for a in history] == ["unlock", "lock", "reboot", "start", "stop",
                                              "create"]
    create = history[-1]
    assert create["instance_uuid"] == sid and create["project_id"] == alpha.project_id
    assert create["user_id"] == alpha.user_id and create["request_id"].startswith("req-")
    one = api.ok("GET", f"/servers/{sid}/os-instance-actions/{create['request_id']}")
    assert one["instanceAction"] == create  # no events for a member
    as_admin = env.admin.ok("GET", f"/servers/{sid}/os-instance-actions/"
                                   f"{create['request_id']}")["instanceAction"]
    # os-instance-actions:events is admin-only (below 2.51): the host's step of each
    assert [(e["event"], e["result"]) for e in as_admin["events"]] == [
        ("compute__do_build_and_run_instance", "Success")]
    for action, event in (("stop", "compute_stop_instance"),
                          ("reboot", "compute_reboot_instance")):
        request_id = next(a["request_id"] for a in history if a["action"] == action)
        path = f"/servers/{sid}/os-instance-actions/{request_id}"
        # recorded just after the state, as Nova finishes an event after the method
        deadline = time.monotonic() + WAIT
        while not env.admin.ok("GET", path)["instanceAction"]["events"] and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        shown = env.admin.ok("GET", path)["instanceAction"]["events"]
        assert [(e["event"], e["result"]) for e in shown] == [(event, "Success")]
    assert alpha.reader.ok("GET", f"/servers/{sid}/os-instance-actions")["instanceActions"] \
        == history
    api.ok("DELETE", f"/servers/{sid}", status=204)
    wait_gone(api, [sid])
    # a deleted server's history stays readable from 2.21
    gone = api.ok("GET", f"/servers/{sid}/os-instance-actions",
                  mv="2.21")["instanceActions"]
    assert [a["action"] for a in gone][:2] == ["delete", "unlock"]


def test_sdk_server_round_trip(env, alpha):
    import openstack.connection

    conn = openstack.connection.Connection(session=alpha.member.session,
                                           region_name="RegionOne")
    try:
        srv = conn.compute.create_server(name=f"{PREFIX}-sdk", image_id=env.image,
                                         flavor_id="1", networks="auto")
        srv = conn.compute.wait_for_server(srv, wait=60)
        assert srv.status == "ACTIVE"
        conn.compute.set_server_metadata(srv, color="green")
        assert conn.compute.fetch_server_metadata(srv).metadata == {"color": "green"}
        conn.compute.stop_server(srv)
        conn.compute.wait_for_server(srv, status="SHUTOFF", wait=60)
        conn.compute.start_server(srv)
        conn.compute.wait_for_server(srv, status="ACTIVE", wait=60)
        console = conn.compute.get_server_console_output(srv, length=1)
        assert len(console["output"].splitlines()) == 1
        conn.compute.delete_server(srv)
        conn.compute.wait_for_delete(srv, wait=60)
        assert conn.compute.find_server(srv.id) is None
    finally:
        conn.close()


def test_server_uuid_marker_of_another_project_is_not_found(listed, alpha_server):
    fault(listed.tenant.member("GET", f"/servers?marker={alpha_server}"), 400, "badRequest",
          f"marker [{alpha_server}] not found")


def test_return_reservation_id_and_its_filter(env, alpha):
    api = alpha.member
    r = api("POST", "/servers", {"server": {
        "name": f"{PREFIX}-reserved", "imageRef": env.image, "flavorRef": "1",
        "min_count": 2, "max_count": 2, "return_reservation_id": True}})
    assert r.status_code == 202 and list(r.json()) == ["reservation_id"], r.text
    reservation = r.json()["reservation_id"]
    both = api.ok("GET", f"/servers?reservation_id={reservation}")["servers"]
    assert sorted(s["name"] for s in both) == [f"{PREFIX}-reserved-1", f"{PREFIX}-reserved-2"]
    assert api.ok("GET", "/servers?reservation_id=r-nosuchid")["servers"] == []
    delete_all(api, [s["id"] for s in both])



# ---- microversion-specific behaviour: 2.5 ip6, 2.17 crash dumps, 2.21 deleted servers' actions

def test_trigger_crash_dump_from_2_17(alpha, actor):
    api = alpha.member
    fault(api("POST", f"/servers/{actor}/action", {"trigger_crash_dump": None}, mv="2.16"),
          404, "itemNotFound")
    api.ok("POST", f"/servers/{actor}/action", {"trigger_crash_dump": None}, mv="2.17",
           status=202)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        out = _act(api, actor, {"os-getConsoleOutput": {}}, status=200)["output"]
        if "Kernel panic - not syncing: NMI" in out:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(out)
    _act(api, actor, {"os-stop": None})
    wait_for(api, actor, "SHUTOFF")
    fault(api("POST", f"/servers/{actor}/action", {"trigger_crash_dump": None}, mv="2.17"),
          409, "conflictingRequest")
    _act(api, actor, {"os-start": None})
    wait_for(api, actor, "ACTIVE")


def test_ip6_filter_from_2_5_for_admins(env, alpha, actor):
    # Fixed addresses are IPv4: an ip6 pattern matches nothing; below 2.5 it is ignored.
    assert env.admin.ok("GET", "/servers?all_tenants=1&ip6=.", mv="2.5")["servers"] == []
    assert env.admin.ok("GET", f"/servers?all_tenants=1&ip6=.&name=^{PREFIX}-actor$",
                        mv="2.4")["servers"]


def test_actions_of_a_deleted_server_from_2_21(env, alpha):
    api = alpha.member
    sid = env.boot(api, "gone")[0]
    api.ok("DELETE", f"/servers/{sid}", status=204)
    wait_gone(api, [sid])
    fault(api("GET", f"/servers/{sid}/os-instance-actions", mv="2.20"), 404, "itemNotFound")
    actions = api.ok("GET", f"/servers/{sid}/os-instance-actions", mv="2.21")
    assert [a["action"] for a in actions["instanceActions"]] == ["delete", "create"]
