"""Server create, update and list inputs at microversions 2.27-2.100, through
keystoneauth sessions, openstacksdk and the `openstack` CLI: each key and filter
accepted from the version Nova's schema has it and a 400 (in Nova's words)
around it. Few servers boot: most checks stop at a 400 further on (an unknown
flavor, network or volume), which shows the version let the key through.
"""

from __future__ import annotations

import pytest

from tests.support.compute_api import Api, Tenant, show, wait_for
from tests.support.compute_env import PREFIX, Env
from tests.support.nova import fault

pytestmark = pytest.mark.usefixtures("no_server_errors")

NO_SUCH = "00000000-0000-4000-8000-000000000000"
ANSIBLE_TAGS_400 = ("Invalid input for field/attribute server. Additional properties are "
                    "not allowed ('tags' was unexpected)")


@pytest.fixture(scope="module")
def tenant(env) -> Tenant:
    return env.tenant({"instances": 10, "cores": 20, "ram": 20 * 2048})


@pytest.fixture(scope="module")
def booted(env, tenant) -> str:
    """One server booted at 2.100 with tags, a hostname and a description; the
    list and update checks share it."""
    return env.boot(tenant.member, "mv", mv="2.100", networks="none", tags=["red", "blue"],
                    hostname="web-1", description="made at 2.100")[0]


def _body(env: Env, **server) -> dict:
    return {"server": {"name": f"{PREFIX}-bad", "imageRef": env.image, "flavorRef": "1",
                       **server}}


def _post(api: Api, body: dict, mv: str):
    return api("POST", "/servers", body, mv=mv)


def _unexpected(key: str, where: str = "server") -> str:
    return (f"Invalid input for field/attribute {where}. Additional properties are not "
            f"allowed ('{key}' was unexpected)")


def _flavor_400(r) -> None:
    """The request passed the version's schema and stopped at the unknown flavor."""
    fault(r, 400, "badRequest", "Flavor no-such-flavor could not be found.")


# ---------------------------------------------------------------- 2.52 tags (issue 13)

def test_ansible_tags_body_through_the_sdk(env, tenant):
    """Ansible's openstack.cloud.server always sends "tags": [] (openstacksdk's
    create_server body): it boots at the negotiated version (2.52+) and is Nova's
    400 below 2.52."""
    import openstack.connection
    import openstack.exceptions

    conn = openstack.connection.Connection(session=tenant.member.session,
                                           region_name="RegionOne")
    # The same client pinned below 2.52 (a cloud's compute_default_microversion).
    old = openstack.connection.Connection(session=tenant.member.session,
                                          region_name="RegionOne",
                                          compute_default_microversion="2.51")
    try:
        srv = conn.compute.create_server(name=f"{PREFIX}-ansible", image_id=env.image,
                                         flavor_id="1", networks="none", tags=[])
        assert srv.id
        with pytest.raises(openstack.exceptions.BadRequestException,
                           match=r"'tags' was unexpected"):
            old.compute.create_server(name=f"{PREFIX}-ansible-old", image_id=env.image,
                                      flavor_id="1", networks="none", tags=[])
    finally:
        conn.close()
        old.close()
    body = {"server": {"name": f"{PREFIX}-ansible-ks", "imageRef": env.image,
                       "flavorRef": "1", "networks": "none", "tags": []}}
    fault(_post(tenant.member, body, "2.51"), 400, "badRequest", ANSIBLE_TAGS_400)
    wait_for(tenant.member, srv.id, "ACTIVE")


def test_tags_at_create_follow_the_tag_rules(env, tenant):
    member = tenant.member
    base = {"flavorRef": "no-such-flavor", "networks": "none"}
    _flavor_400(_post(member, _body(env, **base, tags=["ok", "fine"]), "2.52"))
    for tags in (["a/b"], ["a,b"], [""], ["x" * 61], [f"t{i}" for i in range(51)]):
        r = _post(member, _body(env, **base, tags=tags), "2.52")
        assert r.status_code == 400, (tags, r.text)


