"""Nova over the network model, driven by the real `openstack` CLI and
openstacksdk in a project of the module's own: servers on networks the
project made, at fixed addresses, on given ports, with its security groups;
their addresses and interfaces; and the 4xx a bad request gets."""

from __future__ import annotations

import json

import openstack.exceptions
import pytest

from tests.conftest import unique
from tests.support.project_cloud import ProjectCloud, project_cloud


@pytest.fixture(scope="module")
def tenant(server, admin_session, tmp_path_factory) -> ProjectCloud:
    return project_cloud(server, admin_session, tmp_path_factory.mktemp("cloud"), "srvnet")


@pytest.fixture(scope="module")
def osc(cli, tenant):
    def run(*args: str, check: bool = True):
        return cli.run(tenant.cloud, *args, check=check, env=tenant.env)

    def as_json(*args: str):
        out = cli.run(tenant.cloud, *args, "-f", "json", env=tenant.env).stdout
        return json.loads(out) if out.strip() else None

    run.json = as_json  # type: ignore[attr-defined]
    return run


@pytest.fixture(scope="module")
def conn(tenant):
    c = tenant.connection()
    yield c
    c.close()


@pytest.fixture(scope="module")
def net1(conn):
    """The project's network and subnet (10.1.0.0/24), made with openstacksdk:
    what is under test here is the CLI's server commands, not network create."""
    net = conn.network.create_network(name=unique("net1"))
    sub = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.1.0.0/24",
                                     name=unique("sub1"))
    return {"network": {"id": net.id, "name": net.name}, "subnet": {"id": sub.id}}


def boot(osc, conn, name: str, *args: str):
    """``openstack server create ... NAME`` (its output checked), then,
    polling faster than OSC's --wait (5 s), the server once ACTIVE, read
    with openstacksdk (one GET, no second CLI start for ``server show``)."""
    made = osc.json("server", "create", "--flavor", "m1.tiny", "--image", "nimbus-tiny",
                    *args, name)
    assert made["name"] == name and made["id"]
    assert made["status"] in ("BUILD", "ACTIVE")
    return conn.compute.wait_for_server(conn.compute.get_server(made["id"]), interval=0.05,
                                        wait=60)


def boot_sdk(conn, name: str, networks: list[dict]):
    """A server made with openstacksdk where ``server create`` is setup, not the
    command under test (each CLI call is a 2 s client start-up); once ACTIVE."""
    made = conn.compute.create_server(name=name, image_id=_image(conn), flavor_id="1",
                                      networks=networks)
    assert made.name == name and made.id
    assert made.status in (None, "BUILD", "ACTIVE")
    return conn.compute.wait_for_server(made, interval=0.05, wait=60)


def gone(conn, server) -> None:
    """Deletes the server and waits until it is gone (openstacksdk: deleting is
    no command these tests are about)."""
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.05, wait=60)


def _ports_of(conn, server_id: str) -> list:
    return list(conn.network.ports(device_id=server_id))


def test_server_on_a_network_with_a_security_group(osc, net1, conn):
    group = conn.network.create_security_group(name=unique("web"))
    conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                            ethertype="IPv4", protocol="tcp",
                                            port_range_min=22, port_range_max=22,
                                            remote_ip_prefix="0.0.0.0/0")
    created = boot(osc, conn, unique("vm1"), "--network", net1["network"]["id"],
                   "--security-group", group.name)
    assert created.status == "ACTIVE"
    addresses = json.dumps(created.addresses)
    assert net1["network"]["name"] in addresses and "10.1.0." in addresses
    ports = _ports_of(conn, created.id)
    assert len(ports) == 1
    [port] = ports
    assert port.device_owner == "compute:nova"
    assert port.device_id == created.id
    assert group.id in json.dumps(port.security_group_ids)
    gone(conn, created)
    assert _ports_of(conn, created.id) == []  # the port it made went


def test_fixed_ip_and_given_port(osc, net1, conn):
    net_id = net1["network"]["id"]
    created = boot(osc, conn, unique("vmfix"), "--nic",
                   f"net-id={net_id},v4-fixed-ip=10.1.0.50")
    assert "10.1.0.50" in json.dumps(created.addresses)
    # The same address again: Nova's 400, nothing made.
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.compute.create_server(name=unique("dup"), image_id=_image(conn),
                                   flavor_id="1",
                                   networks=[{"uuid": net_id, "fixed_ip": "10.1.0.50"}])
    port = conn.network.create_port(network_id=net_id, name=unique("p1"))
    with_port = boot(osc, conn, unique("vmport"), "--port", port.id)
    bound = conn.network.get_port(port.id)
    assert bound.device_id == with_port.id
    assert bound.fixed_ips[0]["ip_address"] in json.dumps(with_port.addresses)
    # The port is in use now.
    with pytest.raises(openstack.exceptions.ConflictException):
        conn.compute.create_server(name=unique("dup"), image_id=_image(conn),
                                   flavor_id="1", networks=[{"port": port.id}])
    gone(conn, with_port)
    kept = conn.network.get_port(port.id)  # given, so it stays, unbound
    assert kept.device_id == "" and kept.status == "DOWN"
    gone(conn, created)


def _image(conn) -> str:
    return next(conn.image.images(name="nimbus-tiny")).id


