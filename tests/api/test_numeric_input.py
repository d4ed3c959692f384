"""Numbers a client sends, through real clients (keystoneauth1 sessions, EC2
requests signed by botocore): what a store cannot hold or Python reads too
loosely is a 4xx in the API's own error format, and nothing is saved.

Each case was a 500 (issue 10, point 3): an integer of 2**64 in a project's
extra attributes was saved and then broke every listing that carried it;
``"¹".isdigit()`` is true but ``int("¹")`` raises; ``int("٥")`` is 5; SQLite
overflows on a bound past 64 bits; ``int()`` refuses more than 4,300 digits;
a timestamp of 9999-12-31T23:59:59-01:00 is in the year 10000 in UTC."""

from __future__ import annotations

from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from keystoneauth1 import session as ksa_session_mod

from tests.conftest import unique
from tests.support.ec2 import REGION, bootstrap_keys, endpoint_of
from tests.support.nova import fault

pytestmark = pytest.mark.usefixtures("no_server_errors")
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def keystone_error(r, status: int) -> str:
    assert r.status_code == status, f"{r.status_code} {r.text[:300]}"
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == status, body
    return body["error"]["message"]


def glance_error(r, status: int) -> str:
    assert r.status_code == status, f"{r.status_code} {r.text[:300]}"
    body = r.json()
    assert body["code"].startswith(str(status)) and body["message"], body
    return body["message"]


def ec2_error(r: requests.Response, status: int) -> str:
    assert r.status_code == status, f"{r.status_code} {r.text[:300]}"
    root = ElementTree.fromstring(r.content)
    assert root.tag == "Response" and root.findtext("RequestID"), r.text
    return root.findtext("Errors/Error/Code") or ""


# ---------------------------------------------------------------- identity

def _listings_answer(admin_session, demo_session, identity_url) -> None:
    for sess, path in ((admin_session, "projects"), (admin_session, "users"),
                       (demo_session, "auth/projects")):
        assert sess.get(f"{identity_url}/{path}").status_code == 200


@pytest.mark.parametrize("value", [2**64, 2**63, -(2**63) - 1, 10**30])
def test_an_integer_past_64_bits_in_extra_attributes_is_400_and_not_saved(
        admin_session, demo_session, identity_url, value):
    name = unique("big")
    for kind in ("project", "user"):
        r = admin_session.post(f"{identity_url}/{kind}s", raise_exc=False,
                               json={kind: {"name": name, "counter": value}})
        assert "64-bit" in keystone_error(r, 400)
        found = admin_session.get(f"{identity_url}/{kind}s?name={name}").json()[f"{kind}s"]
        assert found == []
    _listings_answer(admin_session, demo_session, identity_url)


def test_an_update_past_64_bits_is_400_and_changes_nothing(admin_session, demo_session,
                                                           identity_url):
    project = admin_session.post(f"{identity_url}/projects", json={"project": {
        "name": unique("upd"), "counter": 2**63 - 1}}).json()["project"]
    r = admin_session.patch(f"{identity_url}/projects/{project['id']}", raise_exc=False,
                            json={"project": {"counter": 2**64, "description": "changed"}})
    keystone_error(r, 400)
    kept = admin_session.get(f"{identity_url}/projects/{project['id']}").json()["project"]
    assert (kept["counter"], kept["description"]) == (2**63 - 1, project["description"])
    _listings_answer(admin_session, demo_session, identity_url)


@pytest.mark.parametrize("body", [
    b'{"auth": ' + b"9" * 5000 + b"}",          # int() refuses 4,300+ digits
    b"[" * 100_000 + b"]" * 100_000,             # RecursionError
    b'{"auth": NaN}', b'{"auth": 1e999}', b'{"auth": "\\udc00"}',
])
def test_json_no_store_can_keep_is_400_before_authentication(identity_url, body):
    r = ksa_session_mod.Session().post(
        f"{identity_url}/auth/tokens", data=body, raise_exc=False, authenticated=False,
        headers={"Content-Type": "application/json"})
    keystone_error(r, 400)


# ---------------------------------------------------------------- compute

@pytest.mark.parametrize("hypervisor", ["¹", "٥", "1_0", "9" * 5000, str(2**63)])
def test_hypervisor_ids_are_checked_by_policy_then_read(server, admin_session, demo_session,
                                                        hypervisor):
    base = f"{server.url}/compute/v2.1/os-hypervisors/{hypervisor}"
    for path in (base, f"{base}/uptime"):
        fault(demo_session.get(path, raise_exc=False), 403, "forbidden")
        fault(admin_session.get(path, raise_exc=False), 404, "itemNotFound")


