"""The EC2 Query API (/ec2/) through boto3 and the aws CLI, unmodified:
regions, zones, account attributes, key pairs and instance types, and every
error the protocol layer can answer — each with its EC2 code and status."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from xml.etree import ElementTree

import boto3
import botocore.auth
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.conftest import unique
from tests.support.ec2 import REGION, aws, aws_with_endpoint, client, error, new_credential

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
ED25519 = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " t@nimbus"


# ---- clients ---------------------------------------------------------------

@pytest.fixture(scope="module")
def ec2(endpoint, demo_keys):
    return client(endpoint, demo_keys)


@pytest.fixture(scope="module")
def admin_keys(admin_session, identity_url) -> tuple[str, str]:
    return new_credential(admin_session, identity_url)


@pytest.fixture(scope="module")
def admin_ec2(endpoint, admin_keys):
    return client(endpoint, admin_keys)


def signed(endpoint: str, body: str, keys: tuple[str, str], method: str = "POST",
           sign_url: str | None = None, headers: dict | None = None,
           service: str = "ec2", region: str = REGION) -> requests.Response:
    """A request signed by botocore's SigV4 signer, sent as is."""
    req = AWSRequest(method=method, url=sign_url or endpoint, data=body,
                     headers={**FORM, **(headers or {})})
    SigV4Auth(Credentials(*keys), service, region).add_auth(req)
    sent = {k: v for k, v in req.headers.items() if k.lower() != "host"}
    return requests.request(method, endpoint, data=body.encode(), headers=sent, timeout=30)


def code_of(resp: requests.Response) -> str:
    root = ElementTree.fromstring(resp.content)
    assert root.tag == "Response", resp.text
    assert root.findtext("RequestID")
    return root.findtext("Errors/Error/Code") or ""


# ---- regions, zones, account ---------------------------------------------------

def test_regions_come_from_the_catalog_with_the_ec2_endpoint(ec2, endpoint, admin_session,
                                                             identity_url):
    catalog = admin_session.get(f"{identity_url}/auth/catalog").json()["catalog"]
    (service,) = [s for s in catalog if s["type"] == "ec2"]
    assert {e["url"] for e in service["endpoints"]} == {endpoint}
    regions = ec2.describe_regions()["Regions"]
    assert regions == [{"RegionName": REGION, "Endpoint": endpoint,
                        "OptInStatus": "opt-in-not-required"}]
    assert ec2.describe_regions(RegionNames=[REGION])["Regions"] == regions
    assert ec2.describe_regions(Filters=[{"Name": "region-name", "Values": ["Region*"]}]
                                )["Regions"] == regions
    assert ec2.describe_regions(Filters=[{"Name": "region-name", "Values": ["us-*"]}]
                                )["Regions"] == []
    assert error(ec2.describe_regions, RegionNames=["mars-1"]) == ("InvalidParameterValue", 400)


def test_availability_zones_are_the_compute_zones(ec2, server, demo_session):
    nova = demo_session.get(f"{server.url}/compute/v2.1/os-availability-zone").json()
    names = sorted(z["zoneName"] for z in nova["availabilityZoneInfo"])
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert sorted(z["ZoneName"] for z in zones) == names
    # Other tests on this server register hosts of their own in other zones, some
    # down: the simulated hosts' zone is the one known to be available.
    zone = next(z for z in zones if z["ZoneName"] == "nova")
    assert zone["State"] == "available" and zone["RegionName"] == REGION
    assert zone["ZoneType"] == "availability-zone"
    assert ec2.describe_availability_zones(ZoneNames=[zone["ZoneName"]])[
        "AvailabilityZones"] == [zone]
    assert ec2.describe_availability_zones(ZoneIds=[zone["ZoneId"]])[
        "AvailabilityZones"] == [zone]
    assert ec2.describe_availability_zones(
        Filters=[{"Name": "state", "Values": ["impaired"]}])["AvailabilityZones"] == []
    assert error(ec2.describe_availability_zones, ZoneNames=["atlantis"]) == \
        ("InvalidParameterValue", 400)


def test_account_attributes(ec2):
    attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
             for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert attrs["supported-platforms"] == ["VPC"]
    (vpc,) = ec2.describe_vpcs()["Vpcs"]
    assert vpc["IsDefault"] and attrs["default-vpc"] == [vpc["VpcId"]]
    assert attrs["max-instances"][0].lstrip("-").isdigit()
    only = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [a["AttributeName"] for a in only] == ["default-vpc"]


