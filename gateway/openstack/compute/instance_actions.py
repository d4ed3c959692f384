"""``GET /servers/{id}/os-instance-actions[/{request_id}]`` in Nova's fields per
microversion: paging (2.58: limit, marker, changes-since, ``updated_at``;
2.66: changes-before), events for the server's owner without ``traceback``
(2.51), the event's ``hostId`` (and ``host`` for admins) from 2.62 and its
``details`` from 2.84."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from connexion import request

from core import errors
from core.clock import parse_timestamp
from core.compute.instance_actions import ActionQuery, InstanceActionRecords
from core.compute.models import InstanceAction, InstanceActionEvent
from core.context import RequestContext
from core.numbers import BadInteger, parse_int
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import MAX_INT, ComputeDeps, Handler

LIST_RULE = "os_compute_api:os-instance-actions:list"
SHOW_RULE = "os_compute_api:os-instance-actions:show"
EVENTS_RULE = "os_compute_api:os-instance-actions:events"


def nova_time(value: datetime | None) -> str | None:
    """Nova's instance action times: microseconds, no zone."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def host_id(project_id: str | None, host: str | None) -> str:
    """Nova's obfuscated host id (empty without a host)."""
    if not host:
        return ""
    return hashlib.sha224(f"{project_id or ''}{host}".encode()).hexdigest()


def query_time(name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError:
        raise errors.InvalidInput(f"Invalid input for query parameters {name}. Value: "
                                  f"{raw}. '{raw}' is not a 'date-time'") from None


def paging_query(allowed: set[str], max_limit: int) -> tuple[ActionQuery, int | None]:
    """The limit, marker and time bounds of a paged listing (Nova's query schema:
    nothing else allowed); the limit as asked, for the next link."""
    extra = sorted(set(request.query_params) - allowed)
    if extra:
        raise errors.InvalidInput("Invalid input for query parameters. Additional properties "
                                  f"are not allowed ({', '.join(map(repr, extra))} "
                                  f"{'was' if len(extra) == 1 else 'were'} unexpected)")
    q = ActionQuery(marker=request.query_params.get("marker"),
                    changes_since=query_time("changes-since"),
                    changes_before=query_time("changes-before"))
    if q.changes_since and q.changes_before and q.changes_before < q.changes_since:
        raise errors.InvalidInput("The value of changes-since must be less than or equal "
                                  "to changes-before.")
    raw = request.query_params.get("limit")
    if raw is not None:
        try:
            q.limit = min(parse_int(raw, 0, MAX_INT, cap=True), max_limit)
        except BadInteger:
            raise errors.InvalidInput(f"Invalid input for query parameters limit. Value: "
                                      f"{raw}. '{raw}' is not a 'non-negative integer'"
                                      ) from None
    return q, q.limit


def next_link(base: str, path: str, limit: int, marker: str) -> list[dict[str, str]]:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    return [{"rel": "next",
             "href": f"{base}/v2.1/{path}?" + urlencode([*params, ("marker", marker)])}]


class InstanceActions(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.records = InstanceActionRecords(deps.servers.db)
        self.base = deps.base.rstrip("/")

    @staticmethod
    def view(act: InstanceAction, mv: microversions.APIVersion) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": act.action, "instance_uuid": act.instance_uuid,
            "message": act.message, "project_id": act.project_id,
            "request_id": act.request_id, "start_time": nova_time(act.start_time),
            "user_id": act.user_id}
        if mv >= (2, 58):
            out["updated_at"] = nova_time(act.updated_at)
        return out

    @staticmethod
    def event_view(e: InstanceActionEvent, project_id: str | None, mv: microversions.APIVersion,
                   admin: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"event": e.event, "start_time": nova_time(e.start_time),
                               "finish_time": nova_time(e.finish_time), "result": e.result}
        if admin:
            out["traceback"] = e.traceback
        if mv >= (2, 62):
            if admin:
                out["host"] = e.host or ""
            out["hostId"] = host_id(project_id, e.host)
        if mv >= (2, 84):
            out["details"] = e.details
        return out

    def _server(self, ctx: RequestContext, server_id: str, rule: str):
        # From 2.21 the actions of a deleted server stay readable.
        return self.deps.servers.get(ctx, server_id, rule,
                                     deleted=microversions.current() >= (2, 21))

    def index(self, server_id: str):
        ctx = self.context()
        mv = microversions.current()
        inst = self._server(ctx, server_id, LIST_RULE)
        if mv < (2, 58):
            rows = self.records.list_actions(inst.uuid, ActionQuery())
            return {"instanceActions": [self.view(a, mv) for a in rows]}
        allowed = {"limit", "marker", "changes-since"} | ({"changes-before"}
                                                          if mv >= (2, 66) else set())
        query, limit = paging_query(allowed, self.deps.settings.max_limit)
        rows = self.records.list_actions(inst.uuid, query)
        out: dict[str, Any] = {"instanceActions": [self.view(a, mv) for a in rows]}
        page = limit if limit is not None else self.deps.settings.max_limit
        if rows and page == len(rows):
            out["links"] = next_link(self.base, f"servers/{server_id}/os-instance-actions",
                                     page, rows[-1].request_id)
        return out

    def show(self, server_id: str, request_id: str):
        ctx = self.context()
        mv = microversions.current()
        inst = self._server(ctx, server_id, SHOW_RULE)
        act = next((a for a in self.records.list_actions(inst.uuid, ActionQuery())
                    if a.request_id == request_id), None)
        if act is None:
            raise errors.NotFound(f"Action for request_id {request_id} on instance "
                                  f"{server_id} not found")
        out = self.view(act, mv)
        # Before 2.51 only who may see everything (admins) sees the events; from
        # 2.51 the server's owner too, without the tracebacks.
        admin = self.auth.policy.authorize(EVENTS_RULE, {"project_id": inst.project_id},
                                           ctx.policy_credentials())
        if admin or mv >= (2, 51):
            project = act.project_id or inst.project_id
            out["events"] = [self.event_view(e, project, mv, admin)
                             for e in self.records.events(act.id)]
        return {"instanceAction": out}
