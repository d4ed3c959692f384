"""What services need of policy: one ``enforce`` (the :class:`~core.policy.Enforcer`
implements it; tests may pass anything that does)."""

from __future__ import annotations

from typing import Any, Protocol

from core.context import RequestContext


class PolicyEnforcer(Protocol):
    def enforce(self, rule: str, target: dict, context: RequestContext) -> None:
        """Return if ``context`` may do ``rule`` on ``target``; raise Forbidden otherwise."""

    def authorize(self, rule_name: str, target: Any, creds: Any) -> bool:
        """Whether ``creds`` pass ``rule_name`` for ``target`` (no exception)."""
