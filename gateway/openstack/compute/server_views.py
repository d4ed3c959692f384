"""Server JSON as Nova renders it, by microversion (nova/api/openstack/compute/views/
servers.py): the short list form, the full form, addresses, faults, actions.

The full form reads an ORM instance or a list row (core/compute/server_rows.py)
alike: timestamps and JSON columns go through :mod:`core.compute.raw_values`,
which takes them as the driver returns them or as the ORM does.
"""

from __future__ import annotations

import hashlib
from typing import Any

from core.compute import image_meta, states
from core.compute.models import InstanceAction
from core.compute.raw_values import json_value, micro, seconds_z
from core.network.instance_ports import Address
from gateway.openstack.compute.microversions import APIVersion

_z = seconds_z  # Nova's created/updated: seconds and a Z
_usage_time = micro  # Nova's launched_at / terminated_at: microseconds, no zone
# An ORM instance (core.compute.models.Instance) or a list row (server_rows):
# the same attribute names.
Server = Any


def hint_lists(hints: dict[str, Any] | None) -> dict[str, list[str]]:
    """Scheduler hints as Nova's request spec keeps them: each a list of strings."""
    return {k: [str(x) for x in v] if isinstance(v, list) else [str(v)]
            for k, v in (hints or {}).items()}


def later_fields(out: dict[str, Any], inst: Server, mv: APIVersion,
                 server_groups: list[str] | None) -> None:
    """The base view's attributes from 2.63 on (they stay in the reduced view)."""
    if mv >= (2, 63):
        certs = (json_value(inst.system_metadata) or {}).get("trusted_image_certificates")
        out["trusted_image_certificates"] = list(certs) if certs else None
    if mv >= (2, 71) and server_groups is not None:
        out["server_groups"] = server_groups
    if mv >= (2, 73):
        out["locked_reason"] = inst.locked_reason
    if mv >= (2, 96):
        out["pinned_availability_zone"] = inst.requested_availability_zone
    if mv >= (2, 100):
        out["scheduler_hints"] = hint_lists(json_value(inst.scheduler_hints))


