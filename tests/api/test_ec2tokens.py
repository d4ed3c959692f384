"""POST /v3/ec2tokens: an EC2 request signed by botocore (as boto3 signs it)
is verified against the stored EC2 credential and turned into a token."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BODY = "Action=DescribeInstances&Version=2016-11-15"


def _signed(access, secret, host="127.0.0.1:8788", when=None):
    req = AWSRequest(method="POST", url=f"http://{host}/ec2/", data=BODY,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    signer = SigV4Auth(Credentials(access, secret), "ec2", "RegionOne")
    if when is not None:
        # botocore reads the clock when signing; pin it to sign an old request.
        import botocore.auth as ba

        real = ba.datetime.datetime

        class Frozen(real):
            @classmethod
            def utcnow(cls):
                return when.replace(tzinfo=None)

            @classmethod
            def now(cls, tz=None):
                return when if tz else when.replace(tzinfo=None)

        ba.datetime.datetime = Frozen
        try:
            signer.add_auth(req)
        finally:
            ba.datetime.datetime = real
    else:
        signer.add_auth(req)
    headers = dict(req.headers.items())
    auth = headers["Authorization"]
    return {"credentials": {
        "access": access, "signature": auth.split("Signature=")[1],
        "host": host, "verb": "POST", "path": "/ec2/", "params": {},
        "headers": headers, "body_hash": hashlib.sha256(BODY.encode()).hexdigest()}}


@pytest.fixture(scope="module")
def demo_ec2(demo_session, identity_url):
    me = demo_session.get_user_id()
    cred = demo_session.post(f"{identity_url}/users/{me}/credentials/OS-EC2",
                             json={"tenant_id": demo_session.get_project_id()}).json()
    return cred["credential"]


def test_signed_request_gets_a_token(admin_session, identity_url, demo_ec2, demo_session):
    r = admin_session.post(f"{identity_url}/ec2tokens",
                           json=_signed(demo_ec2["access"], demo_ec2["secret"]))
    assert r.status_code == 200
    token = r.json()["token"]
    assert token["user"]["id"] == demo_session.get_user_id()
    assert token["project"]["id"] == demo_session.get_project_id()
    assert "ec2credential" in token["methods"]
    assert r.headers["X-Subject-Token"]


def test_host_without_port_is_accepted(admin_session, identity_url, demo_ec2):
    body = _signed(demo_ec2["access"], demo_ec2["secret"], host="127.0.0.1")
    assert admin_session.post(f"{identity_url}/ec2tokens", json=body).status_code == 200


def test_wrong_secret_is_401(admin_session, identity_url, demo_ec2):
    r = admin_session.post(f"{identity_url}/ec2tokens", raise_exc=False,
                           json=_signed(demo_ec2["access"], "0" * 32))
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Invalid EC2 signature."


def test_unknown_access_key_is_401(admin_session, identity_url):
    r = admin_session.post(f"{identity_url}/ec2tokens", raise_exc=False,
                           json=_signed("f" * 32, "0" * 32))
    assert r.status_code == 401


def test_stale_request_is_401(admin_session, identity_url, demo_ec2):
    old = datetime.now(UTC) - timedelta(minutes=30)
    r = admin_session.post(f"{identity_url}/ec2tokens", raise_exc=False,
                           json=_signed(demo_ec2["access"], demo_ec2["secret"], when=old))
    assert r.status_code == 401


def test_missing_access_is_400(admin_session, identity_url):
    r = admin_session.post(f"{identity_url}/ec2tokens", raise_exc=False,
                           json={"credentials": {"signature": "x"}})
    assert r.status_code == 400


def test_member_may_not_call_ec2tokens(demo_session, identity_url, demo_ec2):
    r = demo_session.post(f"{identity_url}/ec2tokens", raise_exc=False,
                          json=_signed(demo_ec2["access"], demo_ec2["secret"]))
    assert r.status_code == 403


def test_bootstrap_ec2_credential_is_in_the_aws_files(server, admin_session, identity_url):
    import configparser

    creds = configparser.ConfigParser()
    creds.read(server.data_dir / "aws" / "credentials")
    config = configparser.ConfigParser()
    config.read(server.data_dir / "aws" / "config")
    assert config["profile demo"]["endpoint_url"] == f"{server.url}/ec2/"
    demo = creds["demo"]
    body = _signed(demo["aws_access_key_id"], demo["aws_secret_access_key"])
    assert admin_session.post(f"{identity_url}/ec2tokens", json=body).status_code == 200