def test_booted_server_has_its_tags_hostname_and_description(env, tenant, booted):
    shown = show(tenant.member, booted, mv="2.100")
    assert sorted(shown["tags"]) == ["blue", "red"]
    assert shown["description"] == "made at 2.100"
    assert show(env.admin, booted, mv="2.3")["OS-EXT-SRV-ATTR:hostname"] == "web-1"


# ---------------------------------------------------------------- 2.32 / 2.42 device tags

@pytest.mark.parametrize(("mv", "allowed"), [
    ("2.31", False), ("2.32", True), ("2.36", True), ("2.37", False), ("2.41", False),
    ("2.42", True), ("2.100", True)])
def test_network_tag(env, tenant, mv, allowed):
    body = _body(env, networks=[{"uuid": NO_SUCH, "tag": "nic1"}])
    r = _post(tenant.member, body, mv)
    if allowed:  # through the schema, stopped at the unknown network
        assert r.status_code == 400 and "tag" not in r.json()["badRequest"]["message"], r.text
    else:
        fault(r, 400, "badRequest", _unexpected("tag", "networks"))


@pytest.mark.parametrize(("mv", "allowed"), [
    ("2.31", False), ("2.32", True), ("2.33", False), ("2.41", False), ("2.42", True)])
def test_block_device_tag(env, tenant, mv, allowed):
    bdm = [{"source_type": "volume", "destination_type": "volume", "uuid": NO_SUCH,
            "boot_index": 1, "tag": "disk1"}]
    nets = {"networks": "none"} if mv >= "2.37" else {}
    r = _post(tenant.member, _body(env, **nets, block_device_mapping_v2=bdm), mv)
    if allowed:  # through the schema, stopped at the unknown volume
        fault(r, 400, "badRequest", f"Invalid volume: Volume {NO_SUCH} could not be found.")
    else:
        fault(r, 400, "badRequest", _unexpected("tag", "block_device_mapping_v2"))


def test_bad_device_tag_is_400(env, tenant):
    r = _post(tenant.member, _body(env, networks=[{"uuid": NO_SUCH, "tag": "a/b"}]), "2.42")
    assert r.status_code == 400 and "tag" in r.json()["badRequest"]["message"]


# ---------------------------------------------------------------- 2.37 networks

def test_networks_required_from_2_37(env, tenant):
    r = _post(tenant.member, _body(env, flavorRef="no-such-flavor"), "2.36")
    _flavor_400(r)
    r = _post(tenant.member, _body(env, flavorRef="no-such-flavor"), "2.37")
    fault(r, 400, "badRequest", "Invalid input for field/attribute server. Value: "
                                "'networks' is a required property")
    r = _post(tenant.member, _body(env, networks=[{"uuid": "not-a-uuid"}]), "2.37")
    assert r.status_code == 400


# ---------------------------------------------------------------- 2.57 personality

def test_personality_refused_from_2_57(env, tenant):
    files = [{"path": "/etc/motd", "contents": "aGk="}]
    body = _body(env, flavorRef="no-such-flavor", networks="none", personality=files)
    _flavor_400(_post(tenant.member, body, "2.56"))
    fault(_post(tenant.member, body, "2.57"), 400, "badRequest", _unexpected("personality"))


# ---------------------------------------------------------------- 2.63 trusted certificates

def test_trusted_image_certificates(env, tenant):
    member = tenant.member
    body = _body(env, flavorRef="no-such-flavor", networks="none",
                 trusted_image_certificates=["cert-1", "cert-2"])
    fault(_post(member, body, "2.62"), 400, "badRequest",
          _unexpected("trusted_image_certificates"))
    _flavor_400(_post(member, body, "2.63"))
    for bad in ([], ["a", "a"], [""], [f"c{i}" for i in range(51)]):
        r = _post(member, _body(env, networks="none", trusted_image_certificates=bad), "2.63")
        assert r.status_code == 400, (bad, r.text)
    from_volume = _body(env, imageRef="", networks="none",
                        trusted_image_certificates=["cert-1"],
                        block_device_mapping_v2=[{
                            "source_type": "image", "destination_type": "volume",
                            "uuid": env.image, "boot_index": 0, "volume_size": 1}])
    fault(_post(member, from_volume, "2.63"), 400, "badRequest",
          "Image certificate validation is not supported when booting from volume")