@pytest.mark.parametrize("service", ["¹", "٥", "1_0", "-1"])
def test_service_ids_are_checked_by_policy_then_read(server, admin_session, demo_session,
                                                     service):
    url = f"{server.url}/compute/v2.1/os-services/{service}"
    fault(demo_session.delete(url, raise_exc=False), 403, "forbidden")
    fault(admin_session.delete(url, raise_exc=False), 400, "badRequest",
          "Invalid input received: id must be an integer")
    big = f"{server.url}/compute/v2.1/os-services/{'9' * 5000}"
    fault(admin_session.delete(big, raise_exc=False), 404, "itemNotFound")


@pytest.mark.parametrize("query", ["limit=٥", "limit=¹", "limit=1_0", "minRam=٥",
                                   "minDisk=²", "limit=-1"])
def test_flavor_filters_are_ascii_integers(server, demo_session, query):
    r = demo_session.get(f"{server.url}/compute/v2.1/flavors?{query}", raise_exc=False)
    fault(r, 400, "badRequest")


def test_huge_flavor_filters_mean_the_largest(server, demo_session):
    r = demo_session.get(f"{server.url}/compute/v2.1/flavors?minRam={'9' * 50}&limit={'9' * 50}")
    assert r.json()["flavors"] == []


@pytest.mark.parametrize("query", ["limit=٥", "limit=1_0", "limit=²"])
def test_server_limit_is_an_ascii_integer(server, demo_session, query):
    r = demo_session.get(f"{server.url}/compute/v2.1/servers?{query}", raise_exc=False)
    fault(r, 400, "badRequest")
    r = demo_session.get(f"{server.url}/compute/v2.1/servers?limit={'9' * 5000}")
    assert r.status_code == 200


@pytest.mark.parametrize("ram", ["٥12", "¹", "1_024", 2**40, True, 512.5])
def test_flavor_sizes_are_integers_a_column_holds(server, admin_session, ram):
    name = unique("flv")
    r = admin_session.post(f"{server.url}/compute/v2.1/flavors", raise_exc=False,
                           json={"flavor": {"name": name, "ram": ram, "vcpus": 1, "disk": 1}})
    assert r.status_code == 400, r.text
    flavors = admin_session.get(f"{server.url}/compute/v2.1/flavors").json()["flavors"]
    assert name not in {f["name"] for f in flavors}


@pytest.mark.parametrize("minor", ["9" * 20, "9" * 5000])
def test_a_microversion_of_any_length_is_not_acceptable(server, demo_session, minor):
    """It was a bare-text 500: int() refuses more than 4,300 digits."""
    for header in ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version"):
        value = f"compute 2.{minor}" if header.startswith("Open") else f"2.{minor}"
        r = demo_session.get(f"{server.url}/compute/v2.1/flavors", raise_exc=False,
                             headers={header: value})
        assert "is not supported by the API" in fault(r, 406, "computeFault")
    r = demo_session.get(f"{server.url}/compute/v2.1/flavors", raise_exc=False,
                         headers={"OpenStack-API-Version": "compute 2.²"})  # latin-1
    fault(r, 400, "badRequest")


# ---------------------------------------------------------------- image

@pytest.mark.parametrize("query", [
    "size_max=36893488147419103231", "size_min=36893488147419103231",
    f"size_min=-{2**64}", f"size_max={'9' * 5000}", "size_max=٥", "size_min=¹", "limit=٥",
])
def test_image_filters_are_integers_a_column_holds(server, demo_session, query):
    r = demo_session.get(f"{server.url}/image/v2/images?{query}", raise_exc=False)
    glance_error(r, 400)


def test_image_size_filters_at_the_column_bounds(server, demo_session):
    r = demo_session.get(f"{server.url}/image/v2/images?size_max={2**63 - 1}"
                         f"&size_min={-(2**63)}")
    assert r.status_code == 200


