"""Flavors (2.55, 2.61, 2.75, 2.86), key pairs (2.35, 2.92) and server groups
(2.64) at each version boundary, with keystoneauth, openstacksdk and the
`openstack` CLI (the rest of the resources: test_resource_microversions.py)."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from tests.support.compute_api import Api, new_tenant
from tests.support.nova import refused

pytestmark = pytest.mark.usefixtures("no_server_errors")

ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPflNS2ZG62dK07tPVmiMJ7W9f7OvADEUnvrhxZAayyg "
           "test@nimbus")



@pytest.fixture(scope="module")
def admin(server, admin_session) -> Api:
    return Api(f"{server.url}/compute/v2.1", admin_session)


@pytest.fixture(scope="module")
def demo(server, demo_session) -> Api:
    return Api(f"{server.url}/compute/v2.1", demo_session)


@pytest.fixture(scope="module")
def flavor(admin):
    """A flavor of the module's own, no swap, one extra spec."""
    made = admin.ok("POST", "/flavors", {"flavor": {
        "name": unique("mv-flv"), "ram": 64, "vcpus": 1, "disk": 1,
        "description": "first"}}, mv="2.55")["flavor"]
    admin.ok("POST", f"/flavors/{made['id']}/os-extra_specs",
             {"extra_specs": {"hw:cpu_policy": "shared"}})
    yield made
    admin("DELETE", f"/flavors/{made['id']}")


# ---------------------------------------------------------------- flavors

def test_flavor_description(admin, demo, flavor):
    assert flavor["description"] == "first"
    path = f"/flavors/{flavor['id']}"
    assert "description" not in admin.ok("GET", path, mv="2.54")["flavor"]
    listed = {f["id"]: f for f in demo.ok("GET", "/flavors", mv="2.55")["flavors"]}
    assert listed[flavor["id"]]["description"] == "first"
    assert "description" not in demo.ok("GET", "/flavors", mv="2.54")["flavors"][0]
    done = admin.ok("PUT", path, {"flavor": {"description": "second"}}, mv="2.55")["flavor"]
    assert done["description"] == "second" and done["id"] == flavor["id"]
    assert demo.ok("GET", path, mv="2.55")["flavor"]["description"] == "second"
    assert admin.ok("PUT", path, {"flavor": {"description": None}},
                    mv="2.55")["flavor"]["description"] is None
    refused(admin("PUT", path, {"flavor": {"description": "x"}}, mv="2.54"), 404)
    refused(admin("PUT", path, {"flavor": {"description": "x", "ram": 1}}, mv="2.55"), 400)
    refused(admin("PUT", path, {"flavor": {}}, mv="2.55"), 400)
    refused(admin("PUT", path, {"flavor": {"description": "x" * 65536}}, mv="2.55"), 400)
    refused(admin("PUT", path, {"flavor": {"description": "a\x01b"}}, mv="2.55"), 400)
    refused(demo("PUT", path, {"flavor": {"description": "x"}}, mv="2.55"), 403)
    refused(admin("PUT", "/flavors/no-such-flavor", {"flavor": {"description": "x"}},
                  mv="2.55"), 404)
    refused(admin("POST", "/flavors", {"flavor": {"name": unique("f"), "ram": 1, "vcpus": 1,
                                                  "disk": 0, "description": "x"}},
                  mv="2.54"), 400)


def test_flavor_extra_specs_in_body_from_261(admin, demo, flavor):
    path = f"/flavors/{flavor['id']}"
    assert "extra_specs" not in demo.ok("GET", path, mv="2.60")["flavor"]
    assert demo.ok("GET", path, mv="2.61")["flavor"]["extra_specs"] == {
        "hw:cpu_policy": "shared"}
    detail = {f["id"]: f for f in demo.ok("GET", "/flavors/detail", mv="2.61")["flavors"]}
    assert detail[flavor["id"]]["extra_specs"] == {"hw:cpu_policy": "shared"}
    assert "extra_specs" not in demo.ok("GET", "/flavors", mv="2.61")["flavors"][0]
    made = admin.ok("POST", "/flavors", {"flavor": {"name": unique("mv-flv"), "ram": 64,
                                                    "vcpus": 1, "disk": 1}}, mv="2.61")
    assert made["flavor"]["extra_specs"] == {} and made["flavor"]["description"] is None
    updated = admin.ok("PUT", f"/flavors/{made['flavor']['id']}",
                       {"flavor": {"description": "d"}}, mv="2.61")["flavor"]
    assert updated["extra_specs"] == {}
    admin.ok("DELETE", f"/flavors/{made['flavor']['id']}")


def test_flavor_swap_zero_from_275(demo, flavor):
    path = f"/flavors/{flavor['id']}"
    assert demo.ok("GET", path, mv="2.74")["flavor"]["swap"] == ""
    assert demo.ok("GET", path, mv="2.75")["flavor"]["swap"] == 0


