"""The compute API (everything but servers) through keystoneauth1 and
openstacksdk: discovery, microversions, and every 4xx as a Nova fault —
never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from keystoneauth1 import session as ksa_session_mod

from tests.conftest import ksa_session, unique
from tests.support.compute_hosts import add_host
from tests.support.nova import fault

pytestmark = pytest.mark.usefixtures("no_server_errors")

MV = "OpenStack-API-Version"
LEGACY = "X-OpenStack-Nova-API-Version"
ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPflNS2ZG62dK07tPVmiMJ7W9f7OvADEUnvrhxZAayyg "
           "test@nimbus")


class Api:
    """A keystoneauth session bound to the compute endpoint."""

    def __init__(self, base: str, session: ksa_session_mod.Session) -> None:
        self.base = base
        self.session = session

    def __call__(self, method: str, path: str, body: Any = None, mv: str | None = None,
                 data: bytes | None = None, headers: dict | None = None, **kw: Any):
        hdrs = dict(headers or {})
        if mv:
            hdrs[MV] = f"compute {mv}"
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        return self.session.request(f"{self.base}{path}", method, json=body, data=data,
                                    headers=hdrs, raise_exc=False, **kw)


@pytest.fixture(scope="module")
def base(server) -> str:
    return f"{server.url}/compute/v2.1"


@pytest.fixture(scope="module")
def admin(base, admin_session) -> Api:
    return Api(base, admin_session)


@pytest.fixture(scope="module")
def demo(base, demo_session) -> Api:
    return Api(base, demo_session)


@pytest.fixture(scope="module")
def anon(base) -> Api:
    return Api(base, ksa_session_mod.Session())


@pytest.fixture(scope="module")
def new_member(server, admin_session):
    """Makes a user with the member role on a new project: (Api, project id, user id)."""
    identity = f"{server.url}/identity/v3"
    member_role = admin_session.get(f"{identity}/roles?name=member").json()["roles"][0]["id"]

    def make() -> tuple[Api, str, str]:
        project = admin_session.post(f"{identity}/projects", json={"project": {
            "name": unique("cmp-proj"), "domain_id": "default"}}).json()["project"]
        name = unique("cmp-user")
        user = admin_session.post(f"{identity}/users", json={"user": {
            "name": name, "domain_id": "default", "password": "pw-cmp"}}).json()["user"]
        admin_session.put(f"{identity}/projects/{project['id']}/users/{user['id']}/roles/"
                          f"{member_role}")
        sess = ksa_session(server, name, "pw-cmp", project["name"])
        return Api(f"{server.url}/compute/v2.1", sess), project["id"], user["id"]

    return make


# ---------------------------------------------------------------- discovery

@pytest.mark.parametrize("path", ["/compute", "/compute/"])
def test_version_list_puts_v20_first(server, path):
    r = ksa_session_mod.Session().get(f"{server.url}{path}", authenticated=False)
    assert r.status_code == 200
    versions = r.json()["versions"]
    assert [v["id"] for v in versions] == ["v2.0", "v2.1"]
    assert versions[1]["version"] == "2.100" and versions[1]["min_version"] == "2.1"
    for v in versions:  # tempest: every self link leads to the same self link
        (link,) = [x for x in v["links"] if x["rel"] == "self"]
        doc = ksa_session_mod.Session().get(link["href"], authenticated=False).json()
        assert [x for x in doc["version"]["links"] if x["rel"] == "self"] == [link]


@pytest.mark.parametrize("path", ["/compute/v2.1", "/compute/v2.1/"])
def test_version_document(server, path):
    r = ksa_session_mod.Session().get(f"{server.url}{path}", authenticated=False)
    doc = r.json()["version"]
    assert doc["id"] == "v2.1" and doc["version"] == "2.100" and doc["status"] == "CURRENT"
    assert {x["rel"] for x in doc["links"]} == {"self", "describedby"}
    assert doc["media-types"][0]["type"] == "application/vnd.openstack.compute+json;version=2.1"
    assert r.headers[MV] == "compute 2.1"


@pytest.mark.parametrize("path", ["/compute/v2", "/compute/v2/"])
def test_v2_document(server, path):
    doc = ksa_session_mod.Session().get(f"{server.url}{path}", authenticated=False).json()
    assert doc["version"]["id"] == "v2.0" and doc["version"]["status"] == "DEPRECATED"


def test_keystoneauth_discovers_the_endpoint_and_max_microversion(server, demo_session):
    url = demo_session.get_endpoint(service_type="compute", interface="public")
    assert url == f"{server.url}/compute/v2.1"
    data = demo_session.get_endpoint_data(service_type="compute", interface="public")
    assert tuple(data.max_microversion) == (2, 100)
    assert tuple(data.min_microversion) == (2, 1)
    r = demo_session.get("/flavors", endpoint_filter={"service_type": "compute"},
                         microversion="2.7")
    assert r.headers[MV] == "compute 2.7"


# ---------------------------------------------------------------- microversions

def test_microversion_headers(demo):
    r = demo("GET", "/flavors")
    assert (r.headers[MV], r.headers[LEGACY]) == ("compute 2.1", "2.1")
    assert r.headers["Vary"] == f"{MV}, {LEGACY}"
    assert demo("GET", "/flavors", mv="latest").headers[MV] == "compute 2.100"
    assert demo("GET", "/flavors", headers={LEGACY: "2.5"}).headers[LEGACY] == "2.5"
    both = demo("GET", "/flavors", headers={MV: "compute 2.9", LEGACY: "2.3"})
    assert both.headers[MV] == "compute 2.9"
    other = demo("GET", "/flavors", headers={MV: "volume 3.5, compute 2.4"})
    assert other.headers[MV] == "compute 2.4"
    # on errors too
    missing = demo("GET", "/flavors/nope", mv="2.3")
    fault(missing, 404, "itemNotFound", "Flavor nope could not be found.")
    assert missing.headers[MV] == "compute 2.3"


@pytest.mark.parametrize("version", ["2.101", "2.200", "2.0", "3.1", "1.1"])
def test_unsupported_microversion_is_406(demo, version):
    r = demo("GET", "/flavors", mv=version)
    fault(r, 406, "computeFault", f"Version {version} is not supported by the API. "
                                  "Minimum is 2.1 and maximum is 2.100.")
    assert r.headers["Vary"] == f"{MV}, {LEGACY}"


@pytest.mark.parametrize("version", ["2.x", "2", "2.01", "two", "2.1.1"])
def test_malformed_microversion_is_400(demo, version):
    fault(demo("GET", "/flavors", mv=version), 400, "badRequest",
          f"API Version String {version} is of invalid format. Must be of format "
          "MajorNum.MinorNum.")


# ---------------------------------------------------------------- generic faults

def test_generic_faults(demo, anon):
    fault(anon("GET", "/flavors", authenticated=False), 401, "unauthorized")
    fault(demo("GET", "/no-such-thing"), 404, "itemNotFound")
    r = demo("PATCH", "/flavors")
    fault(r, 405, "badMethod")
    assert "GET" in r.headers["Allow"]
    for data in (b"{not json", b"[]", b'"x"', b"null", b"\xff\xfe{"):
        fault(demo("POST", "/os-keypairs", data=data), 400, "badRequest")
    fault(demo("POST", "/os-keypairs", data=b"name=x", headers={"Content-Type": "text/plain"}),
          415, "badMediaType")


def test_extensions(demo):
    aliases = {e["alias"] for e in demo("GET", "/extensions").json()["extensions"]}
    assert {"os-keypairs", "flavors", "os-hypervisors", "limits"} <= aliases
    ext = demo("GET", "/extensions/os-keypairs").json()["extension"]
    assert ext["name"] == "Keypairs" and ext["links"] == []
    fault(demo("GET", "/extensions/os-nope"), 404, "itemNotFound")


# ---------------------------------------------------------------- flavors

@pytest.fixture(scope="module")
def private_flavor(admin):
    name = unique("priv")
    r = admin("POST", "/flavors", {"flavor": {"name": name, "ram": 64, "vcpus": 1, "disk": 0,
                                              "id": name, "os-flavor-access:is_public": False}})
    assert r.status_code == 200, r.text
    yield name
    admin("DELETE", f"/flavors/{name}")


def test_flavor_listing_filters_and_paging(admin, demo):
    brief = demo("GET", "/flavors").json()["flavors"]
    assert set(brief[0]) == {"id", "name", "links"}
    ids = [f["id"] for f in brief]
    assert ids[:5] == ["1", "2", "3", "4", "5"]  # sorted by flavorid
    huge = demo("GET", "/flavors", params={"minRam": 10**30, "limit": 10**30})
    assert huge.status_code == 200 and huge.json()["flavors"] == []
    big = demo("GET", "/flavors/detail", params={"minRam": 8192, "minDisk": 80}).json()
    assert {f["id"] for f in big["flavors"]} >= {"4", "5"}
    assert all(f["ram"] >= 8192 and f["disk"] >= 80 for f in big["flavors"])
    page = demo("GET", "/flavors", params={"limit": 2}).json()
    assert [f["id"] for f in page["flavors"]] == ["1", "2"]
    (nxt,) = page["flavors_links"]
    assert nxt["rel"] == "next" and "marker=2" in nxt["href"] and "limit=2" in nxt["href"]
    page2 = demo.session.get(nxt["href"]).json()
    assert [f["id"] for f in page2["flavors"]] == ["3", "4"]
    by_ram = demo("GET", "/flavors/detail", params={"sort_key": "memory_mb",
                                                    "sort_dir": "desc"}).json()["flavors"]
    assert [f["ram"] for f in by_ram] == sorted((f["ram"] for f in by_ram), reverse=True)


@pytest.mark.parametrize(("params", "message"), [
    ({"minRam": "x"}, "Invalid minRam filter [x]"),
    ({"minDisk": "-1"}, "Invalid minDisk filter [-1]"),
    ({"marker": "nope"}, "marker [nope] not found"),
    ({"sort_key": "color"}, None),
    ({"sort_dir": "up"}, None),
    ({"limit": "x"}, None),
    ({"limit": "-1"}, None),
])
def test_flavor_listing_bad_filters(demo, params, message):
    fault(demo("GET", "/flavors", params=params), 400, "badRequest", message)


def test_flavor_is_public_filter(admin, demo, private_flavor):
    assert private_flavor not in _ids(admin("GET", "/flavors"))
    assert private_flavor in _ids(admin("GET", "/flavors", params={"is_public": "None"}))
    private_only = _ids(admin("GET", "/flavors", params={"is_public": "false"}))
    assert private_flavor in private_only and "1" not in private_only
    fault(admin("GET", "/flavors", params={"is_public": "maybe"}), 400, "badRequest",
          "Invalid is_public filter [maybe]")
    # non-admins always get public ones (and those shared with them)
    assert private_flavor not in _ids(demo("GET", "/flavors", params={"is_public": "None"}))
    assert "1" in _ids(demo("GET", "/flavors", params={"is_public": "false"}))


def _ids(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [f["id"] for f in r.json()["flavors"]]


def test_flavor_create_view_and_conflicts(admin):
    name = unique("flv")
    r = admin("POST", "/flavors", {"flavor": {"name": name, "ram": "256", "vcpus": 2,
                                              "disk": 5, "id": None, "swap": 0,
                                              "OS-FLV-EXT-DATA:ephemeral": 0,
                                              "rxtx_factor": 2.0}})
    assert r.status_code == 200, r.text
    flavor = r.json()["flavor"]
    assert len(flavor["id"]) == 36 and flavor["ram"] == 256 and flavor["swap"] == ""
    assert flavor["rxtx_factor"] == 2.0 and flavor["os-flavor-access:is_public"] is True
    assert flavor["links"][0]["href"].endswith(f"/compute/v2.1/flavors/{flavor['id']}")
    assert flavor["links"][1]["href"].endswith(f"/compute/flavors/{flavor['id']}")
    fault(admin("POST", "/flavors", {"flavor": {"name": name, "ram": 1, "vcpus": 1,
                                                "disk": 1}}),
          409, "conflictingRequest", f"Flavor with name {name} already exists.")
    fault(admin("POST", "/flavors", {"flavor": {"name": unique("x"), "ram": 1, "vcpus": 1,
                                                "disk": 1, "id": "1"}}),
          409, "conflictingRequest", "Flavor with ID 1 already exists.")
    assert admin("DELETE", f"/flavors/{flavor['id']}").status_code == 202
    fault(admin("GET", f"/flavors/{flavor['id']}"), 404, "itemNotFound")
    fault(admin("DELETE", f"/flavors/{flavor['id']}"), 404, "itemNotFound")


@pytest.mark.parametrize("spec", [
    {"ram": 1, "vcpus": 1, "disk": 1},                                   # no name
    {"name": "x", "vcpus": 1, "disk": 1},                                # no ram
    {"name": "x", "ram": 0, "vcpus": 1, "disk": 1},                      # ram < 1
    {"name": "x", "ram": "0", "vcpus": 1, "disk": 1},                    # as a string
    {"name": "x", "ram": 1, "vcpus": 0, "disk": 1},
    {"name": "x", "ram": 1, "vcpus": 1, "disk": -1},
    {"name": "x", "ram": "lots", "vcpus": 1, "disk": 1},
    {"name": "x", "ram": "9999999999", "vcpus": 1, "disk": 1},            # > 2**31 - 1
    {"name": " x", "ram": 1, "vcpus": 1, "disk": 1},                     # leading space
    {"name": "", "ram": 1, "vcpus": 1, "disk": 1},
    {"name": "x" * 256, "ram": 1, "vcpus": 1, "disk": 1},
    {"name": "x", "ram": 1, "vcpus": 1, "disk": 1, "id": "bad/id"},
    {"name": "x", "ram": 1, "vcpus": 1, "disk": 1, "rxtx_factor": 0},
    {"name": "x", "ram": 1, "vcpus": 1, "disk": 1, "color": "red"},      # unknown key
    {"name": "x", "ram": 1, "vcpus": 1, "disk": 1, "os-flavor-access:is_public": "yes"},
])
def test_flavor_create_bad_input(admin, spec):
    fault(admin("POST", "/flavors", {"flavor": spec}), 400, "badRequest")


def test_flavor_create_needs_an_admin(demo):
    fault(demo("POST", "/flavors", {"flavor": {"name": unique("x"), "ram": 1, "vcpus": 1,
                                               "disk": 1}}), 403, "forbidden")


def test_extra_specs(admin, demo, private_flavor):
    path = f"/flavors/{private_flavor}/os-extra_specs"
    r = admin("POST", path, {"extra_specs": {"hw:cpu_policy": "dedicated", "n": 2,
                                             "flag": True}})
    assert r.json() == {"extra_specs": {"hw:cpu_policy": "dedicated", "n": "2",
                                        "flag": "True"}}
    assert admin("GET", f"{path}/n").json() == {"n": "2"}
    assert admin("PUT", f"{path}/n", {"n": "3"}).json() == {"n": "3"}
    fault(admin("PUT", f"{path}/n", {"m": "3"}), 400, "badRequest",
          "Request body and URI mismatch")
    fault(admin("PUT", f"{path}/n", {"n": "3", "m": "4"}), 400, "badRequest")
    fault(admin("POST", path, {"extra_specs": {"bad/key": "1"}}), 400, "badRequest")
    fault(admin("POST", path, {"extra_specs": {"k": "v" * 256}}), 400, "badRequest")
    fault(admin("POST", path, {"specs": {}}), 400, "badRequest")
    assert admin("DELETE", f"{path}/flag").status_code == 202
    fault(admin("DELETE", f"{path}/flag"), 404, "itemNotFound",
          f"Flavor {private_flavor} has no extra specs with key flag.")
    fault(admin("GET", f"{path}/flag"), 404, "itemNotFound")
    assert admin("GET", path).json() == {"extra_specs": {"hw:cpu_policy": "dedicated",
                                                         "n": "3"}}
    # the demo project cannot see the private flavor at all
    fault(demo("GET", path), 404, "itemNotFound")
    fault(demo("POST", "/flavors/1/os-extra_specs", {"extra_specs": {"a": "b"}}), 403,
          "forbidden")
    fault(admin("GET", "/flavors/nope/os-extra_specs"), 404, "itemNotFound")


def test_flavor_access(admin, demo, private_flavor, demo_session):
    demo_project = demo_session.get_project_id()
    path = f"/flavors/{private_flavor}"
    fault(demo("GET", path), 404, "itemNotFound")
    r = admin("POST", f"{path}/action", {"addTenantAccess": {"tenant": demo_project}})
    assert r.json() == {"flavor_access": [{"flavor_id": private_flavor,
                                           "tenant_id": demo_project}]}
    assert demo("GET", path).json()["flavor"]["id"] == private_flavor
    assert private_flavor in _ids(demo("GET", "/flavors"))
    assert admin("GET", f"{path}/os-flavor-access").json()["flavor_access"][0][
        "tenant_id"] == demo_project
    fault(admin("POST", f"{path}/action", {"addTenantAccess": {"tenant": demo_project}}),
          409, "conflictingRequest")
    r = admin("POST", f"{path}/action", {"removeTenantAccess": {"tenant": demo_project}})
    assert r.json() == {"flavor_access": []}
    fault(admin("POST", f"{path}/action", {"removeTenantAccess": {"tenant": demo_project}}),
          404, "itemNotFound")
    fault(admin("POST", f"{path}/action", {"addTenantAccess": {"tenant": "no-such-project"}}),
          400, "badRequest", "Project ID no-such-project is not a valid project.")
    fault(admin("POST", f"{path}/action", {"addTenantAccess": {}}), 400, "badRequest")
    fault(admin("POST", f"{path}/action", {"grant": {"tenant": demo_project}}), 400,
          "badRequest")
    fault(admin("POST", f"{path}/action", {
        "addTenantAccess": {"tenant": demo_project},
        "removeTenantAccess": {"tenant": demo_project}}), 400, "badRequest")
    fault(admin("POST", "/flavors/nope/action", {"addTenantAccess": {"tenant": demo_project}}),
          404, "itemNotFound")
    fault(demo("POST", f"{path}/action", {"addTenantAccess": {"tenant": demo_project}}), 403,
          "forbidden")
    fault(admin("GET", "/flavors/1/os-flavor-access"), 404, "itemNotFound",
          "Access list not available for public flavors.")
    # a public flavor: refused from 2.7, accepted (and meaningless) before
    fault(admin("POST", "/flavors/1/action", {"addTenantAccess": {"tenant": demo_project}},
                mv="2.7"), 409, "conflictingRequest", "Can not add access to a public flavor.")


# ---------------------------------------------------------------- key pairs

def test_keypair_versions(demo):
    name = unique("kp")
    r = demo("POST", "/os-keypairs", {"keypair": {"name": name, "public_key": ED25519}})
    assert r.status_code == 200
    key = r.json()["keypair"]
    assert "type" not in key and key["user_id"] and len(key["fingerprint"]) == 47
    fault(demo("POST", "/os-keypairs", {"keypair": {"name": unique("kp"), "type": "ssh"}}),
          400, "badRequest")
    listed = demo("GET", "/os-keypairs", mv="2.2").json()["keypairs"]
    (mine,) = [k["keypair"] for k in listed if k["keypair"]["name"] == name]
    assert mine["type"] == "ssh" and set(mine) == {"name", "public_key", "fingerprint", "type"}
    shown = demo("GET", f"/os-keypairs/{name}").json()["keypair"]
    assert shown["id"] > 0 and shown["deleted"] is False and shown["created_at"]
    assert shown["user_id"] == key["user_id"] and "type" not in shown
    assert demo("DELETE", f"/os-keypairs/{name}").status_code == 202
    fault(demo("GET", f"/os-keypairs/{name}"), 404, "itemNotFound",
          f"Keypair {name} not found for user {key['user_id']}")

    name = unique("kp")
    r = demo("POST", "/os-keypairs", {"keypair": {"name": name, "type": "x509"}}, mv="2.2")
    assert r.status_code == 201
    key = r.json()["keypair"]
    assert key["type"] == "x509" and key["public_key"].startswith("-----BEGIN CERTIFICATE")
    assert key["private_key"].startswith("-----BEGIN") and len(key["fingerprint"]) == 59
    assert demo("DELETE", f"/os-keypairs/{name}", mv="2.2").status_code == 204
    fault(demo("DELETE", f"/os-keypairs/{name}", mv="2.2"), 404, "itemNotFound")


@pytest.mark.parametrize(("spec", "message"), [
    ({"name": "kp", "public_key": "ssh-rsa not-base64!"},
     "Keypair data is invalid: failed to generate fingerprint"),
    ({"name": "kp", "public_key": "garbage"},
     "Keypair data is invalid: failed to generate fingerprint"),
    ({"name": "kp", "public_key": "hello world"},
     "Keypair data is invalid: failed to generate fingerprint"),
    ({"name": "kp/slash", "public_key": ED25519},
     "Keypair data is invalid: Keypair name contains unsafe characters"),
    ({"name": "kp", "public_key": "x", "type": "x509"}, None),
    ({"name": "", "public_key": ED25519}, None),
    ({"name": " kp", "public_key": ED25519}, None),
    ({"name": "k" * 256, "public_key": ED25519}, None),
    ({"name": "kp", "public_key": ED25519, "type": "pgp"}, None),
    ({"public_key": ED25519}, None),
    ({"name": "kp", "color": "red"}, None),
])
def test_keypair_bad_input(demo, spec, message):
    fault(demo("POST", "/os-keypairs", {"keypair": spec}, mv="2.10"), 400, "badRequest",
          message)


def test_keypair_duplicate_and_quota(admin, new_member):
    api, project, user = new_member()
    name = unique("kp")
    assert api("POST", "/os-keypairs", {"keypair": {"name": name, "public_key": ED25519}}) \
        .status_code == 200
    fault(api("POST", "/os-keypairs", {"keypair": {"name": name, "public_key": ED25519}}),
          409, "conflictingRequest", f"Key pair '{name}' already exists.")
    assert admin("PUT", f"/os-quota-sets/{project}", {"quota_set": {"key_pairs": 1}}) \
        .status_code == 200
    fault(api("POST", "/os-keypairs", {"keypair": {"name": unique("kp")}}), 403, "forbidden",
          "Quota exceeded, too many key pairs.")


def test_keypairs_of_another_user(admin, demo, demo_session):
    demo_user = demo_session.get_user_id()
    name = unique("kp")
    r = admin("POST", "/os-keypairs", {"keypair": {"name": name, "public_key": ED25519,
                                                   "user_id": demo_user}}, mv="2.10")
    assert r.status_code == 201 and r.json()["keypair"]["user_id"] == demo_user
    assert name in [k["keypair"]["name"] for k in demo("GET", "/os-keypairs").json()["keypairs"]]
    listed = admin("GET", "/os-keypairs", mv="2.10", params={"user_id": demo_user})
    assert name in [k["keypair"]["name"] for k in listed.json()["keypairs"]]
    # below 2.10 the parameter is ignored: the admin's own key pairs
    listed = admin("GET", "/os-keypairs", mv="2.9", params={"user_id": demo_user})
    assert name not in [k["keypair"]["name"] for k in listed.json()["keypairs"]]
    admin_user = admin.session.get_user_id()
    fault(demo("GET", "/os-keypairs", mv="2.10", params={"user_id": admin_user}), 403,
          "forbidden")
    fault(demo("POST", "/os-keypairs", {"keypair": {"name": unique("kp"), "user_id": admin_user}},
               mv="2.10"), 403, "forbidden")
    fault(admin("POST", "/os-keypairs", {"keypair": {"name": unique("kp"), "user_id": "x"}},
                mv="2.9"), 400, "badRequest")
    assert admin("DELETE", f"/os-keypairs/{name}", mv="2.10",
                 params={"user_id": demo_user}).status_code == 204


# ---------------------------------------------------------------- quotas and limits

def test_quota_sets(admin, demo, new_member):
    api, project, _ = new_member()
    shown = api("GET", f"/os-quota-sets/{project}").json()["quota_set"]
    assert shown["id"] == project and shown["instances"] == 10 and shown["fixed_ips"] == -1
    detail = api("GET", f"/os-quota-sets/{project}/detail").json()["quota_set"]
    assert detail["cores"] == {"in_use": 0, "limit": 20, "reserved": 0}
    defaults = demo("GET", f"/os-quota-sets/{project}/defaults").json()["quota_set"]
    assert defaults["ram"] == 51200 and defaults["id"] == project
    r = admin("PUT", f"/os-quota-sets/{project}", {"quota_set": {
        "instances": "4", "ram": -1, "force": "True"}})
    assert r.status_code == 200
    assert r.json()["quota_set"]["instances"] == 4 and "id" not in r.json()["quota_set"]
    assert api("GET", f"/os-quota-sets/{project}").json()["quota_set"]["ram"] == -1
    assert api("GET", "/limits").json()["limits"]["absolute"]["maxTotalInstances"] == 4
    fault(api("GET", f"/os-quota-sets/{demo.session.get_project_id()}"), 403, "forbidden")
    fault(api("PUT", f"/os-quota-sets/{project}", {"quota_set": {"instances": 5}}), 403,
          "forbidden")
    assert admin("DELETE", f"/os-quota-sets/{project}").status_code == 202
    assert api("GET", f"/os-quota-sets/{project}").json()["quota_set"]["instances"] == 10


@pytest.mark.parametrize("quota_set", [
    {"instances": -2},
    {"instances": "ten"},
    {"instances": 2**31},
    {"gpus": 1},
    {"force": "maybe"},
    {"instances": None},
])
def test_quota_update_bad_input(admin, quota_set):
    fault(admin("PUT", f"/os-quota-sets/{unique('p')}", {"quota_set": quota_set}), 400,
          "badRequest")


def test_user_quotas(admin, new_member):
    api, project, user = new_member()
    r = admin("PUT", f"/os-quota-sets/{project}", {"quota_set": {"key_pairs": 2}},
              params={"user_id": user})
    assert r.json()["quota_set"]["key_pairs"] == 2
    assert admin("GET", f"/os-quota-sets/{project}", params={"user_id": user}).json()[
        "quota_set"]["key_pairs"] == 2
    assert admin("GET", f"/os-quota-sets/{project}").json()["quota_set"]["key_pairs"] == 100


def test_limits(admin, demo, new_member):
    absolute = demo("GET", "/limits", params={"reserved": "False"}).json()["limits"]["absolute"]
    # Floating IPs are EC2 addresses here, with Nova's default quota of 10.
    assert absolute["maxPersonality"] == 5 and absolute["maxTotalFloatingIps"] == 10
    assert absolute["maxServerGroupMembers"] == 10
    api, project, _ = new_member()
    admin("PUT", f"/os-quota-sets/{project}", {"quota_set": {"cores": 3}})
    other = admin("GET", "/limits", params={"tenant_id": project}).json()
    assert other["limits"]["absolute"]["maxTotalCores"] == 3
    assert demo("GET", "/limits", params={"tenant_id": demo.session.get_project_id()}) \
        .status_code == 200
    fault(demo("GET", "/limits", params={"tenant_id": project}), 403, "forbidden")


# ---------------------------------------------------------------- hosts

def test_services(admin, demo, server):
    mine = add_host(server)
    down = add_host(server, zone="az-down", up=False, node=False)
    conductor = add_host(server, binary="nova-conductor", node=False)
    services = admin("GET", "/os-services", params={"host": mine.host}).json()["services"]
    assert services == [{"id": mine.service_id, "binary": "nova-compute", "host": mine.host,
                         "zone": "nova", "status": "enabled", "state": "up",
                         "updated_at": services[0]["updated_at"], "disabled_reason": None}]
    rows = admin("GET", "/os-services", params={"binary": "nova-conductor"}).json()["services"]
    assert [(r["host"], r["zone"]) for r in rows if r["host"] == conductor.host] == \
        [(conductor.host, "internal")]
    rows = admin("GET", "/os-services", params={"host": down.host}, mv="2.11").json()
    assert rows["services"][0]["state"] == "down" and rows["services"][0]["forced_down"] is False
    body = {"host": mine.host, "binary": "nova-compute"}
    assert admin("PUT", "/os-services/disable", body).json() == {"service": {
        **body, "status": "disabled"}}
    assert admin("PUT", "/os-services/disable-log-reason",
                 {**body, "disabled_reason": "maintenance"}).json() == {"service": {
                     **body, "status": "disabled", "disabled_reason": "maintenance"}}
    row = admin("GET", "/os-services", params={"host": mine.host}).json()["services"][0]
    assert (row["status"], row["disabled_reason"]) == ("disabled", "maintenance")
    assert admin("PUT", "/os-services/enable", body).json()["service"]["status"] == "enabled"
    fault(admin("PUT", "/os-services/force-down", {**body, "forced_down": True}), 404,
          "itemNotFound", "Unknown action")
    r = admin("PUT", "/os-services/force-down", {**body, "forced_down": True}, mv="2.11")
    assert r.json() == {"service": {**body, "forced_down": True}}
    row = admin("GET", "/os-services", params={"host": mine.host}, mv="2.11").json()
    assert row["services"][0]["state"] == "down" and row["services"][0]["forced_down"] is True
    fault(admin("PUT", "/os-services/force-down", body, mv="2.11"), 400, "badRequest")
    fault(admin("PUT", "/os-services/disable-log-reason", body), 400, "badRequest")
    fault(admin("PUT", "/os-services/reboot", body), 404, "itemNotFound", "Unknown action")
    fault(admin("PUT", "/os-services/disable", {"host": mine.host}), 400, "badRequest")
    fault(admin("PUT", "/os-services/disable", {**body, "color": "red"}), 400, "badRequest")
    fault(admin("PUT", "/os-services/disable", {"host": "nohost", "binary": "nova-compute"}),
          404, "itemNotFound", "Unknown service")
    fault(demo("PUT", "/os-services/disable", body), 403, "forbidden")
    fault(demo("GET", "/os-services"), 403, "forbidden")
    fault(admin("DELETE", "/os-services/abc"), 400, "badRequest")
    fault(admin("DELETE", "/os-services/99999999999"), 404, "itemNotFound")
    assert admin("DELETE", f"/os-services/{conductor.service_id}").status_code == 204
    fault(admin("DELETE", f"/os-services/{conductor.service_id}"), 404, "itemNotFound")


def test_hypervisors(admin, demo, server):
    mine = add_host(server, vcpus=8, vcpus_used=3, memory_mb=2048, memory_mb_used=512,
                    local_gb=100, local_gb_used=40, running_vms=2)
    add_host(server, node=False)  # a service without a node is not a hypervisor
    listed = admin("GET", "/os-hypervisors").json()["hypervisors"]
    assert {"id": mine.node_id, "hypervisor_hostname": f"{mine.host}.local", "state": "up",
            "status": "enabled"} in listed
    detail = admin("GET", f"/os-hypervisors/{mine.node_id}").json()["hypervisor"]
    assert detail["vcpus"] == 8 and detail["vcpus_used"] == 3 and detail["free_ram_mb"] == 1536
    assert detail["free_disk_gb"] == 60 and detail["running_vms"] == 2
    assert detail["service"] == {"host": mine.host, "id": mine.service_id,
                                 "disabled_reason": None}
    assert isinstance(detail["cpu_info"], str)
    found = admin("GET", f"/os-hypervisors/{mine.host}/search").json()["hypervisors"]
    assert [h["id"] for h in found] == [mine.node_id]
    servers = admin("GET", f"/os-hypervisors/{mine.host}/servers").json()["hypervisors"]
    assert servers[0]["id"] == mine.node_id and "servers" not in servers[0]
    uptime = admin("GET", f"/os-hypervisors/{mine.node_id}/uptime").json()["hypervisor"]
    assert " up " in uptime["uptime"]
    # the pattern is a list filter from 2.53 (ids are UUIDs there), ignored before
    pattern = admin("GET", "/os-hypervisors/detail", mv="2.53",
                    params={"hypervisor_hostname_pattern": mine.host}).json()["hypervisors"]
    assert [h["id"] for h in pattern] == [mine.node_uuid]
    stats = admin("GET", "/os-hypervisors/statistics").json()["hypervisor_statistics"]
    assert stats["count"] >= 1 and stats["vcpus"] >= 8
    for path in ("/os-hypervisors/999999", "/os-hypervisors/abc", "/os-hypervisors/0",
                 "/os-hypervisors/99999999999", "/os-hypervisors/999999/uptime"):
        fault(admin("GET", path), 404, "itemNotFound")
    fault(admin("GET", "/os-hypervisors/no-such-host/search"), 404, "itemNotFound",
          "No hypervisor matching 'no-such-host' could be found.")
    for path in ("/os-hypervisors", "/os-hypervisors/detail", "/os-hypervisors/statistics",
                 f"/os-hypervisors/{mine.node_id}"):
        fault(demo("GET", path), 403, "forbidden")


def test_availability_zones(admin, demo, server):
    zone, closed = unique("az"), unique("az-closed")
    mine = add_host(server, zone=zone)
    disabled = add_host(server, zone=closed)
    admin("PUT", "/os-services/disable", {"host": disabled.host, "binary": "nova-compute"})
    conductor = add_host(server, binary="nova-conductor", node=False)
    zones = {z["zoneName"]: z for z in demo("GET", "/os-availability-zone").json()[
        "availabilityZoneInfo"]}
    assert zones[zone] == {"zoneName": zone, "zoneState": {"available": True}, "hosts": None}
    assert zones[closed]["zoneState"] == {"available": False}
    assert "internal" not in zones
    detail = {z["zoneName"]: z for z in admin("GET", "/os-availability-zone/detail").json()[
        "availabilityZoneInfo"]}
    entry = detail[zone]["hosts"][mine.host]["nova-compute"]
    assert entry["available"] is True and entry["active"] is True and entry["updated_at"]
    assert detail["internal"]["hosts"][conductor.host]["nova-conductor"]["active"] is True
    assert detail[closed]["hosts"][disabled.host]["nova-compute"]["active"] is False
    fault(demo("GET", "/os-availability-zone/detail"), 403, "forbidden")


# ---------------------------------------------------------------- server groups

def test_server_groups(admin, demo, new_member):
    api, project, user = new_member()
    r = api("POST", "/os-server-groups", {"server_group": {"name": "g1",
                                                           "policies": ["affinity"]}})
    assert r.status_code == 200
    group = r.json()["server_group"]
    assert group == {"id": group["id"], "name": "g1", "policies": ["affinity"], "members": [],
                     "metadata": {}}
    shown = api("GET", f"/os-server-groups/{group['id']}", mv="2.13").json()["server_group"]
    assert shown["project_id"] == project and shown["user_id"] == user
    fault(api("POST", "/os-server-groups", {"server_group": {
        "name": "g2", "policies": ["soft-affinity"]}}), 400, "badRequest")
    soft = api("POST", "/os-server-groups", {"server_group": {
        "name": "g2", "policies": ["soft-anti-affinity"]}}, mv="2.15")
    assert soft.json()["server_group"]["policies"] == ["soft-anti-affinity"]
    mine = {g["id"] for g in api("GET", "/os-server-groups").json()["server_groups"]}
    assert mine == {group["id"], soft.json()["server_group"]["id"]}
    # another project neither lists nor sees them
    assert group["id"] not in {g["id"] for g in demo("GET", "/os-server-groups").json()[
        "server_groups"]}
    fault(demo("GET", f"/os-server-groups/{group['id']}"), 404, "itemNotFound",
          f"Instance group {group['id']} could not be found.")
    fault(demo("DELETE", f"/os-server-groups/{group['id']}"), 404, "itemNotFound")
    fault(demo("GET", "/os-server-groups", params={"all_projects": "True"}), 403, "forbidden")
    everything = admin("GET", "/os-server-groups", params={"all_projects": "True"}).json()
    assert group["id"] in {g["id"] for g in everything["server_groups"]}
    page = api("GET", "/os-server-groups", params={"limit": 1, "offset": 1}).json()
    assert len(page["server_groups"]) == 1
    far = api("GET", "/os-server-groups", params={"offset": 10**20}).json()
    assert far["server_groups"] == []
    # quota: ten by default; two used
    admin("PUT", f"/os-quota-sets/{project}", {"quota_set": {"server_groups": 2}, })
    fault(api("POST", "/os-server-groups", {"server_group": {"name": "g3",
                                                             "policies": ["affinity"]}}),
          403, "forbidden", "Quota exceeded, too many server groups.")
    assert api("DELETE", f"/os-server-groups/{group['id']}").status_code == 204
    fault(api("GET", f"/os-server-groups/{group['id']}"), 404, "itemNotFound")
    assert api("POST", "/os-server-groups", {"server_group": {
        "name": "g3", "policies": ["affinity"]}}).status_code == 200  # released on delete
    used = api("GET", f"/os-quota-sets/{project}/detail").json()["quota_set"]
    assert used["server_groups"]["in_use"] == 2


@pytest.mark.parametrize("body", [
    {"server_group": {"name": "g", "policies": []}},
    {"server_group": {"name": "g", "policies": ["affinity", "anti-affinity"]}},
    {"server_group": {"name": "g", "policies": ["nearby"]}},
    {"server_group": {"name": "g"}},
    {"server_group": {"policies": ["affinity"]}},
    {"server_group": {"name": "", "policies": ["affinity"]}},
    {"server_group": {"name": "g", "policies": ["affinity"], "rules": {}}},
    {"server_group": {"name": "g", "policy": "affinity"}},
    {"group": {"name": "g", "policies": ["affinity"]}},
])
def test_server_group_bad_input(demo, body):
    fault(demo("POST", "/os-server-groups", body, mv="2.15"), 400, "badRequest")


# ---------------------------------------------------------------- openstacksdk

def test_sdk_limits_and_keypairs(demo_client):
    limits = demo_client.compute.get_limits()
    assert limits.absolute.instances == 10 and limits.absolute.server_groups == 10
    name = unique("sdk")
    key = demo_client.compute.create_keypair(name=name, public_key=ED25519)
    assert key.type == "ssh" and key.fingerprint.count(":") == 15
    assert name in [k.name for k in demo_client.compute.keypairs()]
    demo_client.compute.delete_keypair(name)
    assert name not in [k.name for k in demo_client.compute.keypairs()]


def test_sdk_server_groups_and_flavor_specs(admin_client, demo_client):
    group = demo_client.compute.create_server_group(name=unique("sdk-grp"),
                                                    policies=["anti-affinity"])
    assert demo_client.compute.get_server_group(group.id).name == group.name
    demo_client.compute.delete_server_group(group)
    flavor = admin_client.compute.create_flavor(name=unique("sdk-flv"), ram=64, vcpus=1,
                                                disk=1)
    admin_client.compute.create_flavor_extra_specs(flavor, {"a": "b"})
    assert admin_client.compute.fetch_flavor_extra_specs(flavor).extra_specs == {"a": "b"}
    admin_client.compute.delete_flavor(flavor)


# ---------------------------------------------------------------- the spec as contract