def test_bad_networks_are_400s(conn, net1):
    image = _image(conn)
    for networks in ([{"uuid": "not-a-uuid"}], [{"port": "nope"}],
                     [{"uuid": net1["network"]["id"], "fixed_ip": "10.1.0.999"}],
                     [{"uuid": "7a4b7e0e-0000-4000-8000-000000000000"}],
                     [{"uuid": net1["network"]["id"], "fixed_ip": "192.0.2.7"}]):
        with pytest.raises(openstack.exceptions.BadRequestException):
            conn.compute.create_server(name=unique("bad"), image_id=image, flavor_id="1",
                                       networks=networks)
    # "auto" is a 400 below 2.37 (the sdk negotiates the server's maximum: pin 2.36)
    r = conn.compute.post("/servers", json={"server": {
        "name": unique("bad"), "imageRef": image, "flavorRef": "1", "networks": "auto"}},
        microversion="2.36", raise_exc=False)
    assert r.status_code == 400, r.text


def test_no_network_named_uses_the_projects_own_then_ambiguity(server, admin_session,
                                                               tmp_path_factory, cli):
    """networks "auto" (what no networks meant before 2.37, when they became required)."""
    own = project_cloud(server, admin_session, tmp_path_factory.mktemp("amb"), "ambig")
    c = own.connection()
    try:
        image = _image(c)
        # Only the shared default network: the server lands there.
        first = c.compute.wait_for_server(c.compute.create_server(
            name=unique("vm"), image_id=image, flavor_id="1", networks="auto"), interval=0.05, wait=60)
        assert list(first.addresses) == ["private"]
        # One network of its own: that one.
        net = c.network.create_network(name=unique("own"))
        c.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.5.0.0/24")
        second = c.compute.wait_for_server(c.compute.create_server(
            name=unique("vm"), image_id=image, flavor_id="1", networks="auto"), interval=0.05, wait=60)
        assert list(second.addresses) == [net.name]
        # Two of its own: Nova's 409.
        other = c.network.create_network(name=unique("own2"))
        c.network.create_subnet(network_id=other.id, ip_version=4, cidr="10.6.0.0/24")
        with pytest.raises(openstack.exceptions.ConflictException) as caught:
            c.compute.create_server(name=unique("vm"), image_id=image, flavor_id="1",
                                    networks="auto")
        assert "Multiple possible networks found" in str(caught.value)
        for s in (first, second):
            c.compute.delete_server(s)
            c.compute.wait_for_delete(s, interval=0.05, wait=60)
    finally:
        c.close()


def test_interfaces_attach_and_detach(osc, net1, conn):
    name = unique("vmif")
    created = boot_sdk(conn, name, [{"uuid": net1["network"]["id"]}])
    listed = list(conn.compute.server_interfaces(created.id))
    assert len(listed) == 1 and listed[0].net_id == net1["network"]["id"]
    port = conn.network.create_port(network_id=net1["network"]["id"], name=unique("extra"))
    added = osc("server", "add", "port", name, port.id)
    assert added.returncode == 0
    assert {i.port_id for i in conn.compute.server_interfaces(created.id)} == {
        listed[0].port_id, port.id}
    shown = conn.compute.get_server(created.id)
    assert port.fixed_ips[0]["ip_address"] in json.dumps(shown.addresses)
    removed = osc("server", "remove", "port", name, port.id)
    assert removed.returncode == 0
    assert [i.port_id for i in conn.compute.server_interfaces(created.id)] == [
        listed[0].port_id]
    assert conn.network.get_port(port.id).device_id == ""
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.compute.delete_server_interface(port.id, server=created.id,
                                             ignore_missing=False)
    gone(conn, created)


def test_security_group_added_to_a_server_reaches_its_ports(osc, net1, conn):
    name = unique("vmsg")
    created = boot_sdk(conn, name, [{"uuid": net1["network"]["id"]}])
    group = conn.network.create_security_group(name=unique("extra"))
    osc("server", "add", "security", "group", name, group.name)
    [port] = _ports_of(conn, created.id)
    assert group.id in json.dumps(port.security_group_ids)
    osc("server", "remove", "security", "group", name, group.name)
    assert group.id not in json.dumps(conn.network.get_port(port.id).security_group_ids)
    gone(conn, created)


def test_server_add_floating_ip_shows_it_as_floating(osc, conn):
    """`server add floating ip vm IP`: the CLI finds the server's port and maps
    the address to it through the Network API; `server show` lists it as floating."""
    name = unique("vmfip")
    created = boot_sdk(conn, name,
                       [{"uuid": conn.network.find_network("private", ignore_missing=False).id}])
    public = conn.network.find_network("public")
    fip = conn.network.create_ip(floating_network_id=public.id)
    address = fip.floating_ip_address
    osc("server", "add", "floating", "ip", name, address)
    shown = conn.compute.get_server(created.id)
    kinds = {a["addr"]: a["OS-EXT-IPS:type"] for a in shown.addresses["private"]}
    assert kinds[address] == "floating"
    assert address in json.dumps(osc.json("server", "show", name)["addresses"])
    osc("server", "remove", "floating", "ip", name, address)
    assert conn.network.get_ip(fip.id).port_id is None
    conn.network.delete_ip(fip)
    gone(conn, created)