@pytest.mark.parametrize("specs", [
    {"hw:cpu_policy": "sometimes"}, {"hw:no_such_thing": "1"}, {"hw:numa_nodes": "0"},
    {"hw:mem_page_size": "huge"}, {"resources:VCPU": "two"}, {"trait:HW_CPU_X86_AVX": "yes"},
    {"hw_rng:allowed": "perhaps"}, {"quota:disk_read_bytes_sec": "-1"},
    {"quota:nothing": "1"}, {"os:monitors": "9"}, {"pci_passthrough:alias": "gpu"},
    {"group_policy": "whatever"}])
def test_extra_spec_validation_from_286(admin, flavor, specs):
    path = f"/flavors/{flavor['id']}/os-extra_specs"
    refused(admin("POST", path, {"extra_specs": specs}, mv="2.86"), 400)
    (key, value), = specs.items()
    refused(admin("PUT", f"{path}/{key}", {key: value}, mv="2.86"), 400)
    # not validated before 2.86
    assert admin.ok("POST", path, {"extra_specs": specs}, mv="2.85")["extra_specs"] == specs
    admin.ok("DELETE", f"{path}/{key}")


def test_valid_extra_specs_at_286(admin, flavor):
    path = f"/flavors/{flavor['id']}/os-extra_specs"
    good = {"hw:cpu_policy": "dedicated", "hw:mem_page_size": "2MB", "hw:numa_nodes": "2",
            "hw:numa_cpus.0": "0-1", "hw:numa_mem.0": "512", "resources:VCPU": "2",
            "resources_g1:CUSTOM_FPGA": "1", "trait:HW_CPU_X86_AVX": "required",
            "hw_rng:allowed": "True", "quota:cpu_shares": "100",
            "aggregate_instance_extra_specs:ssd": "true", "capabilities:gpus": "1",
            "color": "blue", "vendor:anything": "goes", "pci_passthrough:alias": "gpu:2"}
    assert admin.ok("POST", path, {"extra_specs": good}, mv="2.86")["extra_specs"] == good
    assert admin.ok("PUT", f"{path}/hw:cpu_policy", {"hw:cpu_policy": "mixed"},
                    mv="2.86") == {"hw:cpu_policy": "mixed"}
    for key in good:
        if key != "hw:cpu_policy":
            admin.ok("DELETE", f"{path}/{key}")
    admin.ok("PUT", f"{path}/hw:cpu_policy", {"hw:cpu_policy": "shared"})


def test_cli_flavor_description_and_bad_property(cli, admin_client):
    name = unique("mv-cli-flv")
    made = cli.json("admin", "flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "1",
                    "--description", "made by the CLI", "--property", "hw:cpu_policy=shared",
                    name)
    assert made["description"] == "made by the CLI"
    assert made["properties"] == {"hw:cpu_policy": "shared"}
    cli.run("admin", "flavor", "set", "--description", "changed", name)
    assert cli.json("demo", "flavor", "show", name)["description"] == "changed"
    # the sdk's Flavor caps at 2.61, below 2.86: Nova takes any value there too
    cli.run("admin", "flavor", "set", "--property", "hw:cpu_policy=sometimes", name)
    assert admin_client.compute.find_flavor(name).extra_specs == {"hw:cpu_policy": "sometimes"}
    cli.run("admin", "flavor", "delete", name)


# ---------------------------------------------------------------- key pairs

@pytest.fixture(scope="module")
def keys_user(server, admin) -> Api:
    """A user of a project of its own with three key pairs (a, b, c)."""
    tenant = new_tenant(server, admin)
    for name in ("kp-a", "kp-b", "kp-c"):
        tenant.member.ok("POST", "/os-keypairs", {"keypair": {"name": name,
                                                              "public_key": ED25519}},
                         mv="2.35")
    return tenant.member


def test_keypair_paging_from_235(keys_user):
    def names(r: dict) -> list[str]:
        return [k["keypair"]["name"] for k in r["keypairs"]]

    page = keys_user.ok("GET", "/os-keypairs?limit=2", mv="2.35")
    assert names(page) == ["kp-a", "kp-b"]
    link = page["keypairs_links"][0]
    assert link["rel"] == "next" and "marker=kp-b" in link["href"]
    assert names(keys_user.ok("GET", "/os-keypairs?marker=kp-b", mv="2.35")) == ["kp-c"]
    rest = keys_user.ok("GET", "/os-keypairs?limit=2&marker=kp-b", mv="2.35")
    assert names(rest) == ["kp-c"] and "keypairs_links" not in rest
    refused(keys_user("GET", "/os-keypairs?marker=kp-zzz", mv="2.35"), 400)
    old = keys_user.ok("GET", "/os-keypairs?limit=1", mv="2.34")
    assert names(old) == ["kp-a", "kp-b", "kp-c"] and "keypairs_links" not in old


