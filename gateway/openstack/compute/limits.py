"""``GET /limits`` and ``os-quota-sets``."""

from __future__ import annotations

from typing import Any

from core import errors
from gateway.openstack.compute import microversions, views
from gateway.openstack.compute.base import ACCEPTED, Handler, parse_bool


class Limits(Handler):
    def show(self, **_: Any):
        # ``reserved`` (OSC sends reserved=False) is accepted: nothing is ever reserved.
        limits, used = self.deps.quota_sets.limits(self.context(), self.query("tenant_id"))
        return views.absolute_limits(limits, used, microversions.current())


class QuotaSets(Handler):
    def show(self, project_id: str, **_: Any):
        values = self.deps.quota_sets.show(self.context(), project_id, self.query("user_id"))
        return views.quota_set(values, microversions.current(), project_id)

    def detail(self, project_id: str, **_: Any):
        values = self.deps.quota_sets.detail(self.context(), project_id, self.query("user_id"))
        return views.quota_set(values, microversions.current(), project_id)

    def defaults(self, project_id: str):
        values = self.deps.quota_sets.defaults(self.context(), project_id)
        return views.quota_set(values, microversions.current(), project_id)

    def update(self, project_id: str, body: dict[str, Any], **_: Any):
        values = dict(body["quota_set"])
        refused = [k for k in values if k in views.quotas_gone(microversions.current())]
        if refused:  # Nova's schema of the version leaves them out
            raise errors.InvalidInput("Invalid input for field/attribute quota_set. "
                                      "Additional properties are not allowed "
                                      f"('{refused[0]}' was unexpected)")
        force = parse_bool(values.pop("force", False), "force")
        result = self.deps.quota_sets.update(self.context(), project_id, values,
                                             self.query("user_id"), force)
        # Nova leaves the id out of the update's answer.
        return views.quota_set(result, microversions.current())

    def delete(self, project_id: str, **_: Any):
        self.deps.quota_sets.delete(self.context(), project_id, self.query("user_id"))
        return ACCEPTED