# ---- key pairs -------------------------------------------------------------------

def test_key_pair_lifecycle(ec2, server, demo_session):
    name = unique("ec2k")
    created = ec2.create_key_pair(KeyName=name)
    key_id = created["KeyPairId"]
    assert key_id.startswith("key-") and len(key_id) == 21
    private = serialization.load_pem_private_key(created["KeyMaterial"].encode(), None)
    ec2.get_waiter("key_pair_exists").wait(KeyNames=[name],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    # The same key pair through Nova, with the same fingerprint and public key.
    nova = demo_session.get(f"{server.url}/compute/v2.1/os-keypairs/{name}").json()["keypair"]
    assert nova["fingerprint"] == created["KeyFingerprint"]
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
    assert nova["public_key"].startswith(public)

    (listed,) = ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]
    assert listed["KeyPairId"] == key_id and listed["KeyType"] == "rsa"
    assert listed["KeyFingerprint"] == created["KeyFingerprint"]
    assert "PublicKey" not in listed and listed["CreateTime"].tzinfo is not None
    by_id = ec2.describe_key_pairs(KeyPairIds=[key_id.upper().replace("KEY-", "key-")],
                                   IncludePublicKey=True)["KeyPairs"]
    assert [k["KeyName"] for k in by_id] == [name]
    assert by_id[0]["PublicKey"] == nova["public_key"]
    wild = ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [name[:6] + "*"]},
                                           {"Name": "key-type", "Values": ["rsa"]}])
    assert name in [k["KeyName"] for k in wild["KeyPairs"]]

    assert error(ec2.create_key_pair, KeyName=name) == ("InvalidKeyPair.Duplicate", 400)
    assert ec2.delete_key_pair(KeyPairId=key_id)["Return"] is True
    assert error(ec2.describe_key_pairs, KeyNames=[name]) == ("InvalidKeyPair.NotFound", 400)
    assert error(ec2.describe_key_pairs, KeyPairIds=[key_id]) == \
        ("InvalidKeyPair.NotFound", 400)
    assert error(ec2.delete_key_pair, KeyPairId=key_id) == ("InvalidKeyPair.NotFound", 400)
    # By name, deleting is idempotent (as in AWS).
    assert ec2.delete_key_pair(KeyName=name)["Return"] is True


def test_import_key_pair_openssh_and_rfc4716(ec2):
    name = unique("ec2i")
    imported = ec2.import_key_pair(KeyName=name, PublicKeyMaterial=ED25519.encode())
    (listed,) = ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]
    assert listed["KeyType"] == "ed25519"
    assert listed["KeyFingerprint"] == imported["KeyFingerprint"]
    assert listed["KeyPairId"] == imported["KeyPairId"]
    ec2.delete_key_pair(KeyName=name)

    blob = ED25519.split()[1]
    rfc4716 = ("---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"a long \\\n comment\"\n"
               + "\n".join(blob[i:i + 70] for i in range(0, len(blob), 70))
               + "\n---- END SSH2 PUBLIC KEY ----\n")
    again = ec2.import_key_pair(KeyName=name, PublicKeyMaterial=rfc4716.encode())
    assert again["KeyFingerprint"] == imported["KeyFingerprint"]
    assert again["KeyPairId"] != imported["KeyPairId"]  # a new key pair, a new ID
    ec2.delete_key_pair(KeyName=name)
    for junk in (b"ssh-rsa not-base64", b"\xff\xfe", b"---- BEGIN SSH2 PUBLIC KEY ----\n!!"):
        assert error(ec2.import_key_pair, KeyName=name, PublicKeyMaterial=junk) == \
            ("InvalidKey.Format", 400)


def test_key_pairs_made_through_nova_have_stable_ids(ec2, server, demo_session):
    name = unique("novak")
    url = f"{server.url}/compute/v2.1/os-keypairs"
    demo_session.post(url, json={"keypair": {"name": name}})
    (first,) = ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]
    (second,) = ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]
    assert first["KeyPairId"] == second["KeyPairId"]
    ec2.delete_key_pair(KeyPairId=first["KeyPairId"])
    assert demo_session.get(f"{url}/{name}", raise_exc=False).status_code == 404