def test_keypair_create_at_292(admin, demo):
    refused(demo("POST", "/os-keypairs", {"keypair": {"name": unique("kp")}}, mv="2.92"), 400)
    generated = demo.ok("POST", "/os-keypairs", {"keypair": {"name": unique("kp")}},
                        mv="2.91")["keypair"]
    assert generated["private_key"].startswith("-----BEGIN")
    wide = f"{unique('me')}@host.example"
    made = demo.ok("POST", "/os-keypairs", {"keypair": {"name": wide, "public_key": ED25519}},
                   mv="2.92")["keypair"]
    assert made["name"] == wide and "private_key" not in made
    assert demo.ok("GET", f"/os-keypairs/{wide}", mv="2.92")["keypair"]["name"] == wide
    refused(demo("POST", "/os-keypairs", {"keypair": {"name": f"{unique('me')}@host",
                                                      "public_key": ED25519}}, mv="2.91"), 400)
    refused(demo("POST", "/os-keypairs", {"keypair": {"name": "no/slash",
                                                      "public_key": ED25519}}, mv="2.92"), 400)
    # 2.10's user_id still works for admins
    demo_user = demo.session.get_user_id()
    other = admin.ok("POST", "/os-keypairs", {"keypair": {
        "name": unique("kp"), "public_key": ED25519, "user_id": demo_user, "type": "ssh"}},
        mv="2.92")["keypair"]
    assert other["user_id"] == demo_user
    demo.ok("DELETE", f"/os-keypairs/{other['name']}", mv="2.92")
    demo.ok("DELETE", f"/os-keypairs/{wide}", mv="2.92")
    demo.ok("DELETE", f"/os-keypairs/{generated['name']}", mv="2.92")


def test_cli_keypair_create_at_the_sdk_cap(cli):
    # The sdk's Keypair caps at 2.10: the CLI still gets a generated key, and the
    # 2.92 names are refused there, as Nova does at 2.10.
    name = unique("cli-kp")
    out = cli.run("demo", "keypair", "create", name).stdout  # the private key, printed
    assert "PRIVATE KEY" in out
    assert name in [k["Name"] for k in cli.json("demo", "keypair", "list")]
    bad = cli.run("demo", "keypair", "create", f"{unique('cli')}@nimbus.test", check=False)
    assert bad.returncode != 0 and "400" in bad.stderr
    cli.run("demo", "keypair", "delete", name)


# ---------------------------------------------------------------- server groups

def test_server_group_policy_and_rules_from_264(demo):
    body = {"server_group": {"name": unique("grp"), "policy": "anti-affinity",
                             "rules": {"max_server_per_host": 2}}}
    made = demo.ok("POST", "/os-server-groups", body, mv="2.64")["server_group"]
    assert made["policy"] == "anti-affinity" and made["rules"] == {"max_server_per_host": 2}
    assert "policies" not in made and "metadata" not in made
    path = f"/os-server-groups/{made['id']}"
    old = demo.ok("GET", path, mv="2.63")["server_group"]
    assert old["policies"] == ["anti-affinity"] and old["metadata"] == {}
    assert "policy" not in old and "rules" not in old
    listed = demo.ok("GET", "/os-server-groups", mv="2.64")["server_groups"]
    assert {"policy": "anti-affinity", "rules": {"max_server_per_host": 2}}.items() <= next(
        g for g in listed if g["id"] == made["id"]).items()
    plain = demo.ok("POST", "/os-server-groups", {"server_group": {
        "name": unique("grp"), "policy": "soft-affinity"}}, mv="2.64")["server_group"]
    assert plain["rules"] == {}
    for bad in ({"name": "g", "policies": ["affinity"]},
                {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}},
                {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}},
                {"name": "g", "policy": "anti-affinity", "rules": {"other": 1}},
                {"name": "g", "policy": "anti-affinity", "metadata": {}},
                {"name": "g"}):
        refused(demo("POST", "/os-server-groups", {"server_group": bad}, mv="2.64"), 400)
    refused(demo("POST", "/os-server-groups", {"server_group": {
        "name": "g", "policy": "affinity"}}, mv="2.63"), 400)
    for group in (made, plain):
        demo.ok("DELETE", f"/os-server-groups/{group['id']}", mv="2.64")


def test_cli_server_group_with_rule(cli, demo_client):
    name = unique("grp")
    made = cli.json("demo", "server", "group", "create", "--policy", "anti-affinity",
                    "--rule", "max_server_per_host=2", name)
    assert made["policy"] == "anti-affinity" and "max_server_per_host" in str(made["rules"])
    group = demo_client.compute.get_server_group(made["id"])
    assert group.rules == {"max_server_per_host": 2} and group.policy == "anti-affinity"
    bad = cli.run("demo", "server", "group", "create", "--policy", "affinity", "--rule",
                  "max_server_per_host=2", unique("grp"), check=False)
    assert bad.returncode != 0 and "400" in bad.stderr
    cli.run("demo", "server", "group", "delete", name)