class ServerViews:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")  # http://h/compute
        self.v21 = f"{self.base}/v2.1"
        self._host_ids: dict[tuple[str, str], str] = {}  # (project, host) -> hostId

    def links(self, kind: str, ident: str) -> list[dict[str, str]]:
        return [{"rel": "self", "href": f"{self.v21}/{kind}/{ident}"},
                {"rel": "bookmark", "href": f"{self.base}/{kind}/{ident}"}]

    def brief(self, inst: Server) -> dict[str, Any]:
        return {"id": inst.uuid, "name": inst.display_name,
                "links": self.links("servers", inst.uuid)}

    def host_id(self, project_id: str, host: str | None) -> str:
        """Nova's hostId: a digest of the project and the host ("" without a host)."""
        if not host:
            return ""
        key = (project_id, host)
        digest = self._host_ids.get(key)
        if digest is None:
            if len(self._host_ids) > 65536:  # a bound: digests are cheap to redo
                self._host_ids.clear()
            digest = hashlib.sha224(f"{project_id}{host}".encode()).hexdigest()
            self._host_ids[key] = digest
        return digest

    @staticmethod
    def addresses(addresses: list[Address]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for a in addresses:
            out.setdefault(a.network, []).append(
                {"version": a.version, "addr": a.address, "OS-EXT-IPS:type": a.type,
                 "OS-EXT-IPS-MAC:mac_addr": a.mac_address})
        return out

    def full(self, inst: Server, mv: APIVersion, *, addresses: list[Address],
             tags: list[str] | None, fault: Any, is_admin: bool,
             host_status: str | None = None,
             volumes: list[tuple[str, bool]] | None = None, extra_specs: bool = False,
             server_groups: list[str] | None = None) -> dict[str, Any]:
        """The server as GET /servers/{id} and /servers/detail show it at ``mv``.
        ``extra_specs``: the caller may read flavor extra specs (the embedded
        flavor shows them from 2.47); ``server_groups``: the server's group, shown
        (2.71) by show, PUT and rebuild, not by the list (None); ``fault``: the
        latest (an InstanceFault or a server_rows.FaultRow)."""
        uuid, host = inst.uuid, inst.host
        status = states.status_from_state(inst.vm_state, inst.task_state)
        groups = json_value(inst.security_groups)
        out: dict[str, Any] = {
            "id": uuid, "name": inst.display_name, "status": status,
            "tenant_id": inst.project_id, "user_id": inst.user_id,
            "metadata": dict(json_value(inst.metadata_items) or {}),
            "hostId": self.host_id(inst.project_id, host),
            "image": self.image(inst, mv), "flavor": self.flavor(inst, mv, extra_specs),
            "created": _z(inst.created_at), "updated": _z(inst.updated_at),
            "addresses": self.addresses(addresses) if addresses else {},
            "accessIPv4": inst.access_ip_v4 or "", "accessIPv6": inst.access_ip_v6 or "",
            "links": [{"rel": "self", "href": f"{self.v21}/servers/{uuid}"},
                      {"rel": "bookmark", "href": f"{self.base}/servers/{uuid}"}],
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
        }
        if groups:
            out["security_groups"] = [{"name": n} for n in groups]
        if status in states.PROGRESS_STATUSES:
            out["progress"] = inst.progress or 0
        if is_admin:
            out["OS-EXT-SRV-ATTR:host"] = host
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
        elif mv >= (2, 90):  # the hostname alone, for everyone
            out["OS-EXT-SRV-ATTR:hostname"] = inst.hostname
        if mv >= (2, 9):
            out["locked"] = bool(inst.locked)
        if mv >= (2, 16) and host_status is not None:
            out["host_status"] = host_status if host else ""
        if mv >= (2, 19):
            out["description"] = inst.description
        if mv >= (2, 26):
            out["tags"] = tags or []
        if mv >= (2, 63):
            later_fields(out, inst, mv, server_groups)
        if fault is not None and status in ("ERROR", "DELETED"):
            f: dict[str, Any] = {"code": fault.code, "created": _z(fault.created_at),
                                 "message": fault.message}
            if fault.details and (is_admin or fault.code != 500):
                f["details"] = fault.details
            out["fault"] = f
        return out

    @staticmethod
    def reduced(full: dict[str, Any]) -> dict[str, Any]:
        """The server as Nova's PUT /servers/{id} (and rebuild) answered before 2.75:
        the ``full`` view without its extension attributes (no OS-EXT-*, key_name,
        config_drive, security groups, volumes or host_status; addresses without
        type or MAC). What later versions add to the base view stays."""
        out = {k: v for k, v in full.items()
               if not k.startswith(("OS-EXT-", "OS-SRV-USG:", "os-extended-volumes:"))
               and k not in ("key_name", "config_drive", "security_groups", "host_status")}
        out["addresses"] = {net: [{"version": a["version"], "addr": a["addr"]} for a in addrs]
                            for net, addrs in full["addresses"].items()}
        return out

    def rebuilt(self, full: dict[str, Any], inst: Server, mv: APIVersion) -> dict[str, Any]:
        """What rebuild answers (before its adminPass): the reduced view before 2.75
        (with key_name from 2.54), the full one from 2.75 but user_data under its
        own name (2.57), not as OS-EXT-SRV-ATTR:user_data."""
        if mv >= (2, 75):
            out = {k: v for k, v in full.items() if k != "OS-EXT-SRV-ATTR:user_data"}
        else:
            out = self.reduced(full)
            if mv >= (2, 54):
                out["key_name"] = inst.key_name
        if mv >= (2, 57):
            out["user_data"] = inst.user_data
        return out

    def image(self, inst: Server, mv: APIVersion) -> Any:
        """The embedded image ("" for a server booted from a volume); from 2.98 with
        the image's properties as they were at boot (or the last rebuild)."""
        if not inst.image_ref:
            return ""
        out: dict[str, Any] = {"id": inst.image_ref, "links": [
            {"rel": "bookmark", "href": f"{self.base}/images/{inst.image_ref}"}]}
        if mv >= (2, 98):
            out["properties"] = image_meta.properties(json_value(inst.system_metadata))
        return out

    def flavor(self, inst: Server, mv: APIVersion, extra_specs: bool) -> dict[str, Any]:
        """A link to the flavor before 2.47; from 2.47 the flavor the server has,
        embedded (it outlives the flavor), extra specs if policy lets the caller."""
        if mv < (2, 47):
            return {"id": inst.flavorid, "links": [
                {"rel": "bookmark", "href": f"{self.base}/flavors/{inst.flavorid}"}]}
        f = json_value(inst.flavor) or {}
        out: dict[str, Any] = {
            "vcpus": int(f.get("vcpus") or 0), "ram": int(f.get("memory_mb") or 0),
            "disk": int(f.get("root_gb") or 0), "ephemeral": int(f.get("ephemeral_gb") or 0),
            "swap": int(f.get("swap") or 0), "original_name": f.get("name")}
        if extra_specs:
            out["extra_specs"] = dict(f.get("extra_specs") or {})
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