def test_trusted_certificates_are_kept(env, tenant):
    sid = env.boot(tenant.member, "certs", mv="2.63", wait=None, networks="none",
                   trusted_image_certificates=["cert-a", "cert-b"])[0]
    shown = show(tenant.member, sid, mv="2.63")
    assert shown is not None
    # Kept in system_metadata["trusted_image_certificates"]; the 2.63 view shows
    # them (the view is another module's), so only check when it does.
    if "trusted_image_certificates" in shown:
        assert shown["trusted_image_certificates"] == ["cert-a", "cert-b"]


# ---------------------------------------------------------------- 2.67 volume_type

def test_block_device_volume_type(env, tenant):
    member = tenant.member
    bdm = [{"source_type": "blank", "destination_type": "volume", "volume_size": 1,
            "boot_index": 1, "volume_type": "no-such-type"}]
    body = _body(env, networks="none", block_device_mapping_v2=bdm)
    fault(_post(member, body, "2.66"), 400, "badRequest",
          _unexpected("volume_type", "block_device_mapping_v2"))
    fault(_post(member, body, "2.67"), 400, "badRequest",
          "Volume type no-such-type could not be found.")
    given = [{"source_type": "volume", "destination_type": "volume", "uuid": NO_SUCH,
              "boot_index": 1, "volume_type": "x"}]
    r = _post(member, _body(env, networks="none", block_device_mapping_v2=given), "2.67")
    assert r.status_code == 400 and "existing volume" in r.text


# ---------------------------------------------------------------- 2.74 requested destination

def test_requested_destination(env, tenant):
    hyp = env.admin.ok("GET", "/os-hypervisors/detail", mv="2.53")["hypervisors"][0]
    host, node = hyp["service"]["host"], hyp["hypervisor_hostname"]
    body = _body(env, networks="none", host=host)
    fault(_post(env.admin, body, "2.73"), 400, "badRequest", _unexpected("host"))
    fault(_post(env.admin, _body(env, networks="none", hypervisor_hostname=node), "2.73"),
          400, "badRequest", _unexpected("hypervisor_hostname"))
    assert _post(tenant.member, body, "2.74").status_code == 403
    fault(_post(env.admin, _body(env, networks="none", host="no-such-host"), "2.74"),
          400, "badRequest", "Compute host no-such-host could not be found.")
    fault(_post(env.admin, _body(env, networks="none", host=host,
                                 hypervisor_hostname="no-such-node"), "2.74"),
          400, "badRequest", "Compute host no-such-node could not be found.")
    sid = env.boot(env.admin, "dest", mv="2.74", networks="none", host=host,
                   hypervisor_hostname=node)[0]
    shown = show(env.admin, sid, mv="2.74")
    assert shown["OS-EXT-SRV-ATTR:host"] == host
    assert shown["OS-EXT-SRV-ATTR:hypervisor_hostname"] == node


# ---------------------------------------------------------------- 2.90 / 2.94 hostname

