"""``POST /servers/{id}/action``: one action per body, each a function in this
registry, ``(handler, ctx, server_id, arg) -> response or None`` (None: 202).

Modules add their actions with :func:`action` and are imported by
gateway/openstack/compute/servers.py; an action may exist only from a
microversion on, or up to one (outside, as an unknown one, Nova's 400)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connexion import NoContent

from core import errors
from core.context import RequestContext
from core.numbers import BadInteger, as_int
from gateway.openstack.compute import microversions
from gateway.openstack.compute.floating_ips import floating_action

if TYPE_CHECKING:
    from gateway.openstack.compute.servers import Servers

ACCEPTED = (NoContent, 202)
NO_CONTENT = (NoContent, 204)

Action = Callable[["Servers", RequestContext, str, Any], Any]


@dataclass(frozen=True)
class Registered:
    run: Action
    since: tuple[int, int] | None = None
    until: tuple[int, int] | None = None  # the last microversion that has it


ACTIONS: dict[str, Registered] = {}


def action(*names: str, since: tuple[int, int] | None = None,
           until: tuple[int, int] | None = None) -> Callable[[Action], Action]:
    """Register the decorated function as the server action(s) ``names``, which
    exist from microversion ``since`` up to ``until`` (both included)."""
    def register(run: Action) -> Action:
        for name in names:
            if name in ACTIONS:
                raise ValueError(f"server action {name} registered twice")
            ACTIONS[name] = Registered(run, since, until)
        return run
    return register


def dispatch(handler: Servers, ctx: RequestContext, server_id: str, body: dict) -> Any:
    # A server the caller may not know of is a 404 before anything the action checks.
    handler.servers.find(ctx, server_id)
    if len(body) != 1:
        raise errors.InvalidInput("There is no such action: " + ",".join(sorted(body)))
    (name, arg), = body.items()
    found = ACTIONS.get(name)
    if found is None:
        raise errors.InvalidInput(f"There is no such action: {name}")
    mv = microversions.current()
    if (found.since is not None and mv < found.since) or \
            (found.until is not None and mv > found.until):
        # Nova's VersionNotFoundForAPIMethod: an action the version lacks is a 404
        raise errors.NotFound("The resource could not be found.")
    result = found.run(handler, ctx, server_id, arg)
    return ACCEPTED if result is None else result


# ---- power and lifecycle ------------------------------------------------------------
@action("os-stop")
def _stop(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.actions_.stop(ctx, server_id)


@action("os-start")
def _start(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.actions_.start(ctx, server_id)


@action("reboot")
def _reboot(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    kind = str((arg or {}).get("type", "")).upper()
    if kind not in ("SOFT", "HARD"):
        raise errors.InvalidInput("Argument 'type' for reboot must be a string with "
                                  "value 'SOFT' or 'HARD'.")
    h.actions_.reboot(ctx, server_id, kind == "HARD")


@action("trigger_crash_dump", since=(2, 17))
def _crash_dump(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.actions_.trigger_crash_dump(ctx, server_id)


@action("lock")
def _lock(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.actions_.lock(ctx, server_id, (arg or {}).get("locked_reason") if arg else None)


@action("unlock")
def _unlock(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.actions_.unlock(ctx, server_id)


# ---- resize and images ---------------------------------------------------------------
@action("resize")
def _resize(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.actions_.resize(ctx, server_id, str(arg["flavorRef"]))


@action("confirmResize")
def _confirm_resize(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    h.actions_.confirm_resize(ctx, server_id)
    return NO_CONTENT


@action("revertResize")
def _revert_resize(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.actions_.revert_resize(ctx, server_id)


@action("createImage")
def _create_image(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    image_id = h.actions_.create_image(ctx, server_id, arg["name"], arg.get("metadata") or {})
    if microversions.current() >= (2, 45):
        return {"image_id": image_id}, 202
    return NoContent, 202, {"Location": f"{h.image_base()}/v2/images/{image_id}"}


@action("os-getConsoleOutput")
def _console_output(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    length = (arg or {}).get("length")
    if length is not None:
        try:
            length = as_int(length, -1)
        except BadInteger:
            raise errors.InvalidInput("Invalid input for field/attribute length.") from None
        length = None if length == -1 else length
    return {"output": h.actions_.console_output(ctx, server_id, length)}


# ---- networking -------------------------------------------------------------------------
@action("addFloatingIp", until=(2, 43))
def _add_floating_ip(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    floating_action(h, ctx, server_id, "addFloatingIp", arg)


@action("removeFloatingIp", until=(2, 43))
def _remove_floating_ip(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    floating_action(h, ctx, server_id, "removeFloatingIp", arg)


def _group_name(arg: Any) -> str:
    group = arg.get("name") if isinstance(arg, dict) else None
    if not isinstance(group, str) or not group:
        raise errors.InvalidInput("Missing parameter name")
    return group


@action("addSecurityGroup")
def _add_security_group(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.server_security_groups.add(ctx, server_id, _group_name(arg))


@action("removeSecurityGroup")
def _remove_security_group(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.server_security_groups.remove(ctx, server_id, _group_name(arg))