def test_an_image_patch_past_64_bits_is_400(server, demo_session):
    images = f"{server.url}/image/v2/images"
    image = demo_session.post(images, json={"name": unique("img"), "disk_format": "raw",
                                            "container_format": "bare"}).json()
    patch = b'[{"op": "add", "path": "/min_ram", "value": 18446744073709551616}]'
    r = demo_session.patch(f"{images}/{image['id']}", data=patch, raise_exc=False,
                           headers={"Content-Type":
                                    "application/openstack-images-v2.1-json-patch"})
    glance_error(r, 400)
    assert demo_session.get(f"{images}/{image['id']}").json()["min_ram"] == 0
    demo_session.delete(f"{images}/{image['id']}")


@pytest.mark.parametrize("field", ["min_ram", "min_disk"])
def test_image_minimums_are_what_an_integer_column_holds(server, demo_session, field):
    """INTEGER is 32 bits in PostgreSQL and MySQL: a larger value failed there."""
    images = f"{server.url}/image/v2/images"
    name = unique("img")
    r = demo_session.post(images, raise_exc=False, json={
        "name": name, "disk_format": "raw", "container_format": "bare", field: 2**31})
    glance_error(r, 400)
    assert demo_session.get(images, params={"name": name}).json()["images"] == []
    image = demo_session.post(images, json={"name": name, "disk_format": "raw",
                                            "container_format": "bare",
                                            field: 2**31 - 1}).json()
    assert image[field] == 2**31 - 1
    demo_session.delete(f"{images}/{image['id']}")


# ---------------------------------------------------------------- EC2

def _signed(server, params: dict[str, str]) -> requests.Response:
    """A DescribeInstances call with ``params`` signed by botocore's SigV4 signer."""
    body = urlencode({"Action": "DescribeInstances", "Version": "2016-11-15", **params})
    endpoint = endpoint_of(server)
    req = AWSRequest(method="POST", url=endpoint, data=body.encode(), headers=FORM)
    SigV4Auth(Credentials(*bootstrap_keys(server, "demo")), "ec2", REGION).add_auth(req)
    sent = {k: v for k, v in req.headers.items() if k.lower() != "host"}
    return requests.post(endpoint, data=body.encode(), headers=sent, timeout=30)


@pytest.mark.parametrize(("params", "code"), [
    ({"Filter.¹.Name": "instance-id", "Filter.¹.Value.1": "i-1"}, "UnknownParameter"),
    ({"InstanceId.²": "i-1"}, "UnknownParameter"),
    ({"InstanceId.٥": "i-1"}, "UnknownParameter"),
    ({"MaxResults": "٥"}, "InvalidParameterValue"),
    ({"MaxResults": "1_0"}, "InvalidParameterValue"),
    ({"MaxResults": "9" * 5000}, "InvalidParameterValue"),
])
def test_ec2_indexes_and_integers_are_ascii(server, params, code):
    assert ec2_error(_signed(server, params), 400) == code


@pytest.mark.parametrize("expires", ["¹", "٥", "1_0", "9" * 5000])
def test_a_presigned_expiry_that_is_not_ascii_digits_is_400_without_credentials(server,
                                                                                expires):
    query = urlencode({"Action": "DescribeRegions", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                       "X-Amz-Credential": "AKIDNOBODY/20240101/RegionOne/ec2/aws4_request",
                       "X-Amz-Date": "20240101T000000Z", "X-Amz-Expires": expires,
                       "X-Amz-SignedHeaders": "host", "X-Amz-Signature": "00"})
    r = requests.get(f"{endpoint_of(server)}?{query}", timeout=30)
    assert ec2_error(r, 400) == "IncompleteSignature"


# ---------------------------------------------------------------- timestamps

EDGE_TIMES = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_filters_by_a_time_utc_cannot_hold_are_400(server, demo_session, when):
    for name, value in (("created_at", f"gt:{when}"), ("updated_at", f"lte:{when}")):
        r = demo_session.get(f"{server.url}/image/v2/images", params={name: value},
                             raise_exc=False)
        glance_error(r, 400)
    r = demo_session.get(f"{server.url}/compute/v2.1/servers/detail", raise_exc=False,
                         params={"changes-since": when})
    fault(r, 400, "badRequest")


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_an_expiry_utc_cannot_hold_is_400_and_not_saved(identity_url, demo_session, when):
    me, name = demo_session.get_user_id(), unique("edge-time")
    url = f"{identity_url}/users/{me}/application_credentials"
    r = demo_session.post(url, raise_exc=False, json={"application_credential": {
        "name": name, "expires_at": when}})
    keystone_error(r, 400)
    assert demo_session.get(url, params={"name": name}).json()["application_credentials"] == []
