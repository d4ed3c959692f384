"""The real `openstack` CLI and openstacksdk against the compute resources other
than servers: flavors, key pairs, quotas and limits, hosts, server groups,
extensions and version discovery."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from tests.support.compute_hosts import add_host

# ---------------------------------------------------------------- discovery

def test_versions_show_lists_compute(cli):
    rows = cli.json("admin", "versions", "show", "--service", "compute")
    by_id = {r["Version"]: r for r in rows}
    assert by_id["2.1"]["Max Microversion"] == "2.100"
    assert by_id["2.1"]["Min Microversion"] == "2.1"
    assert by_id["2.1"]["Status"] == "CURRENT"


def test_extension_list(cli):
    rows = cli.json("demo", "extension", "list", "--compute")
    aliases = {r["Alias"] for r in rows}
    assert {"os-keypairs", "os-flavor-access", "os-quota-sets", "os-server-groups"} <= aliases


# ---------------------------------------------------------------- flavors

def test_default_flavors_are_listed(cli):
    rows = {r["Name"]: r for r in cli.json("demo", "flavor", "list")}
    assert rows["m1.tiny"]["ID"] == "1" and rows["m1.tiny"]["RAM"] == 512
    assert rows["m1.small"]["Disk"] == 20 and rows["m1.xlarge"]["VCPUs"] == 8
    assert rows["t3.micro"]["ID"] == "t3.micro" and rows["t3.micro"]["RAM"] == 1024
    assert rows["t2.nano"]["Disk"] == 1 and rows["m5.large"]["RAM"] == 8192


def _all_flavor_names(conn) -> list[str]:
    """What ``flavor list --all`` lists (public and private), read with the sdk."""
    r = conn.compute.get("/flavors/detail?is_public=None")
    assert r.status_code == 200, r.text
    return [f["name"] for f in r.json()["flavors"]]


def test_flavor_lifecycle_with_properties(cli, admin_client):
    name = unique("flv")
    created = cli.json("admin", "flavor", "create", "--ram", "256", "--vcpus", "2",
                       "--disk", "3", "--ephemeral", "1", "--swap", "64",
                       "--property", "hw:cpu_policy=shared", "--property", "color=blue", name)
    assert created["name"] == name and created["ram"] == 256 and created["vcpus"] == 2
    assert created["properties"] == {"hw:cpu_policy": "shared", "color": "blue"}
    shown = cli.json("demo", "flavor", "show", name)
    assert shown["id"] == created["id"] and shown["swap"] == 64
    assert shown["OS-FLV-EXT-DATA:ephemeral"] == 1
    assert shown["properties"] == {"hw:cpu_policy": "shared", "color": "blue"}
    cli.run("admin", "flavor", "set", "--property", "color=red", name)
    cli.run("admin", "flavor", "unset", "--property", "hw:cpu_policy", name)
    assert cli.json("admin", "flavor", "show", name)["properties"] == {"color": "red"}
    refused = cli.run("demo", "flavor", "create", "--ram", "1", "--disk", "1", unique("x"),
                      check=False)
    assert refused.returncode != 0 and "403" in refused.stderr
    cli.run("admin", "flavor", "delete", name)
    assert name not in _all_flavor_names(admin_client)


def test_private_flavor_is_shared_with_a_project(cli, admin_client):
    name = unique("private")
    flavor = cli.json("admin", "flavor", "create", "--ram", "128", "--disk", "1",
                      "--private", "--id", name, name)
    assert flavor["os-flavor-access:is_public"] is False
    assert name not in [r["Name"] for r in cli.json("demo", "flavor", "list", "--all")]
    missing = cli.run("demo", "flavor", "show", name, check=False)
    assert missing.returncode != 0
    cli.run("admin", "flavor", "set", "--project", "demo", name)
    assert name in [r["Name"] for r in cli.json("demo", "flavor", "list")]
    shown = cli.json("admin", "flavor", "show", name)
    assert shown["access_project_ids"]
    assert cli.json("demo", "flavor", "show", name)["id"] == name
    cli.run("admin", "flavor", "unset", "--project", "demo", name)
    assert name not in [r["Name"] for r in cli.json("demo", "flavor", "list", "--all")]
    admin_client.compute.delete_flavor(name)  # teardown: `flavor delete` is tested above


def test_sdk_flavors(admin_client, demo_client):
    names = {f.name for f in demo_client.compute.flavors()}
    assert {"m1.tiny", "m1.small", "t3.nano"} <= names
    tiny = demo_client.compute.find_flavor("m1.tiny", ignore_missing=False)
    assert tiny.id == "1" and tiny.ram == 512 and tiny.vcpus == 1 and tiny.disk == 1
    paged = list(admin_client.compute.flavors(details=False, paginated=True, limit=3))
    assert len(paged) == len({f.id for f in paged}) >= 15  # followed flavors_links


# ---------------------------------------------------------------- key pairs

def test_keypair_lifecycle_with_the_cli(cli, tmp_path, admin_client, demo_client):
    name = unique("kp")
    private = tmp_path / "private.pem"
    created = cli.json("demo", "keypair", "create", "--private-key", str(private), name)
    assert created["name"] == name
    assert private.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    listed = {r["Name"]: r for r in cli.json("demo", "keypair", "list")}
    assert name in listed and listed[name]["Fingerprint"].count(":") == 15
    shown = cli.json("demo", "keypair", "show", name)
    assert shown["name"] == name and shown["fingerprint"] == listed[name]["Fingerprint"]
    # another user does not see it (read with the sdk: `keypair list` is checked above)
    assert name not in [k.name for k in admin_client.compute.keypairs()]
    cli.run("demo", "keypair", "delete", name)
    assert name not in [k.name for k in demo_client.compute.keypairs()]


def test_keypair_import_from_file(cli, tmp_path, demo_client):
    _write_ed25519(tmp_path / "id_ed25519.pub")
    public = (tmp_path / "id_ed25519.pub").read_text()
    name = unique("imported")
    created = cli.json("demo", "keypair", "create", "--public-key",
                       str(tmp_path / "id_ed25519.pub"), name)
    assert created["fingerprint"] == _md5_fingerprint(public)
    assert cli.run("demo", "keypair", "show", "--public-key", name).stdout.strip() \
        == public.strip()
    dup = cli.run("demo", "keypair", "create", "--public-key",
                  str(tmp_path / "id_ed25519.pub"), name, check=False)
    assert dup.returncode != 0 and "409" in dup.stderr
    demo_client.compute.delete_keypair(name)  # teardown: `keypair delete` is tested above


def test_sdk_create_keypair_generates_one(demo_client):
    name = unique("sdk-kp")
    key = demo_client.compute.create_keypair(name=name)
    try:
        assert key.private_key.startswith("-----BEGIN")
        assert key.public_key.startswith("ssh-rsa ")
        assert key.fingerprint == _md5_fingerprint(key.public_key)
        assert demo_client.compute.get_keypair(name).fingerprint == key.fingerprint
    finally:
        demo_client.compute.delete_keypair(name)


def _write_ed25519(path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    path.write_text(public.decode() + " test@nimbus\n")


def _md5_fingerprint(public_key: str) -> str:
    import base64
    import hashlib

    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


# ---------------------------------------------------------------- quotas and limits

@pytest.fixture
def project(admin_client):
    """A project of the test's own, made with the sdk (setup, not under test)."""
    made = admin_client.identity.create_project(name=unique("quota-proj"),
                                                domain_id="default")
    yield {"id": made.id, "name": made.name}
    admin_client.identity.delete_project(made.id, ignore_missing=True)


