"""core/network/networks.py: a project's networks, the shared and external
ones every project sees, what only an admin may set, updates with their
revision, and a network with ports kept (NetworkInUse)."""

from __future__ import annotations

import pytest

from core import errors
from core.network.errors import NetworkInUse, NetworkNotFound
from tests.support.core_services import ADMIN, MEMBER, OTHER, READER


def names(rows) -> list[str]:
    return sorted(r["name"] for r in rows)


def test_create_get_and_list(core):
    nets = core.network.networks
    made = nets.create(MEMBER, {"name": "net1", "description": "mine"})
    assert (made["project_id"], made["name"], made["description"], made["shared"],
            made["router:external"], made["status"], made["admin_state_up"], made["mtu"],
            made["subnets"], made["tags"], made["revision_number"]) == \
        ("p1", "net1", "mine", False, False, "ACTIVE", True, 1500, [], [], 0)
    assert made["created_at"] and made["port_security_enabled"] is True
    assert nets.get(MEMBER, made["id"]) == made
    # the project's own, the shared default network and the external one
    assert names(nets.list(MEMBER)) == ["net1", "private", "public"]
    assert names(nets.list(OTHER)) == ["private", "public"]
    assert "net1" in names(nets.list(ADMIN))
    assert core.quotas.usage("p1")["networks"] == 1


def test_another_projects_network_is_not_found(core):
    nets = core.network.networks
    made = nets.create(MEMBER, {"name": "net1"})
    for call in (lambda: nets.get(OTHER, made["id"]),
                 lambda: nets.update(OTHER, made["id"], {"name": "x"}),
                 lambda: nets.delete(OTHER, made["id"])):
        with pytest.raises(NetworkNotFound, match=f"^Network {made['id']} could not be found"):
            call()
    with pytest.raises(NetworkNotFound):  # a name is not an id: clients fall back to ?name=
        nets.get(MEMBER, "net1")


def test_only_an_admin_shares_makes_external_or_names_another_project(core):
    nets = core.network.networks
    for attrs in ({"shared": True}, {"router:external": True}, {"project_id": "p2"}):
        with pytest.raises(errors.Forbidden):
            nets.create(MEMBER, {"name": "x", **attrs})
    with pytest.raises(errors.Forbidden):
        nets.create(READER, {"name": "x"})
    theirs = nets.create(ADMIN, {"name": "theirs", "project_id": "p2"})
    assert theirs["project_id"] == "p2" and nets.get(OTHER, theirs["id"])["name"] == "theirs"
    shared = nets.create(ADMIN, {"name": "everyone", "shared": True})
    assert nets.get(OTHER, shared["id"])["shared"] is True
    with pytest.raises(errors.InvalidInput, match="do not match"):
        nets.create(ADMIN, {"project_id": "p1", "tenant_id": "p2"})


def test_update_bumps_the_revision(core):
    nets = core.network.networks
    made = nets.create(MEMBER, {"name": "net1"})
    changed = nets.update(MEMBER, made["id"], {"name": "renamed", "mtu": 1400,
                                               "admin_state_up": False})
    assert (changed["name"], changed["mtu"], changed["admin_state_up"],
            changed["revision_number"]) == ("renamed", 1400, False, 1)
    assert changed["updated_at"] >= made["updated_at"]
    with pytest.raises(errors.Forbidden):
        nets.update(MEMBER, made["id"], {"shared": True})
    assert nets.update(ADMIN, made["id"], {"shared": True})["shared"] is True


@pytest.mark.parametrize(("attrs", "param"), [
    ({"mtu": 10}, "mtu"), ({"mtu": "big"}, "mtu"), ({"shared": "maybe"}, "shared"),
    ({"name": "n" * 256}, "name"), ({"name": 5}, "name")])
def test_bad_values_are_invalid_input(core, attrs, param):
    with pytest.raises(errors.InvalidInput) as caught:
        core.network.networks.create(ADMIN, attrs)
    assert caught.value.param == param


def test_a_network_with_ports_is_kept(core):
    nets = core.network.networks
    made = nets.create(MEMBER, {"name": "net1"})
    subnet = core.network.subnets.create(MEMBER, {"network_id": made["id"],
                                                  "cidr": "10.30.0.0/24"})
    port = core.network.ports.create(MEMBER, {"network_id": made["id"]})
    with pytest.raises(NetworkInUse, match="There are one or more ports still in use"):
        nets.delete(MEMBER, made["id"])
    core.network.ports.delete(MEMBER, port["id"])
    nets.delete(MEMBER, made["id"])  # its subnets go with it
    with pytest.raises(NetworkNotFound):
        nets.get(MEMBER, made["id"])
    with pytest.raises(errors.NotFound):
        core.network.subnets.get(MEMBER, subnet["id"])
    usage = core.quotas.usage("p1")
    assert (usage["networks"], usage["subnets"], usage["ports"]) == (0, 0, 0)


def test_the_network_quota(core):
    core.quotas.set_limits("p1", {"networks": 1})
    core.network.networks.create(MEMBER, {"name": "one"})
    with pytest.raises(errors.QuotaExceeded, match="networks"):
        core.network.networks.create(MEMBER, {"name": "two"})
    assert names(core.network.networks.list(MEMBER)) == ["one", "private", "public"]
