"""core/compute/hosts.py: services (up, zone, enable/disable, force down,
delete), hypervisors and availability zones, over compute services and nodes
registered straight into the database."""

from __future__ import annotations

import datetime

import pytest
from sqlalchemy import delete

from core import errors
from core.compute.hosts import HostService, service_is_up
from core.compute.models import ComputeService
from core.services import CoreServices
from tests.support.core_services import ADMIN, MEMBER, add_compute_host, add_instance


@pytest.fixture
def hosts(core: CoreServices) -> HostService:
    return core.hosts


# ---------------------------------------------------------------- services

def test_list_services_with_state_and_zone(core, hosts):
    add_compute_host(core.db, "c1", zone="az1")
    add_compute_host(core.db, "c2", up=False)
    add_compute_host(core.db, "ctl", binary="nova-conductor", node=False)
    views = {v.service.host: v for v in hosts.list_services(ADMIN)}
    assert {h: (v.up, v.zone) for h, v in views.items()} == {
        "c1": (True, "az1"), "c2": (False, "nova"), "ctl": (True, "internal")}
    assert [v.service.host for v in hosts.list_services(ADMIN, binary="nova-compute")] == \
        ["c1", "c2"]
    assert [v.service.host for v in hosts.list_services(ADMIN, host="c2")] == ["c2"]
    with pytest.raises(errors.Forbidden):
        hosts.list_services(MEMBER)


def test_disable_enable_and_force_down(core, hosts):
    add_compute_host(core.db, "c1")
    view = hosts.update_service(ADMIN, "c1", "nova-compute", disabled=True,
                                disabled_reason="maintenance")
    assert (view.service.disabled, view.service.disabled_reason, view.up) == \
        (True, "maintenance", True)
    view = hosts.update_service(ADMIN, "c1", "nova-compute", disabled=False,
                                disabled_reason="ignored")
    assert (view.service.disabled, view.service.disabled_reason) == (False, None)
    assert hosts.update_service(ADMIN, "c1", "nova-compute", forced_down=True).up is False
    with pytest.raises(errors.NotFound, match="^Unknown service$"):
        hosts.update_service(ADMIN, "c1", "nova-conductor", disabled=True)
    with pytest.raises(errors.Forbidden):
        hosts.update_service(MEMBER, "c1", "nova-compute", disabled=True)


def test_delete_a_service_and_its_node(core, hosts):
    service_id, node_id = add_compute_host(core.db, "c1")
    hosts.delete_service(ADMIN, service_id)
    assert hosts.list_services(ADMIN) == []
    with pytest.raises(errors.NotFound, match=f"^Hypervisor with ID '{node_id}' could not "):
        hosts.get_node(ADMIN, node_id)
    for missing in (service_id, 0, 2**31):
        with pytest.raises(errors.NotFound, match=f"^Service {missing} could not be found.$"):
            hosts.delete_service(ADMIN, missing)


def test_ids_given_as_text_are_read_after_the_policy_check(core, hosts):
    """An id as the client sent it: policy first (a member learns nothing, even
    of an id that cannot parse), then ASCII digits only ("¹".isdigit() is true
    but int("¹") raises; int("٥") is 5)."""
    service_id, node_id = add_compute_host(core.db, "c1")
    assert hosts.get_node(ADMIN, str(node_id)).node.id == node_id
    assert hosts.get_node(ADMIN, f"00{node_id}", "uptime").node.id == node_id
    for text in ("¹", "٥", "1_0", " 1", "-1", "0", "x", "", "9" * 5000, str(2**63)):
        with pytest.raises(errors.Forbidden):
            hosts.get_node(MEMBER, text)
        with pytest.raises(errors.NotFound, match="^Hypervisor with ID "):
            hosts.get_node(ADMIN, text)
        with pytest.raises(errors.Forbidden):
            hosts.delete_service(MEMBER, text)
    for text in ("¹", "٥", "1_0", " 1", "-1", "x", ""):
        with pytest.raises(errors.InvalidInput, match="id must be an integer"):
            hosts.delete_service(ADMIN, text)
    for text in ("0", "9" * 5000, str(2**63)):
        with pytest.raises(errors.NotFound, match="^Service .* could not be found.$"):
            hosts.delete_service(ADMIN, text)
    hosts.delete_service(ADMIN, str(service_id))
    assert hosts.list_services(ADMIN) == []