def _quotas(cli, cloud: str, *args: str) -> dict:
    return {r["Resource"]: r["Limit"] for r in cli.json(cloud, "quota", "show", *args)}


def test_quota_show_and_set(cli, project):
    values = _quotas(cli, "admin", project["id"])
    assert values["instances"] == 10 and values["cores"] == 20 and values["ram"] == 51200
    assert values["key-pairs"] == 100 and values["server-groups"] == 10
    cli.run("admin", "quota", "set", "--instances", "3", "--cores", "7", project["name"])
    values = _quotas(cli, "admin", project["id"])
    assert values["instances"] == 3 and values["cores"] == 7 and values["ram"] == 51200
    refused = cli.run("demo", "quota", "set", "--instances", "50", "demo", check=False)
    assert refused.returncode != 0 and "403" in refused.stderr


def test_quota_show_of_own_project(cli):
    values = _quotas(cli, "demo")
    assert values["instances"] >= 1 and values["injected-files"] == 5
    # With a network service in the catalog, OSC shows the Network API's security
    # group quota: the test server's (tests/support/server.py), counted.
    assert values["fixed_ips"] == -1 and values["security_groups"] == 1000


def test_limits_show_absolute(cli):
    rows = {r["Name"]: r["Value"] for r in cli.json("demo", "limits", "show", "--absolute")}
    assert rows["max_total_instances"] == 10 and rows["max_total_cores"] == 20
    assert rows["max_total_ram_size"] == 51200 and rows["total_instances_used"] == 0
    assert rows["max_server_groups"] == 10 and rows["max_total_keypairs"] == 100


