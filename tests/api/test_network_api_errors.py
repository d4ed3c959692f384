"""Every 4xx the Network API answers, in Neutron's envelope
``{"NeutronError": {"type", "message", "detail"}}`` — never a 500, and nothing
half-made. Requests go through keystoneauth1 sessions (a real client), raw
bodies with ``data=`` where the point is to send something malformed. The
caller is a member of a project of the module's own: a network with a subnet in
``demo`` would be where every other test's server there boots."""

from __future__ import annotations

import uuid

import pytest
from keystoneauth1.session import Session

from tests.conftest import unique
from tests.support.identity import IdentityAdmin
from tests.support.personas import Persona, admin_identity, new_persona

pytestmark = pytest.mark.usefixtures("no_server_errors")


class Net:
    """The Network API at ``base`` as one caller."""

    def __init__(self, session: Session, base: str) -> None:
        self.session, self.base = session, base

    def call(self, method: str, path: str, body=None, **kw):
        return self.session.request(f"{self.base}{path}", method, json=body,
                                    raise_exc=False, **kw)

    def ok(self, method: str, path: str, body=None, **kw):
        r = self.call(method, path, body, **kw)
        assert r.status_code < 300, f"setup {method} {path}: {r.status_code} {r.text[:300]}"
        return r.json() if r.content else None


def fault(r, status: int, type_: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"NeutronError"}, body
    err = body["NeutronError"]
    assert set(err) == {"type", "message", "detail"} and err["detail"] == ""
    assert err["message"]
    if type_ is not None:
        assert err["type"] == type_, err
    return err


@pytest.fixture(scope="module")
def base(server) -> str:
    return f"{server.url}/networking/v2.0"


@pytest.fixture(scope="module")
def identity(server) -> IdentityAdmin:
    return admin_identity(server, "neterr")


@pytest.fixture(scope="module")
def project(identity) -> dict:
    """The module's own project."""
    return identity.new_project()


@pytest.fixture(scope="module")
def member(identity, project) -> Persona:
    return new_persona(identity, "member", project, "member")


@pytest.fixture(scope="module")
def mine(member, base) -> Net:
    """The Network API as the module project's member."""
    return Net(member.session, base)


@pytest.fixture(scope="module")
def admin(admin_session, base) -> Net:
    return Net(admin_session, base)


@pytest.fixture(scope="module")
def net(mine):
    """A network with subnet 10.51.0.0/29 (pool .2-.6) and one port on .5."""
    network = mine.ok("POST", "/networks", {"network": {"name": unique("enet")}})["network"]
    subnet = mine.ok("POST", "/subnets", {"subnet": {
        "network_id": network["id"], "ip_version": 4, "cidr": "10.51.0.0/29"}})["subnet"]
    port = mine.ok("POST", "/ports", {"port": {
        "network_id": network["id"], "fixed_ips": [{"ip_address": "10.51.0.5"}]}})["port"]
    return {"network": network, "subnet": subnet, "port": port}


# ---------------------------------------------------------------- 401, 404, 405