def test_hostname_at_create(env, tenant):
    member = tenant.member
    base = {"flavorRef": "no-such-flavor", "networks": "none"}
    fault(_post(member, _body(env, **base, hostname="web-1"), "2.89"), 400, "badRequest",
          _unexpected("hostname"))
    _flavor_400(_post(member, _body(env, **base, hostname="web-1"), "2.90"))
    for bad in ("web_1", "-web", "web-", "a" * 64, "web.example.com", ""):
        r = _post(member, _body(env, **base, hostname=bad), "2.90")
        fault(r, 400, "badRequest")
        assert "hostname" in r.json()["badRequest"]["message"], bad
    _flavor_400(_post(member, _body(env, **base, hostname="web.example.com"), "2.94"))
    longest = ".".join(["a" * 63] * 4)  # 255 characters
    _flavor_400(_post(member, _body(env, **base, hostname=longest), "2.94"))
    for bad in (longest + "a", "web..example", "web.-x.com", "web.example.com."):
        assert _post(member, _body(env, **base, hostname=bad), "2.94").status_code == 400
    r = _post(member, _body(env, networks="none", hostname="web", max_count=2), "2.90")
    fault(r, 400, "badRequest")
    assert "multiple instances" in r.json()["badRequest"]["message"]


def test_hostname_at_update(env, tenant, booted):
    member = tenant.member
    r = member("PUT", f"/servers/{booted}", {"server": {"hostname": "web-2"}}, mv="2.89")
    fault(r, 400, "badRequest", _unexpected("hostname"))
    r = member("PUT", f"/servers/{booted}", {"server": {"hostname": "web.x"}}, mv="2.90")
    fault(r, 400, "badRequest")
    member.ok("PUT", f"/servers/{booted}", {"server": {"hostname": "web-2"}}, mv="2.90")
    assert show(env.admin, booted, mv="2.3")["OS-EXT-SRV-ATTR:hostname"] == "web-2"
    member.ok("PUT", f"/servers/{booted}", {"server": {"hostname": "web.example.org"}},
              mv="2.94")
    assert show(env.admin, booted, mv="2.3")["OS-EXT-SRV-ATTR:hostname"] == "web.example.org"


def test_cli_create_with_tag_and_hostname(server, cli, env, tmp_path_factory):
    """``openstack server create --tag --hostname --nic none`` at the CLI's
    negotiated version (the server's maximum)."""
    from tests.support.project_cloud import project_cloud

    project = project_cloud(server, env.admin.session, tmp_path_factory.mktemp("mvcli"),
                            "mvcli")
    name = f"{PREFIX}-cli"
    made = cli.json(project.cloud, "server", "create", "--flavor", "1", "--image",
                    env.image, "--nic", "none", "--tag", "green", "--hostname", "cli-host",
                    name, env=project.env)
    assert made["name"] == name
    wait_for(env.admin, made["id"], "ACTIVE")
    assert show(env.admin, made["id"], mv="2.100")["tags"] == ["green"]
    assert show(env.admin, made["id"], mv="2.3")["OS-EXT-SRV-ATTR:hostname"] == "cli-host"


# ---------------------------------------------------------------- list filters

def _ids(api: Api, query: str, mv: str) -> set[str]:
    return {s["id"] for s in api.ok("GET", f"/servers?{query}", mv=mv)["servers"]}


def test_invalid_status_is_400_from_2_38(tenant, booted):
    assert _ids(tenant.member, "status=NOT-A-STATUS", "2.37") == set()
    fault(tenant.member("GET", "/servers?status=NOT-A-STATUS", mv="2.38"), 400,
          "badRequest", "Invalid status value")


def test_changes_before(tenant, booted):
    member = tenant.member
    assert booted in _ids(member, "changes-before=2000-01-01T00:00:00Z", "2.65")
    assert booted not in _ids(member, "changes-before=2000-01-01T00:00:00Z", "2.66")
    assert booted in _ids(member, "changes-since=2000-01-01T00:00:00Z&"
                                  "changes-before=2999-01-01T00:00:00Z", "2.66")
    fault(member("GET", "/servers?changes-since=2999-01-01T00:00:00Z&"
                        "changes-before=2000-01-01T00:00:00Z", mv="2.66"), 400,
          "badRequest", "The value of changes-since must be less than or equal to "
                        "changes-before.")


