"""``/v2.0/quotas``: a project's limits (``quota show`` reads them beside
Nova's), with usage (``/details``), the defaults (``/default``), updates and
resets."""

from __future__ import annotations

from typing import Any

from gateway.openstack.network import views
from gateway.openstack.network.base import NO_CONTENT, Handler, member_body


class Quotas(Handler):
    @property
    def quotas(self) -> Any:
        return self.deps.network.quotas

    def list(self):
        return {"quotas": [views.render(q) for q in self.quotas.list(self.context())]}

    def show(self, project_id: str):
        return {"quota": views.render(self.quotas.get(self.context(), project_id))}

    def details(self, project_id: str):
        return {"quota": views.render(self.quotas.details(self.context(), project_id))}

    def defaults(self, project_id: str):
        return {"quota": views.render(self.quotas.defaults(self.context(), project_id))}

    def update(self, project_id: str, body: Any):
        limits = member_body(body, "quota")
        # OSC 10.5 always sends check_limit (the quota-check-limit extension's
        # flag): a request option, not a limit. Not advertised, so not acted on.
        limits.pop("check_limit", None)
        return {"quota": views.render(self.quotas.update(self.context(), project_id,
                                                         limits))}

    def reset(self, project_id: str):
        self.quotas.reset(self.context(), project_id)
        return NO_CONTENT