def test_no_token_is_401(base):
    r = Session().get(f"{base}/networks", raise_exc=False, authenticated=False)
    fault(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Keystone uri=")


@pytest.mark.parametrize(("path", "type_"), [
    ("/networks/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, "NetworkNotFound"),
    ("/networks/not-a-uuid", "NetworkNotFound"),
    ("/subnets/nope", "SubnetNotFound"),
    ("/ports/nope", "PortNotFound"),
    ("/routers/nope", "RouterNotFound"),
    ("/floatingips/203.0.113.250", "FloatingIPNotFound"),
    ("/security-groups/nope", "SecurityGroupNotFound"),
    ("/security-group-rules/nope", "SecurityGroupRuleNotFound"),
    ("/extensions/external-gateway-multihoming", "HTTPNotFound"),
    ("/no-such-collection", "HTTPNotFound"),
    ("/networks/x/tags/y/z", "HTTPNotFound"),
    ("/flavors/x/tags", "HTTPNotFound"),
])
def test_unknown_things_are_404(mine, path, type_):
    fault(mine.call("GET", path), 404, type_)


def test_unknown_path_outside_v2_is_404(server, mine):
    r = mine.session.get(f"{server.url}/networking/v3/networks", raise_exc=False)
    fault(r, 404, "HTTPNotFound")


def test_a_name_in_the_path_is_404_and_the_name_filter_finds_it(mine, net):
    name = net["network"]["name"]
    fault(mine.call("GET", f"/networks/{name}"), 404, "NetworkNotFound")
    assert [n["id"] for n in mine.ok("GET", f"/networks?name={name}")["networks"]] == [
        net["network"]["id"]]


def test_another_projects_network_is_404(server, base, net):
    identity = admin_identity(server, "neterr")
    other = new_persona(identity, "other", identity.new_project(), "member")
    them = Net(other.session, base)
    nid = net["network"]["id"]
    fault(them.call("GET", f"/networks/{nid}"), 404, "NetworkNotFound")
    fault(them.call("PUT", f"/networks/{nid}", {"network": {"name": "x"}}), 404)
    fault(them.call("DELETE", f"/networks/{nid}"), 404)
    fault(them.call("POST", "/ports", {"port": {"network_id": nid}}), 404, "NetworkNotFound")
    assert nid not in {n["id"] for n in them.ok("GET", "/networks")["networks"]}


def test_tag_that_is_absent_is_404(mine, net):
    fault(mine.call("GET", f"/networks/{net['network']['id']}/tags/absent"), 404)
    fault(mine.call("DELETE", f"/networks/{net['network']['id']}/tags/absent"), 404)


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/security-group-rules/x"), ("POST", "/networks/x"), ("DELETE", "/networks"),
    ("PATCH", "/ports/x"), ("POST", "/routers/x/add_router_interface")])
def test_unsupported_methods_are_405(mine, method, path):
    r = mine.call(method, path, {})
    fault(r, 405, "HTTPMethodNotAllowed")
    assert r.headers["Allow"]


# ---------------------------------------------------------------- 400

@pytest.mark.parametrize("body", [
    {}, {"network": "x"}, {"network": {"admin_state_up": "maybe"}},
    {"network": {"name": 5}}, {"network": {"shared": "yes"}}, {"network": {"mtu": "big"}},
    {"network": {"name": "x" * 256}}, {"networks": {}},
])
def test_badly_typed_network_bodies_are_400(mine, body):
    fault(mine.call("POST", "/networks", body), 400)


@pytest.mark.parametrize("data", [b"{not json", b"", b"[]", b"null", b"\xff{}"])
def test_malformed_json_is_400(mine, data):
    r = mine.call("POST", "/networks", data=data, headers={"Content-Type": "application/json"})
    fault(r, 400)


def test_tenant_id_and_project_id_must_agree(mine):
    fault(mine.call("POST", "/networks", {"network": {
        "project_id": "a" * 32, "tenant_id": "b" * 32}}), 400)


@pytest.mark.parametrize("query", ["limit=x", "limit=-1", "sort_dir=up&sort_key=name",
                                   "sort_key=a&sort_key=b&sort_dir=asc",
                                   "page_reverse=maybe"])
def test_bad_list_parameters_are_400(mine, query):
    fault(mine.call("GET", f"/networks?{query}"), 400)


@pytest.mark.parametrize("subnet", [
    {"cidr": "10.51.0.0/30"},                       # overlaps
    {"cidr": "10.52.0.0/33"},                       # not a CIDR
    {"cidr": "banana"},
    {"cidr": "10.53.0.0/24", "ip_version": 5},
    {"cidr": "10.54.0.0/24", "gateway_ip": "10.99.0.1"},   # gateway outside
    {"cidr": "10.55.0.0/24", "allocation_pools": [{"start": "10.56.0.2",
                                                   "end": "10.56.0.9"}]},
])
def test_bad_subnets_are_400(mine, net, subnet):
    body = {"subnet": {"network_id": net["network"]["id"], "ip_version": 4, **subnet}}
    err = fault(mine.call("POST", "/subnets", body), 400)
    if subnet.get("cidr") == "10.51.0.0/30":
        assert "overlaps with another subnet" in err["message"]


def test_an_address_outside_the_cidr_is_400(mine, net):
    fault(mine.call("POST", "/ports", {"port": {
        "network_id": net["network"]["id"], "fixed_ips": [{"ip_address": "10.60.0.9"}]}}), 400)


def test_floating_ip_from_a_non_external_network_is_400(mine, net):
    fault(mine.call("POST", "/floatingips", {"floatingip": {
        "floating_network_id": net["network"]["id"]}}), 400)


