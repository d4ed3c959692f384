"""openstacksdk against the live server, with both bootstrap clouds."""

from __future__ import annotations

import openstack
import pytest

from tests.conftest import unique


@pytest.mark.parametrize("cloud", ["admin", "demo"])
def test_connect_with_both_clouds(server, cloud):
    # Exactly as a user would: the clouds.yaml that bootstrap wrote.
    import os

    old = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(server.clouds_yaml)
    try:
        conn = openstack.connect(cloud=cloud)
        assert conn.session.get_endpoint(service_type="identity", interface="public") \
            .startswith(server.url)
        assert conn.current_project.name == cloud
        token = conn.session.get_token()
        assert token
        assert conn.identity.get_project(conn.current_project_id).name == cloud
        conn.close()
    finally:
        if old is None:
            del os.environ["OS_CLIENT_CONFIG_FILE"]
        else:
            os.environ["OS_CLIENT_CONFIG_FILE"] = old


def test_sdk_identity_crud(admin_client):
    ident = admin_client.identity
    domain = ident.find_domain("Default")
    project = ident.create_project(name=unique("sdk"), domain_id=domain.id,
                                   description="from the sdk", tags=["a", "b"])
    assert ident.get_project(project.id).tags == ["a", "b"]
    user = ident.create_user(name=unique("sdk"), domain_id=domain.id, password="pw",
                             default_project_id=project.id)
    group = ident.create_group(name=unique("grp"), domain_id=domain.id)
    ident.add_user_to_group(user, group)
    assert ident.check_user_in_group(user, group)
    role = ident.find_role("member")
    ident.assign_project_role_to_group(project, group, role)
    assert ident.validate_group_has_project_role(project, group, role)
    effective = list(ident.role_assignments(user_id=user.id, scope_project_id=project.id,
                                            effective=True))
    assert {a.role["id"] for a in effective} >= {role.id}
    assert [p.name for p in ident.user_projects(user)] == [project.name]
    ident.unassign_project_role_from_group(project, group, role)
    ident.remove_user_from_group(user, group)
    assert not ident.check_user_in_group(user, group)
    ident.delete_group(group)
    ident.delete_user(user)
    ident.delete_project(project)
    assert ident.find_project(project.name) is None


def test_sdk_find_by_name_uses_404_then_filter(admin_client):
    name = unique("find")
    project = admin_client.identity.create_project(name=name, domain_id="default")
    assert admin_client.identity.find_project(name).id == project.id
    assert admin_client.identity.find_project(project.id).id == project.id
    admin_client.identity.delete_project(project)


def test_sdk_roles_and_implied_roles(admin_client):
    ident = admin_client.identity
    prior = ident.create_role(name=unique("prior"))
    implied = ident.create_role(name=unique("implied"))
    admin_client.identity.put(f"/roles/{prior.id}/implies/{implied.id}")
    rules = ident.get(f"/roles/{prior.id}/implies").json()["role_inference"]
    assert [r["id"] for r in rules["implies"]] == [implied.id]
    ident.delete_role(prior)
    ident.delete_role(implied)


def test_sdk_catalog_services_and_endpoints(admin_client):
    ident = admin_client.identity
    svc = ident.create_service(type=unique("svc"), name="extra")
    ep = ident.create_endpoint(service_id=svc.id, interface="public",
                               url="http://127.0.0.1:9/x", region_id="RegionOne")
    assert ident.get_endpoint(ep.id).url == "http://127.0.0.1:9/x"
    assert svc.id in {s.id for s in ident.services()}
    ident.delete_endpoint(ep)
    ident.delete_service(svc)
    assert "RegionOne" in [r.id for r in ident.regions()]


def test_sdk_demo_sees_only_what_it_may(demo_client):
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(demo_client.identity.users())
    me = demo_client.identity.get_user(demo_client.current_user_id)
    assert me.name == "demo"
    creds = demo_client.identity.get(
        f"/users/{me.id}/credentials/OS-EC2").json()["credentials"]
    assert creds and all(c["user_id"] == me.id for c in creds)
