"""Resolves a spec's ``operationId`` (``"projects.create"``) to a method of a
handler instance built by the app factory — no module-level state.

operationIds are unique in a spec, but one handler method may serve several
operations (the four grant paths): ``"grants.create@project_user"`` resolves
to ``grants.create``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connexion.resolver import Resolver


class HandlerResolver(Resolver):
    def __init__(self, handlers: Mapping[str, Any]) -> None:
        self.handlers = dict(handlers)
        super().__init__(function_resolver=self.lookup)

    def lookup(self, operation_id: str) -> Callable:
        group, _, method = operation_id.partition("@")[0].partition(".")
        handler = self.handlers.get(group)
        fn = getattr(handler, method, None) if handler is not None else None
        if not callable(fn):
            raise ImportError(f"operationId {operation_id!r} does not resolve to a handler")
        return fn
