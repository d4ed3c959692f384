"""``os-server-groups``: one policy per group (``policies`` list below 2.64),
soft policies from 2.15, project and user ids shown from 2.13."""

from __future__ import annotations

from typing import Any

from connexion import request

from core import errors
from gateway.openstack.compute import microversions, views
from gateway.openstack.compute.base import NO_CONTENT, Handler, query_int

HARD_POLICIES = ("anti-affinity", "affinity")


class ServerGroups(Handler):
    def list(self, **_: Any):
        ctx = self.context()
        raw = request.query_params.get("all_projects")
        all_projects = raw is not None and raw.strip().lower() not in ("0", "false", "no")
        groups = self.deps.server_groups.list_groups(ctx, all_projects, query_int("limit"),
                                              query_int("offset") or 0)
        mv = microversions.current()
        return {"server_groups": [views.server_group(g, mv) for g in groups]}

    def show(self, server_group_id: str):
        group = self.deps.server_groups.get(self.context(), server_group_id)
        return {"server_group": views.server_group(group, microversions.current())}

    def create(self, body: dict[str, Any]):
        mv = microversions.current()
        spec = body["server_group"]
        policy = spec["policies"][0]
        if mv < (2, 15) and policy not in HARD_POLICIES:
            raise errors.InvalidInput(
                f"Invalid input for field/attribute 0. Value: {policy}. '{policy}' is not "
                f"one of {list(HARD_POLICIES)}")
        group = self.deps.server_groups.create(self.context(), spec["name"], policy)
        return {"server_group": views.server_group(group, mv)}

    def delete(self, server_group_id: str):
        self.deps.server_groups.delete(self.context(), server_group_id)
        return NO_CONTENT