def test_another_projects_key_pair_is_not_found(ec2, admin_ec2):
    name = unique("admk")
    theirs = admin_ec2.create_key_pair(KeyName=name)["KeyPairId"]
    try:
        assert error(ec2.describe_key_pairs, KeyNames=[name]) == \
            ("InvalidKeyPair.NotFound", 400)
        assert error(ec2.describe_key_pairs, KeyPairIds=[theirs]) == \
            ("InvalidKeyPair.NotFound", 400)
        assert error(ec2.delete_key_pair, KeyPairId=theirs) == ("InvalidKeyPair.NotFound", 400)
        assert name not in [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
        assert [k["KeyPairId"] for k in admin_ec2.describe_key_pairs(KeyNames=[name])[
            "KeyPairs"]] == [theirs]
    finally:
        admin_ec2.delete_key_pair(KeyName=name)


def test_key_pair_parameter_errors(ec2):
    assert error(ec2.describe_key_pairs, KeyPairIds=["key-xyz"]) == \
        ("InvalidParameterValue", 400)
    assert error(ec2.create_key_pair, KeyName="bad/name") == ("InvalidParameterValue", 400)
    assert error(ec2.create_key_pair, KeyName=unique("k"), KeyType="ed25519") == \
        ("InvalidParameterValue", 400)
    assert error(ec2.delete_key_pair) == ("MissingParameter", 400)
    assert error(ec2.describe_key_pairs, Filters=[{"Name": "color", "Values": ["red"]}]) == \
        ("InvalidParameterValue", 400)


# ---- instance types -------------------------------------------------------------

def test_instance_types_are_the_flavors(ec2, server, demo_session):
    flavors = demo_session.get(f"{server.url}/compute/v2.1/flavors/detail").json()["flavors"]
    by_name = {f["name"]: f for f in flavors}
    pages = ec2.get_paginator("describe_instance_types").paginate(
        PaginationConfig={"PageSize": 5})
    types = [t for p in pages for t in p["InstanceTypes"]]
    assert sorted(t["InstanceType"] for t in types) == sorted(by_name)
    assert len({t["InstanceType"] for t in types}) == len(types)
    (micro,) = ec2.describe_instance_types(InstanceTypes=["t3.micro"])["InstanceTypes"]
    flavor = by_name["t3.micro"]
    assert micro["VCpuInfo"]["DefaultVCpus"] == flavor["vcpus"]
    assert micro["MemoryInfo"]["SizeInMiB"] == flavor["ram"]
    assert micro["InstanceStorageInfo"]["TotalSizeInGB"] == flavor["disk"]
    assert micro["BurstablePerformanceSupported"] is True


@pytest.mark.parametrize(("filters", "check"), [
    ([{"Name": "instance-type", "Values": ["t3.*"]}],
     lambda t: t["InstanceType"].startswith("t3.")),
    ([{"Name": "vcpu-info.default-vcpus", "Values": ["2"]}],
     lambda t: t["VCpuInfo"]["DefaultVCpus"] == 2),
    ([{"Name": "memory-info.size-in-mib", "Values": ["1024", "2048"]}],
     lambda t: t["MemoryInfo"]["SizeInMiB"] in (1024, 2048)),
])
def test_instance_type_filters(ec2, filters, check):
    types = ec2.describe_instance_types(Filters=filters)["InstanceTypes"]
    assert types and all(check(t) for t in types)


def test_instance_type_errors(ec2, endpoint, demo_keys):
    assert error(ec2.describe_instance_types, InstanceTypes=["z9.huge"]) == \
        ("InvalidInstanceType", 400)
    assert error(ec2.describe_instance_types, MaxResults=5, NextToken="garbage") == \
        ("InvalidPaginationToken", 400)
    unchecked = client(endpoint, demo_keys, parameter_validation=False)
    for bad in (4, 101):
        assert error(unchecked.describe_instance_types, MaxResults=bad) == \
            ("InvalidParameterValue", 400)


# ---- the aws CLI ---------------------------------------------------------------

def test_aws_cli(server):
    name = unique("cli")
    key_id = json.loads(aws(server, "ec2", "create-key-pair", "--key-name", name,
                            "--query", "KeyPairId").stdout)
    aws(server, "ec2", "wait", "key-pair-exists", "--key-names", name)
    listed = aws(server, "ec2", "describe-key-pairs", "--filters",
                 f"Name=key-name,Values={name}", "--query", "KeyPairs[].[KeyName,KeyPairId]",
                 "--output", "text").stdout.split()
    assert listed == [name, key_id]
    types = json.loads(aws(server, "ec2", "describe-instance-types", "--instance-types",
                           "t3.micro", "m1.small",
                           "--query", "InstanceTypes[].InstanceType").stdout)
    assert sorted(types) == ["m1.small", "t3.micro"]
    aws(server, "ec2", "delete-key-pair", "--key-pair-id", key_id)
    gone = aws(server, "ec2", "describe-key-pairs", "--key-names", name, check=False)
    assert gone.returncode != 0 and "InvalidKeyPair.NotFound" in gone.stderr


# ---- authentication -------------------------------------------------------------

def test_wrong_secret_is_signature_does_not_match(endpoint, demo_keys):
    wrong = client(endpoint, (demo_keys[0], "0" * 32))
    assert error(wrong.describe_regions) == ("SignatureDoesNotMatch", 403)


def test_unknown_access_key_is_auth_failure(endpoint):
    stranger = client(endpoint, ("AKIAEXAMPLEEXAMPLE00", "secret"))
    assert error(stranger.describe_regions) == ("AuthFailure", 401)


def test_stale_date_is_request_expired(ec2, monkeypatch):
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: past)
    assert error(ec2.describe_regions) == ("RequestExpired", 400)