def test_a_compute_service_hosting_servers_is_not_deleted(core, hosts):
    service_id, _ = add_compute_host(core.db, "c1")
    add_instance(core.db, host="c1")
    with pytest.raises(errors.Conflict, match="^Unable to delete compute service that is "
                                              "hosting instances"):
        hosts.delete_service(ADMIN, service_id)
    add_instance(core.db, host="c2", deleted=True)  # a deleted server hosts nothing
    service_id, _ = add_compute_host(core.db, "c2")
    hosts.delete_service(ADMIN, service_id)


def test_service_is_up():
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    svc = ComputeService(host="h", binary="nova-compute", topic="compute",
                         last_seen_up=now - datetime.timedelta(seconds=30), forced_down=False)
    assert service_is_up(svc, 60, now) and not service_is_up(svc, 10, now)
    svc.forced_down = True
    assert not service_is_up(svc, 60, now)
    assert not service_is_up(ComputeService(last_seen_up=None, forced_down=False), 60, now)


# ---------------------------------------------------------------- hypervisors

def test_nodes_need_their_service(core, hosts):
    _, n1 = add_compute_host(core.db, "c1")
    _, n2 = add_compute_host(core.db, "c2")
    with core.db.session() as s:  # c2's service unregistered: its node is not shown
        s.execute(delete(ComputeService).where(ComputeService.host == "c2"))
    assert [v.node.id for v in hosts.list_nodes(ADMIN)] == [n1]
    assert hosts.get_node(ADMIN, n1).service.service.host == "c1"
    for missing in (n2, 12345, "abc"):
        with pytest.raises(errors.NotFound, match=f"^Hypervisor with ID '{missing}' could "):
            hosts.get_node(ADMIN, missing)
    with pytest.raises(errors.Forbidden):
        hosts.list_nodes(MEMBER)


def test_search_nodes_by_hostname(core, hosts):
    add_compute_host(core.db, "rack1-a")
    add_compute_host(core.db, "rack2-a")
    assert [v.node.host for v in hosts.search(ADMIN, "rack1")] == ["rack1-a"]
    assert [v.node.host for v in hosts.list_nodes(ADMIN, hostname_pattern="-a.")] == \
        ["rack1-a", "rack2-a"]
    assert hosts.list_nodes(ADMIN, hostname_pattern="%") == []  # no wildcard
    with pytest.raises(errors.NotFound, match="^No hypervisor matching 'rack3' could be found.$"):
        hosts.search(ADMIN, "rack3")


def test_servers_on_nodes_and_statistics(core, hosts):
    _, n1 = add_compute_host(core.db, "c1", vcpus=8, memory_mb=4096, local_gb=100)
    _, n2 = add_compute_host(core.db, "c2", vcpus=8, memory_mb=4096, local_gb=100)
    live = add_instance(core.db, host="c1", display_name="live")
    add_instance(core.db, host="c1", deleted=True)
    assert hosts.servers_on(hosts.list_nodes(ADMIN)) == {n1: [(live, "live")], n2: []}
    stats = hosts.statistics(ADMIN)
    assert (stats["count"], stats["vcpus"], stats["vcpus_used"], stats["memory_mb"]) == \
        (2, 16, 4, 8192)
    assert (stats["free_ram_mb"], stats["free_disk_gb"], stats["running_vms"]) == \
        (8192 - 2048, 200 - 20, 2)


# ---------------------------------------------------------------- availability zones

def test_zones_are_available_while_a_service_is_enabled(core, hosts):
    add_compute_host(core.db, "c1", zone="az1")
    add_compute_host(core.db, "c2", zone="az1")
    add_compute_host(core.db, "c3", zone="az2")
    add_compute_host(core.db, "ctl", binary="nova-scheduler", node=False)
    hosts.update_service(ADMIN, "c1", "nova-compute", disabled=True)
    hosts.update_service(ADMIN, "c3", "nova-compute", disabled=True)
    zones = hosts.zones(MEMBER)
    assert [(z.name, z.available) for z in zones] == [("az1", True), ("az2", False)]
    assert set(zones[0].hosts) == {"c1", "c2"}


def test_detailed_zones_add_the_internal_zone_for_admins(core, hosts):
    add_compute_host(core.db, "c1")
    add_compute_host(core.db, "ctl", binary="nova-conductor", node=False)
    zones = hosts.zones(ADMIN, detail=True)
    assert [(z.name, z.available) for z in zones] == [("nova", True), ("internal", True)]
    assert list(zones[1].hosts["ctl"]) == ["nova-conductor"]
    with pytest.raises(errors.Forbidden):
        hosts.zones(MEMBER, detail=True)