def test_locked_filter_and_sort_key(tenant, booted):
    member = tenant.member
    assert booted in _ids(member, "locked=true", "2.72")  # unknown before 2.73: ignored
    assert booted not in _ids(member, "locked=true", "2.73")
    assert booted in _ids(member, "locked=false", "2.73")
    assert member("GET", "/servers?locked=maybe", mv="2.73").status_code == 400
    assert booted in _ids(member, "sort_key=locked&sort_dir=asc", "2.73")


def test_unknown_query_parameters_are_400_from_2_75(tenant, booted):
    member = tenant.member
    assert booted in _ids(member, "no_such_filter=1", "2.74")
    fault(member("GET", "/servers/detail?no_such_filter=1", mv="2.75"), 400, "badRequest",
          "Invalid input for query parameters no_such_filter. Value: 1. Additional "
          "properties are not allowed ('no_such_filter' was unexpected)")
    assert booted in _ids(member, "sort_key=id", "2.74")  # ignored sort key
    assert member("GET", "/servers?sort_key=id", mv="2.75").status_code == 400
    assert booted in _ids(member, "sort_key=display_name&hostname=web", "2.75")


def test_non_admin_filters_from_2_83(tenant, booted):
    member = tenant.member
    # Dropped for non-admins before 2.83, applied from 2.83.
    assert booted in _ids(member, "vm_state=error", "2.82")
    assert booted not in _ids(member, "vm_state=error", "2.83")
    assert booted in _ids(member, "vm_state=active&vm_state=error", "2.83")
    assert booted not in _ids(member, "key_name=^nokey$", "2.83")
    assert booted in _ids(member, "power_state=1&progress=0", "2.83")
    assert booted in _ids(member, "created_at=^2", "2.83")
    assert booted not in _ids(member, "config_drive=True", "2.83")
    assert booted not in _ids(member, "user_id=someone-else", "2.83")
    assert booted in _ids(member, "user_id=someone-else", "2.82")


# ---------------------------------------------------------------- unknown body keys

def test_unknown_body_keys_are_400(env, tenant, booted):
    """Nova's create and update schemas admit no other key, at any version."""
    member = tenant.member
    for mv in ("2.1", "2.75", "2.100"):
        body = {**_body(env, networks="none"), "no_such_key": 1}
        r = _post(member, body, mv)
        assert r.status_code == 400 and "no_such_key" in r.text, (mv, r.text)
        r = _post(member, _body(env, networks="none", no_such_key=1), mv)
        assert r.status_code == 400 and "no_such_key" in r.text, (mv, r.text)
        r = member("PUT", f"/servers/{booted}", {"server": {"no_such_key": 1}}, mv=mv)
        assert r.status_code == 400 and "no_such_key" in r.text, (mv, r.text)


def test_tagged_volume_of_a_type_boots(server, env, tenant):
    """2.67 end to end: a blank volume made for the server in the named type, its
    device tag (2.42) on the attachment."""
    member = tenant.member
    sid = env.boot(member, "typed", mv="2.67", networks="none", block_device_mapping_v2=[{
        "source_type": "blank", "destination_type": "volume", "volume_size": 1,
        "boot_index": 1, "volume_type": "__DEFAULT__", "tag": "data",
        "delete_on_termination": True}])[0]
    attached = member.ok("GET", f"/servers/{sid}/os-volume_attachments", mv="2.67")
    (attachment,) = attached["volumeAttachments"]
    volume_url = f"{server.url}/volume/v3/{tenant.project_id}/volumes/{attachment['volumeId']}"
    volume = member.session.get(volume_url).json()["volume"]
    assert volume["volume_type"] == "__DEFAULT__"
    tagged = member.ok("GET", f"/servers/{sid}/os-volume_attachments", mv="2.70")
    if "tag" in tagged["volumeAttachments"][0]:  # shown from 2.70 (another module's view)
        assert tagged["volumeAttachments"][0]["tag"] == "data"
