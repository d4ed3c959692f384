"""``os-availability-zone``, ``os-hypervisors`` and ``os-services`` (ids are
integers: UUIDs only come with 2.53)."""

from __future__ import annotations

import datetime
from typing import Any

from core import errors
from core.clock import utcnow
from core.compute.hosts import NodeView
from gateway.openstack.compute import microversions, views
from gateway.openstack.compute.base import NO_CONTENT, Handler

SERVICE_ACTIONS = ("enable", "disable", "disable-log-reason", "force-down")


class AvailabilityZones(Handler):
    def list(self):
        zones = self.deps.hosts.zones(self.context(), detail=False)
        return {"availabilityZoneInfo": [views.zone(z, detail=False) for z in zones]}

    def detail(self):
        zones = self.deps.hosts.zones(self.context(), detail=True)
        return {"availabilityZoneInfo": [views.zone(z, detail=True) for z in zones]}


def uptime_text(node: NodeView, now: datetime.datetime | None = None) -> str:
    """What ``uptime`` prints, for a simulated host up since it registered."""
    now = now or utcnow()
    up = now - node.node.created_at
    days, rest = divmod(int(up.total_seconds()), 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    return (f" {now:%H:%M:%S} up {days} days, {hours:2d}:{minutes:02d},  0 users,  "
            "load average: 0.00, 0.00, 0.00")


class Hypervisors(Handler):
    def _list(self, detail: bool) -> dict[str, Any]:
        nodes = self.deps.hosts.list_nodes(self.context(), detail,
                                           self.query("hypervisor_hostname_pattern"))
        return {"hypervisors": [views.hypervisor(n, detail) for n in nodes]}

    def list(self, **_: Any):
        return self._list(detail=False)

    def detail(self, **_: Any):
        return self._list(detail=True)

    def show(self, hypervisor_id: str):
        node = self.deps.hosts.get_node(self.context(), hypervisor_id)
        return {"hypervisor": views.hypervisor(node, detail=True)}

    def uptime(self, hypervisor_id: str):
        node = self.deps.hosts.get_node(self.context(), hypervisor_id, "uptime")
        return {"hypervisor": {**views.hypervisor(node, detail=False),
                               "uptime": uptime_text(node)}}

    def search(self, hypervisor_hostname_pattern: str):
        nodes = self.deps.hosts.search(self.context(), hypervisor_hostname_pattern)
        return {"hypervisors": [views.hypervisor(n, detail=False) for n in nodes]}

    def servers(self, hypervisor_hostname_pattern: str):
        hosts = self.deps.hosts
        nodes = hosts.search(self.context(), hypervisor_hostname_pattern, "servers")
        servers = hosts.servers_on(nodes)
        out = []
        for n in nodes:
            entry = views.hypervisor(n, detail=False)
            if servers[n.node.id]:  # Nova leaves the key out when there are none
                entry["servers"] = [{"uuid": u, "name": name} for u, name in servers[n.node.id]]
            out.append(entry)
        return {"hypervisors": out}

    def statistics(self):
        return {"hypervisor_statistics": self.deps.hosts.statistics(self.context())}


class ComputeServices(Handler):
    def list(self, **_: Any):
        services = self.deps.hosts.list_services(self.context(), self.query("host"),
                                                 self.query("binary"))
        mv = microversions.current()
        return {"services": [views.service(s, mv) for s in services]}

    def update(self, service_id: str, body: dict[str, Any]):
        """``PUT /os-services/{action}`` with ``{"host", "binary", ...}`` (below 2.53)."""
        ctx = self.authorized("os_compute_api:os-services:update", {})
        action = service_id
        if action not in SERVICE_ACTIONS or (action == "force-down"
                                             and microversions.current() < (2, 11)):
            raise errors.NotFound("Unknown action")
        host, binary = body.get("host"), body.get("binary")
        if not host or not binary:
            raise errors.InvalidInput("Invalid input for field/attribute service. 'host' and "
                                      "'binary' are required properties")
        hosts = self.deps.hosts
        out: dict[str, Any] = {"host": host, "binary": binary}
        if action == "force-down":
            if "forced_down" not in body:
                raise errors.InvalidInput("Missing forced_down field")
            hosts.update_service(ctx, host, binary, forced_down=body["forced_down"])
            out["forced_down"] = body["forced_down"]
        elif action == "disable-log-reason":
            reason = body.get("disabled_reason")
            if not reason:
                raise errors.InvalidInput("Missing disabled reason field")
            hosts.update_service(ctx, host, binary, disabled=True, disabled_reason=reason)
            out.update(status="disabled", disabled_reason=reason)
        else:
            disabled = action == "disable"
            hosts.update_service(ctx, host, binary, disabled=disabled)
            out["status"] = "disabled" if disabled else "enabled"
        return {"service": out}

    def delete(self, service_id: str):
        # The core reads the id once policy allows the call.
        self.deps.hosts.delete_service(self.context(), service_id)
        return NO_CONTENT