def test_no_signature_is_missing_authentication_token(endpoint):
    resp = requests.post(endpoint, data="Action=DescribeRegions&Version=2016-11-15",
                         headers=FORM, timeout=30)
    assert (resp.status_code, code_of(resp)) == (401, "MissingAuthenticationToken")
    resp = requests.get(endpoint, timeout=30)
    assert (resp.status_code, code_of(resp)) == (401, "MissingAuthenticationToken")
    for content_type in ("application/json", "text/plain", "multipart/form-data; boundary=x"):
        resp = requests.post(endpoint, data="{}", headers={"Content-Type": content_type},
                             timeout=30)
        assert (resp.status_code, code_of(resp)) == (401, "MissingAuthenticationToken")


def test_a_body_that_is_not_a_form_is_not_read(endpoint, demo_keys):
    resp = signed(endpoint, "Action=DescribeRegions", demo_keys,
                  headers={"Content-Type": "text/plain"})
    assert (resp.status_code, code_of(resp)) == (400, "MissingAction")


@pytest.mark.parametrize("header", [
    "AWS4-HMAC-SHA256 garbage",
    "AWS4-HMAC-SHA256 Credential=abc, SignedHeaders=host, Signature=00",
    "Bearer token",
    "",
])
def test_malformed_authorization_is_incomplete_signature(endpoint, header):
    resp = requests.post(endpoint, data="Action=DescribeRegions", timeout=30,
                         headers={**FORM, "Authorization": header,
                                  "X-Amz-Date": "20240101T000000Z"})
    assert (resp.status_code, code_of(resp)) == (400, "IncompleteSignature")


def test_host_signed_with_or_without_its_port(endpoint, demo_keys, server):
    body = "Action=DescribeRegions&Version=2016-11-15"
    assert signed(endpoint, body, demo_keys).status_code == 200
    without_port = endpoint.replace(f":{server.port}", "")
    assert signed(endpoint, body, demo_keys, sign_url=without_port).status_code == 200


def test_credential_scoped_to_another_service_is_refused(endpoint, demo_keys):
    """A valid signature for S3 (or any other service) is no signature for EC2."""
    body = "Action=DescribeRegions&Version=2016-11-15"
    resp = signed(endpoint, body, demo_keys, service="s3")
    assert (resp.status_code, code_of(resp)) == (403, "SignatureDoesNotMatch")
    assert b"scoped to correct service: 'ec2'" in resp.content