def test_router_interface_needs_a_subnet_or_port(mine):
    router = mine.ok("POST", "/routers", {"router": {"name": unique("er")}})["router"]
    fault(mine.call("PUT", f"/routers/{router['id']}/add_router_interface", {}), 400)
    mine.ok("DELETE", f"/routers/{router['id']}")


def test_a_tag_too_long_is_400(mine, net):
    nid = net["network"]["id"]
    fault(mine.call("PUT", f"/networks/{nid}/tags/{'t' * 61}"), 400)
    fault(mine.call("PUT", f"/networks/{nid}/tags", {"tags": ["t" * 61]}), 400)
    fault(mine.call("PUT", f"/networks/{nid}/tags", {"tags": "a"}), 400)


def test_bad_quota_values_are_400(admin, member):
    project = member.project_id
    fault(admin.call("PUT", f"/quotas/{project}", {"quota": {"network": "many"}}), 400)
    fault(admin.call("PUT", f"/quotas/{project}", {"quota": {"network": -2}}), 400)


def test_bad_security_group_rules_are_400(mine):
    group = mine.ok("POST", "/security-groups", {"security_group": {
        "name": unique("esg")}})["security_group"]
    for rule in ({"direction": "sideways"}, {"protocol": "tcp", "port_range_min": 30,
                                             "port_range_max": 20},
                 {"protocol": "tcp", "port_range_min": 70000, "port_range_max": 70000},
                 {"ethertype": "IPv5"}, {"remote_ip_prefix": "banana"}):
        fault(mine.call("POST", "/security-group-rules", {"security_group_rule": {
            "security_group_id": group["id"], "direction": "ingress", **rule}}), 400)
    mine.ok("DELETE", f"/security-groups/{group['id']}")


# ---------------------------------------------------------------- 403

def test_policy_refusals_are_403(base, mine, identity, project):
    fault(mine.call("POST", "/networks", {"network": {"name": unique("x"),
                                                      "router:external": True}}),
          403, "PolicyNotAuthorized")
    fault(mine.call("POST", "/networks", {"network": {"name": unique("x"), "shared": True}}),
          403)
    fault(mine.call("PUT", f"/quotas/{project['id']}",
                    {"quota": {"network": 1000}}), 403)
    reader = Net(new_persona(identity, "reader", project, "reader").session, base)
    fault(reader.call("POST", "/networks", {"network": {"name": unique("x")}}), 403)


# ---------------------------------------------------------------- 409

def test_an_address_in_use_is_409(mine, net):
    fault(mine.call("POST", "/ports", {"port": {
        "network_id": net["network"]["id"], "fixed_ips": [{"ip_address": "10.51.0.5"}]}}),
        409, "IpAddressInUse")


def test_a_network_with_ports_is_not_deleted(mine, net):
    fault(mine.call("DELETE", f"/networks/{net['network']['id']}"), 409, "NetworkInUse")
    assert mine.ok("GET", f"/subnets/{net['subnet']['id']}")  # nothing half-deleted


def test_a_subnet_with_ports_is_not_deleted(mine, net):
    fault(mine.call("DELETE", f"/subnets/{net['subnet']['id']}"), 409, "SubnetInUse")


def test_an_exhausted_pool_is_409(mine):
    network = mine.ok("POST", "/networks", {"network": {"name": unique("full")}})["network"]
    mine.ok("POST", "/subnets", {"subnet": {"network_id": network["id"], "ip_version": 4,
                                            "cidr": "10.57.0.0/30"}})
    port = mine.ok("POST", "/ports", {"port": {"network_id": network["id"]}})["port"]
    fault(mine.call("POST", "/ports", {"port": {"network_id": network["id"]}}), 409,
          "IpAddressGenerationFailure")
    mine.ok("DELETE", f"/ports/{port['id']}")
    mine.ok("DELETE", f"/networks/{network['id']}")


def test_over_quota_is_409(server, base, admin):
    identity = admin_identity(server, "netquota")
    project = identity.new_project()
    member = Net(new_persona(identity, "member", project, "member").session, base)
    admin.ok("PUT", f"/quotas/{project['id']}", {"quota": {"network": 1}})
    member.ok("POST", "/networks", {"network": {"name": unique("q")}})
    err = fault(member.call("POST", "/networks", {"network": {"name": unique("q")}}), 409,
                "OverQuota")
    assert "network" in err["message"]


