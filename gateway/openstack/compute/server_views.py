"""Server JSON as Nova renders it, by microversion (nova/api/openstack/compute/views/
servers.py): the short list form, the full form, addresses, faults, actions."""

from __future__ import annotations

import hashlib
from typing import Any

from core.compute import states
from core.compute.models import Instance, InstanceAction, InstanceFault
from core.network.instance_ports import Address
from gateway.jsonutil import isotime
from gateway.openstack.compute.microversions import APIVersion


def _z(value) -> str | None:
    """Nova's created/updated format: seconds and a Z."""
    return isotime(value, micro=False)


def _usage_time(value) -> str | None:
    """Nova's launched_at / terminated_at: microseconds, no zone."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


class ServerViews:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")  # http://h/compute
        self.v21 = f"{self.base}/v2.1"

    def links(self, kind: str, ident: str) -> list[dict[str, str]]:
        return [{"rel": "self", "href": f"{self.v21}/{kind}/{ident}"},
                {"rel": "bookmark", "href": f"{self.base}/{kind}/{ident}"}]

    def brief(self, inst: Instance) -> dict[str, Any]:
        return {"id": inst.uuid, "name": inst.display_name,
                "links": self.links("servers", inst.uuid)}

    @staticmethod
    def addresses(addresses: list[Address]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for a in addresses:
            out.setdefault(a.network, []).append(
                {"version": a.version, "addr": a.address, "OS-EXT-IPS:type": a.type,
                 "OS-EXT-IPS-MAC:mac_addr": a.mac_address})
        return out

    def full(self, inst: Instance, mv: APIVersion, *, addresses: list[Address],
             tags: list[str] | None, fault: InstanceFault | None, is_admin: bool,
             host_status: str | None = None,
             volumes: list[tuple[str, bool]] | None = None) -> dict[str, Any]:
        status = states.status_from_state(inst.vm_state, inst.task_state)
        host_id = hashlib.sha224(f"{inst.project_id}{inst.host}".encode()).hexdigest() \
            if inst.host else ""
        image: Any = ({"id": inst.image_ref, "links": [
            {"rel": "bookmark", "href": f"{self.base}/images/{inst.image_ref}"}]}
            if inst.image_ref else "")
        out: dict[str, Any] = {
            "id": inst.uuid, "name": inst.display_name, "status": status,
            "tenant_id": inst.project_id, "user_id": inst.user_id,
            "metadata": dict(inst.metadata_items or {}), "hostId": host_id, "image": image,
            "flavor": {"id": inst.flavorid, "links": [
                {"rel": "bookmark", "href": f"{self.base}/flavors/{inst.flavorid}"}]},
            "created": _z(inst.created_at), "updated": _z(inst.updated_at),
            "addresses": self.addresses(addresses),
            "accessIPv4": inst.access_ip_v4 or "", "accessIPv6": inst.access_ip_v6 or "",
            "links": self.links("servers", inst.uuid),
            "key_name": inst.key_name, "config_drive": inst.config_drive or "",
            "OS-DCF:diskConfig": "MANUAL",
            "OS-EXT-AZ:availability_zone": inst.availability_zone or "",
            "OS-EXT-STS:vm_state": inst.vm_state, "OS-EXT-STS:task_state": inst.task_state,
            "OS-EXT-STS:power_state": inst.power_state,
            "OS-SRV-USG:launched_at": _usage_time(inst.launched_at),
            "OS-SRV-USG:terminated_at": _usage_time(inst.terminated_at),
            "os-extended-volumes:volumes_attached": [
                {"id": vol, "delete_on_termination": bool(dot)} if mv >= (2, 3) else {"id": vol}
                for vol, dot in volumes or []],
            "security_groups": [{"name": n} for n in (inst.security_groups or [])],
        }
        if not out["security_groups"]:
            del out["security_groups"]
        if status in states.PROGRESS_STATUSES:
            out["progress"] = inst.progress or 0
        if is_admin:
            out["OS-EXT-SRV-ATTR:host"] = inst.host
            out["OS-EXT-SRV-ATTR:hypervisor_hostname"] = inst.node
            out["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{inst.id:08x}"
            if mv >= (2, 3):
                out.update({
                    "OS-EXT-SRV-ATTR:reservation_id": inst.reservation_id,
                    "OS-EXT-SRV-ATTR:launch_index": inst.launch_index,
                    "OS-EXT-SRV-ATTR:hostname": inst.hostname,
                    "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
                    "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                    "OS-EXT-SRV-ATTR:user_data": inst.user_data})
        if mv >= (2, 9):
            out["locked"] = bool(inst.locked)
        if mv >= (2, 16) and host_status is not None:
            out["host_status"] = host_status if inst.host else ""
        if mv >= (2, 19):
            out["description"] = inst.description
        if mv >= (2, 26):
            out["tags"] = tags or []
        if fault is not None and status in ("ERROR", "DELETED"):
            f: dict[str, Any] = {"code": fault.code, "created": _z(fault.created_at),
                                 "message": fault.message}
            if fault.details and (is_admin or fault.code != 500):
                f["details"] = fault.details
            out["fault"] = f
        return out

    def reduced(self, inst: Instance, mv: APIVersion, *, addresses: list[Address],
                tags: list[str] | None, fault: InstanceFault | None) -> dict[str, Any]:
        """The server as Nova's PUT /servers/{id} (and rebuild) answered before 2.75:
        its base view with no extension attributes (no OS-EXT-*, key_name,
        config_drive, security groups or volumes; addresses without type or MAC)."""
        out = self.full(inst, mv, addresses=[], tags=tags, fault=fault, is_admin=False)
        for key in [k for k in out if k.startswith(("OS-EXT-", "OS-SRV-USG:",
                                                    "os-extended-volumes:"))]:
            del out[key]
        for key in ("key_name", "config_drive", "security_groups", "host_status"):
            out.pop(key, None)
        plain: dict[str, list[dict[str, Any]]] = {}
        for a in addresses:
            plain.setdefault(a.network, []).append({"version": a.version, "addr": a.address})
        out["addresses"] = plain
        return out

    @staticmethod
    def action(action: InstanceAction, events: list | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"action": action.action, "instance_uuid": action.instance_uuid,
                               "message": action.message, "project_id": action.project_id,
                               "request_id": action.request_id,
                               "start_time": _usage_time(action.start_time),
                               "user_id": action.user_id}
        if events is not None:
            out["events"] = events
        return out