@pytest.mark.parametrize("region", ["us-east-1", REGION.lower(), REGION.upper()])
def test_credential_scoped_to_another_region_is_refused(server, endpoint, demo_keys, region):
    """A signature scoped to a region other than this cloud's (exactly: region
    names are case-sensitive) is refused as AWS's EC2 refuses it, AuthFailure
    (401), header-signed or presigned; the words name the region to use."""
    wrong = boto3.client("ec2", endpoint_url=endpoint, region_name=region,
                         aws_access_key_id=demo_keys[0], aws_secret_access_key=demo_keys[1],
                         config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    with pytest.raises(ClientError) as info:
        wrong.describe_regions()
    answer = info.value.response
    assert (answer["Error"]["Code"], answer["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("AuthFailure", 401)
    assert f"not '{region}'" in answer["Error"]["Message"]
    assert f"region is '{REGION}'" in answer["Error"]["Message"]
    resp = requests.get(wrong.generate_presigned_url("describe_regions", ExpiresIn=60,
                                                     HttpMethod="GET"), timeout=30)
    assert (resp.status_code, code_of(resp)) == (401, "AuthFailure")
    proc = aws_with_endpoint(server, endpoint, "describe-regions", "--region", region)
    assert proc.returncode != 0 and "AuthFailure" in proc.stderr
    assert aws_with_endpoint(server, endpoint, "describe-regions").returncode == 0


def test_endpoint_without_trailing_slash(server, demo_keys):
    bare = client(f"{server.url}/ec2", demo_keys)
    assert bare.describe_regions()["Regions"][0]["RegionName"] == REGION


def test_presigned_urls(ec2):
    url = ec2.generate_presigned_url("describe_regions", ExpiresIn=60)
    resp = requests.post(url, timeout=30)  # signed as the model's method, POST
    assert resp.status_code == 200 and b"<regionName>RegionOne</regionName>" in resp.content
    url = ec2.generate_presigned_url("describe_regions", ExpiresIn=60, HttpMethod="GET")
    assert requests.get(url, timeout=30).status_code == 200
    forged = requests.get(url.replace("DescribeRegions", "DescribeAvailabilityZones"),
                          timeout=30)
    assert (forged.status_code, code_of(forged)) == (403, "SignatureDoesNotMatch")


def presigned_at(ec2, monkeypatch, ago: datetime.timedelta, expires: int) -> requests.Response:
    """GET of a DescribeRegions URL boto3 presigned ``ago`` for ``expires`` seconds."""
    when = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - ago
    with monkeypatch.context() as m:
        m.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: when)
        url = ec2.generate_presigned_url("describe_regions", ExpiresIn=expires,
                                         HttpMethod="GET")
    return requests.get(url, timeout=30)


def test_presigned_urls_live_as_long_as_they_say(ec2, monkeypatch):
    """X-Amz-Expires is honoured up to seven days, as AWS does, not cut to the
    15 minutes a header-signed request has; past its end the URL is expired,
    and a longer one is refused outright."""
    hour, day = datetime.timedelta(hours=1), datetime.timedelta(days=1)
    assert presigned_at(ec2, monkeypatch, 0.75 * hour, 3600).status_code == 200
    assert presigned_at(ec2, monkeypatch, 6.9 * day, 604800).status_code == 200
    late = presigned_at(ec2, monkeypatch, 1.1 * hour, 3600)
    assert (late.status_code, code_of(late)) == (400, "RequestExpired")
    early = presigned_at(ec2, monkeypatch, -hour, 3600)  # a clock an hour fast
    assert (early.status_code, code_of(early)) == (400, "RequestExpired")
    too_long = presigned_at(ec2, monkeypatch, datetime.timedelta(0), 604801)
    assert (too_long.status_code, code_of(too_long)) == (400, "IncompleteSignature")
    assert b"604800" in too_long.content


def test_policy_applies_to_the_credentials_user(ec2, admin_ec2):
    """Key pairs are per user: the same name in two accounts is two key pairs."""
    name = unique("both")
    mine = ec2.create_key_pair(KeyName=name)["KeyPairId"]
    theirs = admin_ec2.create_key_pair(KeyName=name)["KeyPairId"]
    assert mine != theirs
    ec2.delete_key_pair(KeyName=name)
    admin_ec2.delete_key_pair(KeyName=name)


# ---- the protocol, end to end ------------------------------------------------------

def test_answers_are_ec2_xml(endpoint, demo_keys):
    resp = signed(endpoint, "Action=DescribeRegions&Version=2014-10-01", demo_keys)
    assert resp.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(resp.content)
    assert root.tag == "{http://ec2.amazonaws.com/doc/2014-10-01/}DescribeRegionsResponse"
    request_id = root.findtext("{http://ec2.amazonaws.com/doc/2014-10-01/}requestId")
    assert resp.headers["x-openstack-request-id"] == f"req-{request_id}"


@pytest.mark.parametrize(("body", "code"), [
    ("Action=DescribeUnicorns&Version=2016-11-15", "InvalidAction"),
    ("Version=2016-11-15", "MissingAction"),
    ("Action=DescribeRegions&Version=2016-11-15&Colour=red", "UnknownParameter"),
    ("Action=DescribeKeyPairs&Version=2016-11-15&DryRun=maybe", "InvalidParameterValue"),
    ("Action=CreateKeyPair&Version=2016-11-15", "MissingParameter"),
    ("Action=CreateVpnGateway&Version=2016-11-15&Type=ipsec.1",
     "UnsupportedOperation"),
])
def test_bad_calls(endpoint, demo_keys, body, code):
    resp = signed(endpoint, body, demo_keys)
    assert (resp.status_code, code_of(resp)) == (400, code)


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("POST", "/ec2/servers", 404, "InvalidURI"),
    ("GET", "/ec2/v2/", 404, "InvalidURI"),
    ("PUT", "/ec2/", 405, "MethodNotAllowed"),
    ("DELETE", "/ec2", 405, "MethodNotAllowed"),
])
def test_other_paths_and_methods_answer_ec2_errors(server, demo_keys, method, path, status,
                                                   code):
    """Under /ec2 only the endpoint itself serves, and only GET and POST: anything else is
    an EC2 error document too, as boto3 or the aws CLI would read it."""
    body = "Action=DescribeRegions&Version=2016-11-15"
    resp = signed(f"{server.url}{path}", body, demo_keys, method=method)
    assert (resp.status_code, code_of(resp)) == (status, code)
    assert resp.headers["content-type"].startswith("text/xml")
    bare = client(f"{server.url}/ec2/elsewhere", demo_keys)
    assert error(bare.describe_regions) == ("InvalidURI", 404)