def test_sdk_get_limits(demo_client):
    limits = demo_client.compute.get_limits()
    assert limits.absolute.instances == 10
    assert limits.absolute.total_cores == 20
    assert limits.absolute.keypairs == 100


# ---------------------------------------------------------------- hosts

def test_hypervisor_list(cli, server):
    mine = add_host(server, vcpus=24, memory_mb=4096)
    rows = cli.json("admin", "hypervisor", "list", "--long")
    row = next(r for r in rows if r["Hypervisor Hostname"] == f"{mine.host}.local")
    assert row["ID"] == mine.node_id and row["State"] == "up"
    assert row["vCPUs"] == 24 and row["Memory MB"] == 4096
    refused = cli.run("demo", "hypervisor", "list", check=False)
    assert refused.returncode != 0 and "403" in refused.stderr


def _service_statuses(conn, host: str) -> list[str]:
    """The status of each compute service on ``host``, read with the sdk."""
    return [s.status for s in conn.compute.services(host=host)]


def test_compute_service_list_and_disable(cli, server, admin_client):
    mine = add_host(server)
    rows = cli.json("admin", "compute", "service", "list", "--service", "nova-compute")
    row = next(r for r in rows if r["Host"] == mine.host)
    assert row["ID"] == mine.service_id and row["Status"] == "enabled" and row["State"] == "up"
    cli.run("admin", "compute", "service", "set", "--disable", "--disable-reason", "maint",
            mine.host, "nova-compute")
    rows = cli.json("admin", "compute", "service", "list", "--host", mine.host, "--long")
    assert [(r["Status"], r["Disabled Reason"]) for r in rows] == [("disabled", "maint")]
    # set's effect from here on is read with the sdk (`service list` is checked above)
    cli.run("admin", "compute", "service", "set", "--enable", mine.host, "nova-compute")
    assert _service_statuses(admin_client, mine.host) == ["enabled"]
    cli.run("admin", "compute", "service", "set", "--disable", mine.host, "nova-compute")
    assert _service_statuses(admin_client, mine.host) == ["disabled"]
    cli.run("admin", "compute", "service", "delete", str(mine.service_id))
    assert _service_statuses(admin_client, mine.host) == []


def test_availability_zone_list(cli, server):
    zone = unique("az")
    add_host(server, zone=zone)
    rows = cli.json("admin", "availability", "zone", "list", "--compute", "--long")
    assert any(r["Zone Name"] == zone and r["Zone Status"] == "available" for r in rows)
    # a member is refused the detail (403) and OSC falls back to the plain list
    rows = cli.json("demo", "availability", "zone", "list", "--compute")
    assert any(r["Zone Name"] == zone for r in rows)


# ---------------------------------------------------------------- server groups

def test_server_group_lifecycle(cli, demo_client):
    name = unique("grp")
    created = cli.json("demo", "server", "group", "create", "--policy", "anti-affinity", name)
    assert created["name"] == name
    policy = created.get("policy") or created.get("policies")
    assert "anti-affinity" in str(policy)
    listed = cli.json("demo", "server", "group", "list")
    assert name in [r["Name"] for r in listed]
    shown = cli.json("demo", "server", "group", "show", name)
    assert shown["id"] == created["id"]
    cli.run("demo", "server", "group", "delete", name)
    assert name not in [g.name for g in demo_client.compute.server_groups()]
