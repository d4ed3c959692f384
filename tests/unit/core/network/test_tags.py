"""core/network/tags.py: Neutron's tags on every resource, read with the
resource's get rule and changed with its update rule; another project's
resource is not found, a missing tag is TagNotFound."""

from __future__ import annotations

import pytest

from core import errors
from core.network.errors import NetworkNotFound, TagNotFound
from tests.support.core_services import MEMBER, OTHER, READER


def test_replace_add_check_remove_clear(core):
    net = core.network.networks.create(MEMBER, {"name": "net1"})["id"]
    tags = core.network.tags
    assert tags.replace(MEMBER, "networks", net, ["b", "a", "b"]) == ["a", "b"]
    tags.add(MEMBER, "networks", net, "c")
    tags.add(MEMBER, "networks", net, "c")  # idempotent
    assert tags.get(MEMBER, "networks", net) == ["a", "b", "c"]
    assert core.network.networks.get(MEMBER, net)["tags"] == ["a", "b", "c"]
    tags.check(MEMBER, "networks", net, "a")
    tags.remove(MEMBER, "networks", net, "a")
    with pytest.raises(TagNotFound, match="Tag a could not be found"):
        tags.check(MEMBER, "networks", net, "a")
    with pytest.raises(TagNotFound):
        tags.remove(MEMBER, "networks", net, "a")
    tags.clear(MEMBER, "networks", net)
    assert tags.get(MEMBER, "networks", net) == []


def test_every_collection(core):
    net = core.network.networks.create(MEMBER, {"name": "net1"})
    sub = core.network.subnets.create(MEMBER, {"network_id": net["id"], "cidr": "10.30.0.0/24"})
    port = core.network.ports.create(MEMBER, {"network_id": net["id"]})
    router = core.network.routers.create(MEMBER, {"name": "r1"})
    public = next(n["id"] for n in core.network.networks.list(MEMBER) if n["router:external"])
    fip = core.network.floating_ips.create(MEMBER, {"floating_network_id": public})
    group = core.security_groups.create(MEMBER, "web", "")
    for collection, rid in (("networks", net["id"]), ("subnets", sub["id"]),
                            ("ports", port["id"]), ("routers", router["id"]),
                            ("floatingips", fip["id"]), ("security-groups", group.uuid)):
        core.network.tags.add(MEMBER, collection, rid, "x")
        assert core.network.tags.get(MEMBER, collection, rid) == ["x"], collection
    assert core.network.ports.get(MEMBER, port["id"])["tags"] == ["x"]
    with pytest.raises(errors.NotFound, match="not supported"):
        core.network.tags.get(MEMBER, "flavors", "x")


def test_who_may_tag(core):
    net = core.network.networks.create(MEMBER, {"name": "net1"})["id"]
    with pytest.raises(NetworkNotFound):
        core.network.tags.add(OTHER, "networks", net, "x")
    with pytest.raises(errors.Forbidden):
        core.network.tags.add(READER, "networks", net, "x")
    core.network.tags.add(MEMBER, "networks", net, "x")
    assert core.network.tags.get(READER, "networks", net) == ["x"]


@pytest.mark.parametrize("bad", ["", "t" * 256, 5])
def test_bad_tags(core, bad):
    net = core.network.networks.create(MEMBER, {"name": "net1"})["id"]
    with pytest.raises(errors.InvalidInput):
        core.network.tags.replace(MEMBER, "networks", net, [bad])
    with pytest.raises(errors.InvalidInput):
        core.network.tags.replace(MEMBER, "networks", net, "not-a-list")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidInput, match="Too many tags"):
        core.network.tags.replace(MEMBER, "networks", net, [f"t{i}" for i in range(51)])
