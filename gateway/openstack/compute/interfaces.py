"""``/servers/{id}/os-interface``: a server's ports, as Nova lists, attaches
and detaches them; and the ``networks`` of a boot request, parsed as Nova
parses them."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from connexion import NoContent

from core import errors
from core.compute.server_interfaces import ServerInterfaces
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import Handler
from gateway.openstack.compute.microversions import APIVersion

TAGGED_ATTACH = (2, 49)  # ``tag`` in the POST
SHOW_TAG = (2, 70)       # ``tag`` in the answers

UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                  r"[0-9a-fA-F]{12}$")


def boot_networks(value: Any, mv: APIVersion) -> Any:
    """``networks`` of ``POST /servers`` as core's BootRequest takes them:
    None (Nova's choice), ``"auto"``/``"none"`` (from 2.37), or a list of
    ``{"uuid", "fixed_ip"}`` / ``{"port"}``. Malformed ids and addresses are 400s."""
    if value is None:
        if mv >= (2, 37):
            raise errors.InvalidInput("Invalid input for field/attribute server. Value: "
                                      "'networks' is a required property", param="networks")
        return None
    if isinstance(value, str):
        if mv < (2, 37):
            raise errors.InvalidInput(f"Invalid input for field/attribute networks. Value: "
                                      f"{value}. '{value}' is not of type 'array'",
                                      param="networks")
        return value
    if not value:
        return None
    out = []
    for item in value:
        port = item.get("port")
        if port:
            if not UUID.match(str(port)):
                raise errors.InvalidInput(f"Bad port format: port uuid is not in proper "
                                          f"format ({port})", param="networks")
            out.append({"port": str(port)})
            continue
        net = item.get("uuid")
        if not net:
            raise errors.InvalidInput("Bad networks format: each network needs a uuid or "
                                      "a port.", param="networks")
        if not UUID.match(str(net)):
            raise errors.InvalidInput(f"Bad networks format: network uuid is not in proper "
                                      f"format ({net})", param="networks")
        entry: dict[str, Any] = {"uuid": str(net)}
        if item.get("fixed_ip"):
            try:
                entry["fixed_ip"] = str(ipaddress.IPv4Address(str(item["fixed_ip"])))
            except ValueError:
                raise errors.InvalidInput(f"Invalid fixed IP address ({item['fixed_ip']})",
                                          param="networks") from None
        out.append(entry)
    return out


def interface_view(item: dict[str, Any], mv: APIVersion) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k != "tag"}
    if mv >= SHOW_TAG:
        out["tag"] = item.get("tag")
    return out


class ServerInterfacesHandler(Handler):
    @property
    def service(self) -> ServerInterfaces:
        return self.deps.server_interfaces

    def list(self, server_id: str):
        mv = microversions.current()
        return {"interfaceAttachments": [interface_view(i, mv) for i in
                                         self.service.list(self.context(), server_id)]}

    def show(self, server_id: str, port_id: str):
        item = self.service.show(self.context(), server_id, port_id)
        return {"interfaceAttachment": interface_view(item, microversions.current())}

    def create(self, server_id: str, body: dict):
        mv = microversions.current()
        given = body["interfaceAttachment"]
        if "tag" in given and mv < TAGGED_ATTACH:
            raise errors.InvalidInput(
                f"Invalid input for field/attribute interfaceAttachment. Value: {given}. "
                "Additional properties are not allowed ('tag' was unexpected)", param="tag")
        fixed = given.get("fixed_ips") or []
        if fixed and not given.get("net_id"):
            raise errors.InvalidInput("A fixed IP needs a net_id.", param="fixed_ips")
        if given.get("port_id") and given.get("net_id"):
            raise errors.InvalidInput("Specifying both a port_id and a net_id is not "
                                      "allowed.", param="port_id")
        attached = self.service.attach(
            self.context(), server_id, port_id=given.get("port_id"),
            network_id=given.get("net_id"), fixed_ip=fixed[0]["ip_address"] if fixed else None,
            tag=given.get("tag"))
        return {"interfaceAttachment": interface_view(attached, mv)}

    def delete(self, server_id: str, port_id: str):
        self.service.detach(self.context(), server_id, port_id)
        return NoContent, 202
