"""The real `openstack` CLI against a live server: the identity workflow."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from keystoneauth1 import exceptions as ksa_exceptions
from keystoneauth1 import session as ksa_session_mod
from keystoneauth1.identity import v3

from tests.conftest import ksa_session, unique


def test_token_issue(cli, server):
    token = cli.json("admin", "token", "issue")
    assert token["id"].startswith("gAAAAA")
    assert token["project_id"]
    assert token["user_id"]
    demo = cli.json("demo", "token", "issue")
    assert demo["user_id"] != token["user_id"]


def test_project_lifecycle(cli):
    name = unique("proj")
    created = cli.json("admin", "project", "create", "--domain", "default",
                       "--description", "made by the CLI", "--property", "tier=gold", name)
    assert created["name"] == name
    assert created["tier"] == "gold"
    listed = cli.json("admin", "project", "list")
    assert name in [p["Name"] for p in listed]
    shown = cli.json("admin", "project", "show", name)
    assert shown["id"] == created["id"]
    assert shown["description"] == "made by the CLI"
    cli.run("admin", "project", "delete", name)
    missing = cli.run("admin", "project", "show", name, check=False)
    assert missing.returncode != 0
    assert "No Project found" in missing.stderr


def test_user_role_and_password_lifecycle(cli, server, admin_client):
    # The project is setup (`project create` has its own test above); the user's
    # commands and its CLI logins are what this test checks.
    project = unique("proj")
    user = unique("user")
    project_id = admin_client.identity.create_project(name=project, domain_id="default").id
    created = cli.json("admin", "user", "create", "--domain", "default", "--project", project,
                       "--password", "first-pass", user)
    assert created["name"] == user and "password" not in created

    cli.run("admin", "role", "add", "--project", project, "--user", user, "member")
    rows = cli.json("admin", "role", "assignment", "list", "--names", "--user", user,
                    "--project", project)
    assert [(r["Role"], r["User"], r["Project"]) for r in rows] == \
        [("member", f"{user}@Default", f"{project}@Default")]
    effective = cli.json("admin", "role", "assignment", "list", "--names", "--effective",
                         "--user", user, "--project", project)
    assert sorted(r["Role"] for r in effective) == ["member", "reader"]

    # The new user logs in with the CLI, through a cloud of its own.
    env = _cloud_env(server, "u", user, "first-pass", project)
    assert cli.json("u", "token", "issue", env=env)["user_id"] == created["id"]

    cli.run("admin", "user", "set", "--password", "second-pass", user)
    refused = cli.run("u", "token", "issue", env=env, check=False)
    assert refused.returncode != 0 and "401" in refused.stderr
    # the new password logs in (checked through keystoneauth: `token issue` is above)
    assert ksa_session(server, user, "second-pass", project).get_user_id() == created["id"]

    cli.run("admin", "role", "remove", "--project", project, "--user", user, "member")
    assert list(admin_client.identity.role_assignments(user_id=created["id"],
                                                       scope_project_id=project_id)) == []
    cli.run("admin", "user", "delete", user)
    admin_client.identity.delete_project(project_id)
    assert admin_client.identity.find_user(created["id"]) is None


def test_ec2_credentials(cli, identity_url, demo_session):
    created = cli.json("demo", "ec2", "credentials", "create")
    assert len(created["access"]) == 32 and len(created["secret"]) == 32
    listed = cli.json("demo", "ec2", "credentials", "list")
    assert created["access"] in [c["Access"] for c in listed]
    cli.run("demo", "ec2", "credentials", "delete", created["access"])
    # gone: read through the Identity API (`ec2 credentials list` is checked above)
    url = f"{identity_url}/users/{demo_session.get_user_id()}/credentials/OS-EC2"
    left = demo_session.get(url).json()["credentials"]
    assert created["access"] not in [c["access"] for c in left]


def test_application_credential_login(cli, server, demo_session):
    name = unique("appcred")
    cred = cli.json("demo", "application", "credential", "create", "--role", "member", name)
    assert cred["Secret"] and cred["Name"] == name
    assert [r["name"] for r in cred["Roles"]] == ["member"]
    clouds = {"clouds": {"appcred": {
        "auth_type": "v3applicationcredential",
        "auth": {"auth_url": server.auth_url, "application_credential_id": cred["ID"],
                 "application_credential_secret": cred["Secret"]},
        "region_name": "RegionOne", "identity_api_version": 3}}}
    path = server.data_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(clouds))
    token = cli.json("appcred", "token", "issue", env={"OS_CLIENT_CONFIG_FILE": str(path)})
    assert token["user_id"] == demo_session.get_user_id()
    assert token["project_id"] == demo_session.get_project_id()
    listed = cli.json("demo", "application", "credential", "list")
    assert name in [c["Name"] for c in listed]
    cli.run("demo", "application", "credential", "delete", name)
    # the deleted credential no longer logs in (keystoneauth: `token issue` is above)
    refused = v3.ApplicationCredential(auth_url=server.auth_url,
                                       application_credential_id=cred["ID"],
                                       application_credential_secret=cred["Secret"])
    with pytest.raises(ksa_exceptions.Unauthorized):
        ksa_session_mod.Session(auth=refused).get_token()


def test_demo_is_refused_what_policy_refuses(cli):
    for args in (("project", "create", unique("p")), ("user", "list"),
                 ("role", "create", unique("r")), ("user", "create", unique("u"))):
        proc = cli.run("demo", *args, check=False)
        assert proc.returncode != 0, args
        assert "403" in proc.stderr or "not authorized" in proc.stderr.lower(), proc.stderr


def test_changed_policy_file_takes_effect_without_restart(cli, server):
    policy = server.data_dir / "policy.yaml"
    assert cli.run("demo", "role", "list", check=False).returncode != 0
    try:
        policy.write_text(json.dumps({"identity:list_roles": "role:member"}))
        roles = cli.json("demo", "role", "list")
        assert {"admin", "member", "reader"} <= {r["Name"] for r in roles}
    finally:
        os.unlink(policy)
    assert cli.run("demo", "role", "list", check=False).returncode != 0


def _cloud_env(server, cloud, user, password, project) -> dict:
    path = server.data_dir / f"{cloud}-{user}-{password}.yaml"
    path.write_text(yaml.safe_dump({"clouds": {cloud: {
        "auth": {"auth_url": server.auth_url, "username": user, "password": password,
                 "project_name": project, "user_domain_name": "Default",
                 "project_domain_name": "Default"},
        "region_name": "RegionOne", "identity_api_version": 3}}}))
    return {"OS_CLIENT_CONFIG_FILE": str(path)}


@pytest.mark.parametrize("cloud", ["admin", "demo"])
def test_catalog_list(cli, cloud):
    catalog = cli.json(cloud, "catalog", "list")
    assert sorted(c["Type"] for c in catalog) == ["block-storage", "compute", "ec2",
                                                  "identity", "image", "network"]
