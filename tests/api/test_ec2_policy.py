"""Policy through EC2: a user with only the ``reader`` role in the demo project,
signing with an EC2 credential of its own, sees what the project has and changes
nothing — every mutating call answers UnauthorizedOperation (403), with DryRun
and without, and leaves no trace."""

from __future__ import annotations

import pytest
from keystoneauth1.exceptions import Forbidden

from tests.conftest import ksa_session, unique
from tests.support.ec2 import client, error, new_credential

pytestmark = pytest.mark.usefixtures("no_server_errors")
REFUSED = ("UnauthorizedOperation", 403)


@pytest.fixture(scope="module")
def reader(server, admin_session, identity_url, endpoint, demo_session):
    """boto3 for a reader of the demo project."""
    def ident(method: str, path: str, body: dict | None = None) -> dict:
        r = admin_session.request(f"{identity_url}{path}", method, json=body)
        return r.json() if r.content else {}

    project = demo_session.get_project_id()
    name, password = unique("ec2-reader"), "pw-ec2-reader"
    user = ident("POST", "/users", {"user": {"name": name, "domain_id": "default",
                                             "password": password}})["user"]
    roles = {r["name"]: r["id"] for r in ident("GET", "/roles")["roles"]}
    ident("PUT", f"/projects/{project}/users/{user['id']}/roles/{roles['reader']}")
    # A reader may not make EC2 credentials (identity:ec2_create_credential): an
    # admin makes one for it.
    cred = ident("POST", f"/users/{user['id']}/credentials/OS-EC2",
                 {"tenant_id": project})["credential"]
    with pytest.raises(Forbidden, match="ec2_create_credential"):
        new_credential(ksa_session(server, name, password, "demo"), identity_url)
    return client(endpoint, (cred["access"], cred["secret"]))


@pytest.fixture(scope="module")
def group(demo):
    """A security group of the demo project (made by a member)."""
    name = unique("ec2-policy")
    group_id = demo.ec2.create_security_group(GroupName=name, Description="d")["GroupId"]
    yield group_id
    demo.ec2.delete_security_group(GroupId=group_id)


def test_reader_sees_the_project(reader, demo, group):
    names = {g["GroupId"] for g in reader.describe_security_groups()["SecurityGroups"]}
    assert group in names
    assert reader.describe_addresses()["Addresses"] == demo.ec2.describe_addresses()[
        "Addresses"]
    assert "Reservations" in reader.describe_instances()


@pytest.mark.parametrize("dry_run", [True, False])
def test_reader_changes_nothing(reader, demo, group, dry_run):
    name = unique("by-reader")
    calls = [
        (reader.create_security_group, {"GroupName": name, "Description": "d"}),
        (reader.authorize_security_group_ingress, {
            "GroupId": group, "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22,
                                                 "ToPort": 22,
                                                 "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}]}),
        (reader.delete_security_group, {"GroupId": group}),
        (reader.allocate_address, {"Domain": "vpc"}),
    ]
    addresses = demo.ec2.describe_addresses()["Addresses"]
    for call, kwargs in calls:
        assert error(call, DryRun=dry_run, **kwargs) == REFUSED, call.__name__
    groups = demo.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert [p for p in groups[0]["IpPermissions"]
            if p.get("FromPort") == 22] == []
    assert name not in {g["GroupName"] for g in
                        demo.ec2.describe_security_groups()["SecurityGroups"]}
    assert demo.ec2.describe_addresses()["Addresses"] == addresses