def test_fifty_kilobytes_of_junk_is_a_400(endpoint, demo_keys):
    junk = "&".join(f"J{i}.x{'y' * 40}=" + "z" * 40 for i in range(600))
    assert len(junk) > 50_000
    resp = signed(endpoint, f"Action=DescribeKeyPairs&Version=2016-11-15&{junk}", demo_keys)
    assert (resp.status_code, code_of(resp)) == (400, "UnknownParameter")


def test_more_fields_than_a_form_parser_allows(endpoint, demo_keys):
    names = "&".join(f"KeyName.{i}=k{i}" for i in range(1, 1501))
    resp = signed(endpoint, f"Action=DescribeKeyPairs&Version=2016-11-15&{names}", demo_keys)
    assert (resp.status_code, code_of(resp)) == (400, "InvalidKeyPair.NotFound")


def test_an_oversized_body_is_413(endpoint):
    resp = requests.post(endpoint, data=b"Action=DescribeRegions&x=" + b"a" * (1 << 20),
                         headers=FORM, timeout=30)
    assert (resp.status_code, code_of(resp)) == (413, "RequestEntityTooLarge")


# ---- DryRun ----------------------------------------------------------------------

def test_dry_run_allowed_does_nothing(ec2):
    name = unique("dry")
    assert error(ec2.create_key_pair, KeyName=name, DryRun=True) == ("DryRunOperation", 412)
    assert error(ec2.describe_key_pairs, KeyNames=[name]) == ("InvalidKeyPair.NotFound", 400)
    assert error(ec2.describe_key_pairs, DryRun=True) == ("DryRunOperation", 412)


def test_dry_run_refused_by_policy_does_nothing(ec2, server):
    name = unique("dry")
    policy: Path = server.data_dir / "policy.yaml"
    policy.write_text(json.dumps({"os_compute_api:os-keypairs:create": "role:admin"}))
    try:
        assert error(ec2.create_key_pair, KeyName=name, DryRun=True) == \
            ("UnauthorizedOperation", 403)
        assert error(ec2.create_key_pair, KeyName=name) == ("UnauthorizedOperation", 403)
        assert error(ec2.import_key_pair, KeyName=name, DryRun=True,
                     PublicKeyMaterial=ED25519.encode()) == ("UnauthorizedOperation", 403)
    finally:
        policy.unlink()
    assert error(ec2.describe_key_pairs, KeyNames=[name]) == ("InvalidKeyPair.NotFound", 400)
