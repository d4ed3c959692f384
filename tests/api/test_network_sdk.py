"""openstacksdk's network proxy and cloud layer against the Network API, in a
project of the module's own: a network with a subnet in ``demo`` would be where
every other test's server there boots."""

from __future__ import annotations

import openstack
import pytest

from tests.conftest import unique
from tests.support.project_cloud import project_cloud

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture(scope="module")
def member_client(server, admin_session, tmp_path_factory):
    """openstacksdk as a member of the module's project."""
    tenant = project_cloud(server, admin_session, tmp_path_factory.mktemp("cloud"), "sdknet")
    conn = tenant.connection()
    yield conn
    conn.close()


def test_proxy_network_subnet_port_crud(member_client):
    net = member_client.network
    network = net.create_network(name=unique("sdknet"), description="sdk")
    created_revision = network.revision_number
    assert network.status == "ACTIVE" and network.is_router_external is False
    assert network.project_id == member_client.current_project_id
    subnet = net.create_subnet(network_id=network.id, ip_version=4, cidr="10.71.0.0/24",
                               name=unique("sdksub"))
    assert subnet.gateway_ip == "10.71.0.1" and subnet.is_dhcp_enabled
    port = net.create_port(network_id=network.id, name=unique("sdkport"))
    assert port.fixed_ips[0]["subnet_id"] == subnet.id
    assert net.find_network(network.name).id == network.id
    assert net.get_network(network.id).subnet_ids == [subnet.id]
    assert [p.id for p in net.ports(network_id=network.id)] == [port.id]
    updated = net.update_network(network, description="changed")
    assert updated.description == "changed"
    assert updated.revision_number > created_revision
    with pytest.raises(openstack.exceptions.ConflictException):
        net.delete_network(network)
    net.delete_port(port)
    net.delete_subnet(subnet)
    net.delete_network(network)
    assert net.find_network(network.name) is None


def test_proxy_tags(member_client):
    net = member_client.network
    network = net.create_network(name=unique("sdktag"))
    net.set_tags(network, ["a", "b"])
    assert sorted(net.get_network(network.id).tags) == ["a", "b"]
    assert [n.id for n in net.networks(tags=["a", "b"])] == [network.id]
    assert network.id in [n.id for n in net.networks(any_tags=["b", "z"])]
    assert network.id not in [n.id for n in net.networks(not_any_tags="a")]
    net.add_tag(network, "c")
    net.remove_tag(network, "a")
    assert sorted(net.get_network(network.id).tags) == ["b", "c"]
    net.delete_network(network)


def test_proxy_if_revision(member_client):
    net = member_client.network
    network = net.create_network(name=unique("sdkrev"))
    with pytest.raises(openstack.exceptions.PreconditionFailedException):
        net.update_network(network, description="x", if_revision=network.revision_number + 9)
    net.update_network(network, description="y", if_revision=network.revision_number)
    net.delete_network(network)


def test_proxy_pagination_follows_links(member_client):
    net = member_client.network
    name = unique("sdkpage")
    made = [net.create_network(name=f"{name}-{i}") for i in range(5)]
    found = [n.name for n in net.networks(limit=2) if n.name.startswith(name)]
    assert sorted(found) == sorted(n.name for n in made)
    for n in made:
        net.delete_network(n)


def test_proxy_router_and_floating_ip(member_client):
    net = member_client.network
    public = net.find_network("public")
    assert public.is_router_external
    network = net.create_network(name=unique("sdkrnet"))
    subnet = net.create_subnet(network_id=network.id, ip_version=4, cidr="10.72.0.0/24")
    router = net.create_router(name=unique("sdkr"),
                               external_gateway_info={"network_id": public.id})
    assert router.external_gateway_info["network_id"] == public.id
    net.add_interface_to_router(router, subnet_id=subnet.id)
    port = net.create_port(network_id=network.id)
    fip = net.create_ip(floating_network_id=public.id)
    assert fip.status == "DOWN" and fip.port_id is None
    fip = net.update_ip(fip, port_id=port.id)
    assert fip.port_id == port.id and fip.router_id == router.id
    assert [f.id for f in net.ips(port_id=port.id)] == [fip.id]
    net.delete_ip(fip)
    net.delete_port(port)
    net.remove_interface_from_router(router, subnet_id=subnet.id)
    net.delete_router(router)
    net.delete_network(network)


def test_proxy_security_groups(member_client):
    net = member_client.network
    group = net.create_security_group(name=unique("sdksg"), description="d")
    assert len(group.security_group_rules) == 2
    rule = net.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                          protocol="tcp", port_range_min=443,
                                          port_range_max=443, remote_ip_prefix="10.0.0.0/8")
    rules = list(net.security_group_rules(security_group_id=group.id, direction="ingress"))
    assert [r.id for r in rules] == [rule.id]
    net.delete_security_group_rule(rule)
    net.delete_security_group(group)


def test_proxy_quotas(admin_client, member_client):
    project = member_client.current_project_id
    quota = admin_client.network.get_quota(project)
    assert quota.networks > 0 and quota.ports > 0
    details = admin_client.network.get_quota(project, details=True)
    assert set(details.networks) == {"limit", "used", "reserved"}
    default = admin_client.network.get_quota_default(project)
    assert default.networks > 0


def test_proxy_extensions(member_client):
    aliases = {e.alias for e in member_client.network.extensions()}
    assert "router" in aliases
    assert member_client.network.find_extension("router").alias == "router"
    assert member_client.network.find_extension("external-gateway-multihoming") is None


def test_cloud_layer_classifies_networks(member_client):
    """The cloud layer's network classification: ``public`` is the external
    network floating IPs come from."""
    externals = [n.name for n in member_client.get_external_ipv4_networks()]
    assert "public" in externals
    assert "public" in [n.name for n in member_client.get_external_ipv4_floating_networks()]
    group = member_client.create_security_group(unique("cloudsg"), "from the cloud layer")
    member_client.create_security_group_rule(group.id, port_range_min=22, port_range_max=22,
                                           protocol="tcp", remote_ip_prefix="0.0.0.0/0")
    assert member_client.delete_security_group(group.id)