def test_a_router_with_interfaces_is_not_deleted(mine):
    network = mine.ok("POST", "/networks", {"network": {"name": unique("rn")}})["network"]
    subnet = mine.ok("POST", "/subnets", {"subnet": {
        "network_id": network["id"], "ip_version": 4, "cidr": "10.58.0.0/24"}})["subnet"]
    router = mine.ok("POST", "/routers", {"router": {"name": unique("rr")}})["router"]
    mine.ok("PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    fault(mine.call("DELETE", f"/routers/{router['id']}"), 409, "RouterInUse")
    fault(mine.call("DELETE", f"/networks/{network['id']}"), 409)
    mine.ok("PUT", f"/routers/{router['id']}/remove_router_interface",
            {"subnet_id": subnet["id"]})
    mine.ok("DELETE", f"/routers/{router['id']}")
    mine.ok("DELETE", f"/networks/{network['id']}")


def test_duplicate_rules_and_groups_in_use_are_409(mine, net):
    group = mine.ok("POST", "/security-groups", {"security_group": {
        "name": unique("dsg")}})["security_group"]
    rule = {"security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                    "protocol": "tcp", "port_range_min": 80,
                                    "port_range_max": 80}}
    mine.ok("POST", "/security-group-rules", rule)
    fault(mine.call("POST", "/security-group-rules", rule), 409, "SecurityGroupRuleExists")
    port = mine.ok("POST", "/ports", {"port": {"network_id": net["network"]["id"],
                                               "security_groups": [group["id"]]}})["port"]
    fault(mine.call("DELETE", f"/security-groups/{group['id']}"), 409, "SecurityGroupInUse")
    mine.ok("DELETE", f"/ports/{port['id']}")
    mine.ok("DELETE", f"/security-groups/{group['id']}")


# ---------------------------------------------------------------- 412

def test_if_match_on_a_stale_revision_is_412(mine):
    network = mine.ok("POST", "/networks", {"network": {"name": unique("rev")}})["network"]
    nid, rev = network["id"], network["revision_number"]
    fault(mine.call("PUT", f"/networks/{nid}", {"network": {"description": "x"}},
                    headers={"If-Match": f"revision_number={rev + 5}"}), 412)
    mine.ok("PUT", f"/networks/{nid}", {"network": {"description": "y"}},
            headers={"If-Match": f"revision_number={rev}"})
    fault(mine.call("DELETE", f"/networks/{nid}", headers={"If-Match": f"revision_number={rev}"}),
          412)
    mine.ok("DELETE", f"/networks/{nid}")


# ---------------------------------------------------------------- discovery and .json

def test_versions_and_resources(server, demo_session):
    versions = Session().get(f"{server.url}/networking/", raise_exc=False,
                             authenticated=False).json()
    assert versions["versions"][0]["id"] == "v2.0"
    assert versions["versions"][0]["status"] == "CURRENT"
    resources = demo_session.get(f"{server.url}/networking/v2.0/").json()["resources"]
    assert {"network", "subnet", "port"} <= {r["name"] for r in resources}


def test_extensions_show_equals_the_list_item(mine):
    listed = mine.ok("GET", "/extensions")["extensions"]
    for item in listed:
        assert set(item) == {"alias", "name", "description", "updated", "links"}
        assert mine.ok("GET", f"/extensions/{item['alias']}")["extension"] == item


def test_json_suffix(mine, net):
    nid = net["network"]["id"]
    assert mine.ok("GET", "/networks.json")["networks"]
    assert mine.ok("GET", f"/networks/{nid}.json")["network"]["id"] == nid
    fault(mine.call("GET", f"/networks/{uuid.uuid4()}.json"), 404, "NetworkNotFound")


def test_fields_and_pagination(mine):
    names = [unique("pg") for _ in range(3)]
    prefix_ids = [mine.ok("POST", "/networks", {"network": {"name": n}})["network"]["id"]
                  for n in names]
    query = "&".join(f"id={i}" for i in prefix_ids)
    page = mine.ok("GET", f"/networks?{query}&fields=id&fields=name&limit=2&sort_key=name"
                          "&sort_dir=asc")
    assert [sorted(n) for n in page["networks"]] == [["id", "name"], ["id", "name"]]
    assert [n["name"] for n in page["networks"]] == sorted(names)[:2]
    [next_link] = [link for link in page["networks_links"] if link["rel"] == "next"]
    rest = mine.session.get(next_link["href"]).json()
    assert [n["name"] for n in rest["networks"]] == sorted(names)[2:]
    for nid in prefix_ids:
        mine.ok("DELETE", f"/networks/{nid}")
