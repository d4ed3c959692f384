"""``os-availability-zone`` and ``os-services`` (``os-hypervisors`` is in
:mod:`gateway.openstack.compute.hypervisors`).

``os-services`` ids are integers below 2.53 and UUIDs from 2.53, where
``PUT /os-services/{uuid}`` with ``status`` / ``disabled_reason`` /
``forced_down`` replaces the ``enable``, ``disable``, ``disable-log-reason``
and ``force-down`` actions (whose bodies the 2.53 schema refuses: 400)."""

from __future__ import annotations

from typing import Any

from core import errors
from core.compute.hosts import require_uuid
from gateway.openstack.compute import microversions, views
from gateway.openstack.compute.base import NO_CONTENT, Handler, parse_bool

SERVICE_ACTIONS = ("enable", "disable", "disable-log-reason", "force-down")


class AvailabilityZones(Handler):
    def list(self):
        zones = self.deps.hosts.zones(self.context(), detail=False)
        return {"availabilityZoneInfo": [views.zone(z, detail=False) for z in zones]}

    def detail(self):
        zones = self.deps.hosts.zones(self.context(), detail=True)
        return {"availabilityZoneInfo": [views.zone(z, detail=True) for z in zones]}


class ComputeServices(Handler):
    def list(self, **_: Any):
        services = self.deps.hosts.list_services(self.context(), self.query("host"),
                                                 self.query("binary"))
        mv = microversions.current()
        return {"services": [views.service(s, mv) for s in services]}

    def update(self, service_id: str, body: dict[str, Any]):
        if microversions.current() >= (2, 53):
            return self._update_by_uuid(service_id, body)
        return self._action(service_id, body)

    def _update_by_uuid(self, service_id: str, body: dict[str, Any]):
        """``PUT /os-services/{uuid}`` with ``status``, ``disabled_reason`` and
        ``forced_down`` (2.53); answers the whole service."""
        require_uuid(service_id)  # before policy, as Nova checks it
        unknown = sorted(set(body) - {"status", "disabled_reason", "forced_down"})
        if unknown:
            raise errors.InvalidInput("Invalid input for field/attribute service. Additional "
                                      f"properties are not allowed ('{unknown[0]}' was "
                                      "unexpected)")
        status = body.get("status")
        if status is not None and status not in ("enabled", "disabled"):
            raise errors.InvalidInput(f"Invalid input for field/attribute status. Value: "
                                      f"{status}. '{status}' is not one of ['enabled', "
                                      "'disabled']")
        if status == "enabled" and body.get("disabled_reason"):
            raise errors.InvalidInput("Specifying 'disabled_reason' with status 'enabled' "
                                      "is invalid.")
        forced = body.get("forced_down")
        forced_down = parse_bool(forced, "forced_down") if "forced_down" in body else None
        if status is None and forced_down is None:
            raise errors.InvalidInput("No updates were requested. Fields 'status' or "
                                      "'forced_down' should be specified.")
        view = self.deps.hosts.update_service_by_uuid(
            self.context(), service_id,
            disabled=None if status is None else status == "disabled",
            disabled_reason=body.get("disabled_reason"), forced_down=forced_down)
        return {"service": views.service(view, microversions.current())}

    def _action(self, action: str, body: dict[str, Any]):
        """``PUT /os-services/{action}`` with ``{"host", "binary", ...}`` (below 2.53)."""
        ctx = self.authorized("os_compute_api:os-services:update", {})
        if "status" in body:
            raise errors.InvalidInput("Invalid input for field/attribute service. Additional "
                                      "properties are not allowed ('status' was unexpected)")
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
            forced = parse_bool(body["forced_down"], "forced_down")
            hosts.update_service(ctx, host, binary, forced_down=forced)
            out["forced_down"] = forced
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
        self.deps.hosts.delete_service(self.context(), service_id,
                                       by_uuid=microversions.current() >= (2, 53))
        return NO_CONTENT
