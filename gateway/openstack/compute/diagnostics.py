"""``GET /servers/{id}/diagnostics`` (admins): the driver's counters, in the
libvirt driver's flat form below 2.48 and Nova's standard form from 2.48."""

from __future__ import annotations

from typing import Any

from core.compute.server_diagnostics import ServerDiagnostics
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import ComputeDeps, Handler

STANDARD = (2, 48)


def flat_view(d: dict[str, Any]) -> dict[str, Any]:
    """The libvirt driver's keys: cpuN_time, memory (KiB), <disk>_read ..."""
    out: dict[str, Any] = {f"cpu{c['id']}_time": c["time"] for c in d["cpus"]}
    out["memory"] = out["memory-actual"] = d["memory_mb"] * 1024
    out["memory-rss"] = d["memory_mb"] * 512
    for disk in d["disks"]:
        name = disk["device"]
        out.update({f"{name}_read": disk["read_bytes"], f"{name}_read_req":
                    disk["read_requests"], f"{name}_write": disk["write_bytes"],
                    f"{name}_write_req": disk["write_requests"],
                    f"{name}_errors": disk["errors_count"]})
    return out


def standard_view(d: dict[str, Any]) -> dict[str, Any]:
    disks = [{k: v for k, v in disk.items() if k != "device"} for disk in d["disks"]]
    return {"state": d["state"], "driver": d["driver"], "hypervisor": d["hypervisor"],
            "hypervisor_os": d["hypervisor_os"], "uptime": d["uptime"],
            "config_drive": d["config_drive"], "num_cpus": len(d["cpus"]),
            "num_disks": len(disks), "num_nics": 0,
            "memory_details": {"maximum": d["memory_mb"], "used": d["memory_mb"] // 2},
            "cpu_details": d["cpus"], "disk_details": disks, "nic_details": []}


class Diagnostics(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.diagnostics: ServerDiagnostics = deps.server_diagnostics

    def show(self, server_id: str):
        found = self.diagnostics.get(self.context(), server_id)
        return standard_view(found) if microversions.current() >= STANDARD \
            else flat_view(found)
