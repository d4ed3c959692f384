"""``GET /limits``, ``os-quota-sets`` and ``os-quota-class-sets``.

Quota keys by microversion: the network ones go from quota sets at 2.36 and
from quota classes at 2.50 (which then show server_groups and
server_group_members); the injected-file ones go from both at 2.57. A key a
version does not show is refused in its PUT (400), as Nova's schemas do."""

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


SERVER_GROUP_QUOTAS = ("server_groups", "server_group_members")


def _class_keys_gone(mv: microversions.APIVersion) -> tuple[str, ...]:
    if mv < (2, 50):
        return ()
    return views.NETWORK_QUOTAS + (views.FILE_QUOTAS if mv >= (2, 57) else ())


def _quota_class_set(values: dict[str, int], mv: microversions.APIVersion,
                     name: str | None = None) -> dict[str, Any]:
    gone = _class_keys_gone(mv) + (SERVER_GROUP_QUOTAS if mv < (2, 50) else ())
    out: dict[str, Any] = {k: v for k, v in values.items() if k not in gone}
    if name is not None:
        out["id"] = name
    return {"quota_class_set": out}


class QuotaClassSets(Handler):
    def show(self, quota_class: str):
        values = self.deps.quota_sets.show_class(self.context(), quota_class)
        return _quota_class_set(values, microversions.current(), quota_class)

    def update(self, quota_class: str, body: dict[str, Any]):
        mv = microversions.current()
        values = dict(body["quota_class_set"])
        refused = [k for k in values if k in _class_keys_gone(mv)]
        if refused:
            raise errors.InvalidInput("Invalid input for field/attribute quota_class_set. "
                                      "Additional properties are not allowed "
                                      f"('{refused[0]}' was unexpected)")
        result = self.deps.quota_sets.update_class(self.context(), quota_class, values)
        return _quota_class_set(result, mv)  # Nova leaves the id out of the answer
