"""core/network/quotas.py: Neutron's quota names over the shared quota
service: limits, defaults, details with what is used, updates and resets by
an admin only."""

from __future__ import annotations

import pytest

from core import errors
from tests.support.core_services import ADMIN, MEMBER, OTHER

KEYS = {"network", "subnet", "port", "router", "floatingip", "security_group",
        "security_group_rule", "subnetpool", "rbac_policy"}


def test_limits_and_defaults(core):
    quotas = core.network.quotas
    got = quotas.get(MEMBER, "p1")
    assert set(got) == KEYS
    assert got["port"] == core.settings.quota_ports
    assert got["floatingip"] == core.settings.quota_floating_ips
    assert quotas.defaults(MEMBER, "p1") == got
    with pytest.raises(errors.Forbidden):
        quotas.get(OTHER, "p1")


def test_details_count_what_is_used(core):
    net = core.network.networks.create(MEMBER, {"name": "net1"})
    core.network.subnets.create(MEMBER, {"network_id": net["id"], "cidr": "10.30.0.0/24"})
    core.network.ports.create(MEMBER, {"network_id": net["id"]})  # and the default group
    details = core.network.quotas.details(MEMBER, "p1")
    assert set(details) == KEYS
    used = {k: v["used"] for k, v in details.items()}
    assert (used["network"], used["subnet"], used["port"], used["security_group"],
            used["security_group_rule"], used["router"]) == (1, 1, 1, 1, 4, 0)
    assert details["network"] == {"limit": core.settings.quota_networks, "used": 1,
                                  "reserved": 0}


def test_update_list_and_reset_are_for_admins(core):
    quotas = core.network.quotas
    with pytest.raises(errors.Forbidden):
        quotas.update(MEMBER, "p1", {"network": 1})
    assert quotas.update(ADMIN, "p1", {"network": 1, "port": 7})["network"] == 1
    assert quotas.get(MEMBER, "p1")["port"] == 7
    listed = quotas.list(ADMIN)
    assert [(q["project_id"], q["tenant_id"], q["network"]) for q in listed] == \
        [("p1", "p1", 1)]
    with pytest.raises(errors.Forbidden):
        quotas.list(MEMBER)
    core.network.networks.create(MEMBER, {"name": "one"})
    with pytest.raises(errors.QuotaExceeded):
        core.network.networks.create(MEMBER, {"name": "two"})
    with pytest.raises(errors.Forbidden):
        quotas.reset(MEMBER, "p1")
    quotas.reset(ADMIN, "p1")
    assert quotas.get(MEMBER, "p1")["network"] == core.settings.quota_networks
    core.network.networks.create(MEMBER, {"name": "two"})


@pytest.mark.parametrize("values", [{}, {"colour": 1}, {"network": "many"},
                                    {"network": -2}, {"network": True}, "network=1"])
def test_bad_updates(core, values):
    with pytest.raises(errors.InvalidInput):
        core.network.quotas.update(ADMIN, "p1", values)
