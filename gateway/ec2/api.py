"""Action dispatch: one request in, one XML answer out.

A handler method serves one Action and says so with :func:`action`; it takes
a :class:`Call` and returns a dict keyed by the output shape's member names
(or None). Everything around it happens once, here: authentication, parsing
by the model, the action's policy rules, ``DryRun``, rendering, and mapping
every error to its EC2 code and status through the one table
(``gateway.ec2.errors``), objects named by their EC2 IDs.

Permission comes before state, as in AWS: the rules are checked on the
caller's own project before the handler looks at anything, so a caller who
may not stop instances is refused even when the instance is stopped already
(a call with nothing to do) or does not exist. The core services check them
again on the objects themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.model import ServiceModel

from core import errors
from core.context import RequestContext
from core.idmap.ids import derived_id
from core.policy import Enforcer
from gateway.ec2.auth import Ec2Authenticator
from gateway.ec2.errors import Ec2Error, Naming, error_body, from_core
from gateway.ec2.protocol import MAX_BODY, HttpRequest, QueryProtocol
from gateway.ec2.xml import XmlRenderer
from gateway.middleware import request_record

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/xml;charset=UTF-8"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ActionSpec:
    """What the dispatcher needs to know about an action besides its handler.

    ``rules`` are the policy rules the core service enforces for it, checked
    on the caller's own project and user before the handler runs (and to
    answer ``DryRun``). Every action that changes something names them.
    """

    name: str
    rules: tuple[str, ...] = ()


def action(name: str, *, rules: Iterable[str] = ()) -> Callable[[F], F]:
    """Mark a handler method as serving the EC2 action ``name``."""
    spec = ActionSpec(name, tuple(rules))

    def mark(fn: F) -> F:
        fn.ec2_action = spec  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True)
class Call:
    """One authenticated, parsed call, as a handler sees it."""

    ctx: RequestContext
    action: str
    params: Mapping[str, Any]
    request_id: str

    def get(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value is None else value


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = CONTENT_TYPE
    headers: Mapping[str, str] | None = None


Handler = Callable[[Call], Mapping[str, Any] | None]


def collect_actions(model: ServiceModel, handlers: Iterable[object]
                    ) -> dict[str, tuple[ActionSpec, Handler]]:
    """Every method marked with :func:`action` on ``handlers``, by action name."""
    known = set(model.operation_names)
    found: dict[str, tuple[ActionSpec, Handler]] = {}
    for handler in handlers:
        for attr in dir(type(handler)):
            spec = getattr(getattr(type(handler), attr), "ec2_action", None)
            if not isinstance(spec, ActionSpec):
                continue
            if spec.name not in known:
                raise ValueError(f"{type(handler).__name__}.{attr}: no EC2 action {spec.name}")
            if spec.name in found:
                raise ValueError(f"EC2 action {spec.name} has two handlers")
            found[spec.name] = (spec, getattr(handler, attr))
    return found


class Ec2Api:
    """Serves EC2 Query requests with the given handler objects."""

    def __init__(self, model: ServiceModel, handlers: Iterable[object],
                 authenticator: Ec2Authenticator, policy: Enforcer,
                 naming: Naming | None = None) -> None:
        self.naming = naming
        self.protocol = QueryProtocol(model)
        self.renderer = XmlRenderer(model)
        self.auth = authenticator
        self.policy = policy
        self.actions = collect_actions(model, handlers)

    def handle(self, request: HttpRequest, request_id: str) -> Reply:
        """The answer to ``request``; never raises."""
        spec: ActionSpec | None = None
        ctx: RequestContext | None = None
        try:
            if len(request.body) > MAX_BODY:
                raise Ec2Error("RequestEntityTooLarge",
                               f"The request body exceeds {MAX_BODY} bytes.")
            pairs = request.parameters()
            self._record_action(pairs)
            ctx = self.auth.authenticate(request, request_id)
            _record_caller(ctx)
            parsed = self.protocol.parse(pairs)
            entry = self.actions.get(parsed.action)
            if entry is None:
                raise Ec2Error("UnsupportedOperation",
                               f"The action {parsed.action} is not supported by this cloud.")
            spec, handler = entry
            self._authorize(spec, ctx)
            if parsed.params.get("DryRun"):
                raise Ec2Error("DryRunOperation")
            result = handler(Call(ctx, parsed.action, parsed.params, request_id))
            return Reply(200, self.renderer.response(parsed.operation, result, request_id,
                                                     parsed.version))
        except Ec2Error as exc:
            return self._error(exc, request_id)
        except errors.CoreError as exc:
            if isinstance(exc, errors.DatabaseUnavailable):
                log.warning("database unavailable: %s", exc.__cause__ or exc)
            vpc = derived_id("vpc", ctx.project_id or "") if ctx is not None else ""
            return self._error(from_core(exc, self.naming, vpc), request_id)
        except Exception:
            log.exception("unexpected error in EC2 %s", spec.name if spec else "request")
            return self._error(Ec2Error("InternalError"), request_id)

    def _record_action(self, pairs: Iterable[tuple[str, str]]) -> None:
        """The Action, for the access log and the metrics: one of the model's,
        never what a client made up."""
        record = request_record.get(None)
        action_name = next((value for key, value in pairs if key == "Action"), "")
        if record is not None:
            record["operation"] = (action_name if action_name in self.protocol.actions
                                   else "unknown")

    def _authorize(self, spec: ActionSpec, ctx: RequestContext) -> None:
        """UnauthorizedOperation unless the caller passes every rule of the
        action in its own project: before any lookup or state check, so that
        the answer does not depend on the objects (nor tell of them)."""
        target = {"project_id": ctx.project_id, "user_id": ctx.user_id}
        creds = ctx.policy_credentials()
        for rule in spec.rules:
            if not self.policy.authorize(rule, target, creds):
                raise Ec2Error("UnauthorizedOperation",
                               f"You are not authorized to perform this operation ({rule}).")

    @staticmethod
    def _error(error: Ec2Error, request_id: str) -> Reply:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return Reply(error.status, error_body(error, request_id), headers=headers)


def _record_caller(ctx: RequestContext) -> None:
    """For the access log line (gateway.middleware)."""
    record = request_record.get(None)
    if record is not None:
        record["user_id"], record["project_id"] = ctx.user_id, ctx.project_id
