"""Nova's ``os-security-groups`` / ``os-security-group-rules`` proxy API through
keystoneauth sessions, a server's groups (``GET /servers/{id}/os-security-groups``,
addSecurityGroup / removeSecurityGroup, also with the ``openstack`` CLI), and
groups made here seen by EC2's DescribeSecurityGroups."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from tests.support.compute_api import delete_all, wait_for

PREFIX = unique("nova-sg")


def fault(r) -> tuple[int, str]:
    body = r.json()
    (kind,) = body.values()
    return r.status_code, kind["message"]


def test_list_create_show_update_delete(demo):
    api = demo.compute
    groups = api.ok("GET", "/os-security-groups")["security_groups"]
    default = next(g for g in groups if g["name"] == "default")
    assert default["rules"] and default["rules"][0]["group"] == {
        "name": "default", "tenant_id": demo.id}
    made = api.ok("POST", "/os-security-groups", {"security_group": {
        "name": f"{PREFIX}-a", "description": "first"}})["security_group"]
    assert (made["name"], made["description"], made["tenant_id"], made["rules"]) == \
        (f"{PREFIX}-a", "first", demo.id, [])
    assert api.ok("GET", f"/os-security-groups/{made['id']}")["security_group"] == made
    updated = api.ok("PUT", f"/os-security-groups/{made['id']}", {"security_group": {
        "name": f"{PREFIX}-b", "description": "renamed"}})["security_group"]
    assert (updated["name"], updated["description"]) == (f"{PREFIX}-b", "renamed")
    ec2 = demo.ec2.describe_security_groups(GroupNames=[f"{PREFIX}-b"])["SecurityGroups"]
    assert ec2[0]["Description"] == "renamed"
    dup = api("POST", "/os-security-groups", {"security_group": {
        "name": f"{PREFIX}-b", "description": ""}})
    assert fault(dup) == (400, f"Security group {PREFIX}-b already exists")
    assert api("DELETE", f"/os-security-groups/{made['id']}").status_code == 202
    assert api("GET", f"/os-security-groups/{made['id']}").status_code == 404
    assert api("DELETE", f"/os-security-groups/{made['id']}").status_code == 404
    assert fault(api("DELETE", f"/os-security-groups/{default['id']}")) == \
        (400, "Unable to delete system group 'default'")
    assert fault(api("PUT", f"/os-security-groups/{default['id']}", {"security_group": {
        "name": "other"}})) == (400, "Unable to update system group 'default'")
    assert api("POST", "/os-security-groups", {"security_group": {"name": ""}}) \
        .status_code == 400


def test_rules(demo):
    api = demo.compute
    group = api.ok("POST", "/os-security-groups", {"security_group": {
        "name": f"{PREFIX}-rules", "description": ""}})["security_group"]
    rule = api.ok("POST", "/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22,
        "to_port": 22, "cidr": "10.1.0.0/16"}})["security_group_rule"]
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"], rule["ip_range"],
            rule["parent_group_id"]) == ("tcp", 22, 22, {"cidr": "10.1.0.0/16"}, group["id"])
    from_group = api.ok("POST", "/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "icmp", "from_port": -1,
        "to_port": -1, "group_id": group["id"]}})["security_group_rule"]
    assert from_group["group"] == {"name": f"{PREFIX}-rules", "tenant_id": demo.id}
    shown = api.ok("GET", f"/os-security-groups/{group['id']}")["security_group"]
    assert {r["id"] for r in shown["rules"]} == {rule["id"], from_group["id"]}
    base = {"parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22,
            "to_port": 22, "cidr": "10.1.0.0/16"}
    for body, status, message in (
            (base, 400, f"This rule already exists in group {group['id']}"),
            ({**base, "ip_protocol": "gre"}, 400, "Invalid IP protocol gre."),
            ({**base, "from_port": 30, "to_port": 20}, 400,
             "Invalid port range 30:20. Former value cannot be greater than the later"),
            ({**base, "from_port": 0, "to_port": 70000}, 400,
             "Invalid port range 0:70000. Valid TCP ports should be between 1-65535"),
            ({**base, "cidr": "10.1.0.0/99"}, 400, "Invalid cidr 10.1.0.0/99."),
            ({k: v for k, v in base.items() if k != "from_port"}, 400,
             "Not enough parameters to build a valid rule."),
            ({**base, "parent_group_id": "nope"}, 404, "Security group nope not found.")):
        assert fault(api("POST", "/os-security-group-rules",
                         {"security_group_rule": body})) == (status, message), body
    # an ingress rule made here is an EC2 ingress permission
    (ec2,) = demo.ec2.describe_security_groups(GroupNames=[f"{PREFIX}-rules"])[
        "SecurityGroups"]
    assert {p["IpProtocol"] for p in ec2["IpPermissions"]} == {"tcp", "icmp"}
    assert api("DELETE", f"/os-security-group-rules/{rule['id']}").status_code == 202
    assert api("DELETE", f"/os-security-group-rules/{rule['id']}").status_code == 404
    left = api.ok("GET", f"/os-security-groups/{group['id']}")["security_group"]["rules"]
    assert [r["id"] for r in left] == [from_group["id"]]


def test_another_projects_groups_are_hidden(demo, other):
    group = demo.compute.ok("POST", "/os-security-groups", {"security_group": {
        "name": f"{PREFIX}-hidden", "description": ""}})["security_group"]
    assert other.compute("GET", f"/os-security-groups/{group['id']}").status_code == 404
    assert other.compute("DELETE", f"/os-security-groups/{group['id']}").status_code == 404
    assert other.compute("POST", "/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 1,
        "to_port": 2}}).status_code == 404
    names = {g["name"] for g in other.compute.ok("GET", "/os-security-groups")[
        "security_groups"]}
    assert f"{PREFIX}-hidden" not in names and "default" in names


def test_server_groups_and_actions(demo, image, cli):
    api = demo.compute
    group = api.ok("POST", "/os-security-groups", {"security_group": {
        "name": f"{PREFIX}-srv", "description": ""}})["security_group"]
    created = api.ok("POST", "/servers", {"server": {
        "name": f"{PREFIX}-vm", "imageRef": image, "flavorRef": "1"}}, status=202)
    assert created["server"]["security_groups"] == [{"name": "default"}]
    sid = created["server"]["id"]
    try:
        wait_for(api, sid, "ACTIVE")

        def names() -> list[str]:
            return [g["name"] for g in api.ok("GET", f"/servers/{sid}/os-security-groups")[
                "security_groups"]]

        assert names() == ["default"]
        assert api("POST", f"/servers/{sid}/action",
                   {"addSecurityGroup": {"name": f"{PREFIX}-srv"}}).status_code == 202
        assert names() == ["default", f"{PREFIX}-srv"]
        shown = api.ok("GET", f"/servers/{sid}")["server"]["security_groups"]
        assert shown == [{"name": "default"}, {"name": f"{PREFIX}-srv"}]
        again = api("POST", f"/servers/{sid}/action",
                    {"addSecurityGroup": {"name": f"{PREFIX}-srv"}})
        assert again.status_code == 400
        assert fault(api("DELETE", f"/os-security-groups/{group['id']}")) == \
            (400, "Security group is still in use")
        assert api("POST", f"/servers/{sid}/action",
                   {"addSecurityGroup": {"name": "nope"}}).status_code == 404
        assert api("POST", f"/servers/{sid}/action",
                   {"removeSecurityGroup": {"name": f"{PREFIX}-srv"}}).status_code == 202
        assert names() == ["default"]
        assert api("POST", f"/servers/{sid}/action",
                   {"removeSecurityGroup": {"name": f"{PREFIX}-srv"}}).status_code == 400
        # the openstack CLI uses the same action
        cli.run("demo", "server", "add", "security", "group", sid, f"{PREFIX}-srv")
        assert names() == ["default", f"{PREFIX}-srv"]
        cli.run("demo", "server", "remove", "security", "group", sid, f"{PREFIX}-srv")
        assert names() == ["default"]
    finally:
        delete_all(api, [sid])
    assert api("DELETE", f"/os-security-groups/{group['id']}").status_code == 202


@pytest.mark.parametrize("path", ["/os-security-groups", "/servers/{sid}/os-security-groups"])
def test_unknown_ids_are_404(demo, path):
    r = demo.compute("GET", path.format(sid="00000000-0000-4000-8000-000000000000")
                     + ("/00000000-0000-4000-8000-000000000000"
                        if path == "/os-security-groups" else ""))
    assert r.status_code == 404


def test_the_proxies_are_gone_from_2_36(demo):
    """Nova answers 404 for os-security-groups and os-security-group-rules from
    2.36; a server's own groups (and add/removeSecurityGroup) stay."""
    api = demo.compute
    group = api.ok("POST", "/os-security-groups", {"security_group": {
        "name": unique("gone"), "description": "d"}}, mv="2.35")["security_group"]
    rule = {"security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "tcp",
                                    "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0"}}
    for method, path, body in (
            ("GET", "/os-security-groups", None),
            ("GET", f"/os-security-groups/{group['id']}", None),
            ("POST", "/os-security-groups", {"security_group": {"name": "x",
                                                                 "description": "d"}}),
            ("PUT", f"/os-security-groups/{group['id']}", {"security_group": {
                "name": "y", "description": "d"}}),
            ("DELETE", f"/os-security-groups/{group['id']}", None),
            ("POST", "/os-security-group-rules", rule),
            ("DELETE", "/os-security-group-rules/1", None)):
        assert fault(api(method, path, body, mv="2.36")) == (
            404, "The resource could not be found."), (method, path)
    assert api("DELETE", f"/os-security-groups/{group['id']}", mv="2.35").status_code == 202
