"""Server actions that move a server between Nova's settled states (registered in
the ``server_actions`` registry): pause, unpause, suspend, resume, rescue,
unrescue, changePassword, os-resetState, restore and forceDelete. Their bodies
are checked here, after the server was found (a missing server is a 404 before
anything else), with Nova's schema messages."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core import errors
from core.context import RequestContext
from gateway.openstack.compute import microversions
from gateway.openstack.compute.server_actions import action

if TYPE_CHECKING:
    from gateway.openstack.compute.servers import Servers

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                     r"[0-9a-fA-F]{12}$")


def object_arg(name: str, arg: Any, allowed: tuple[str, ...], nullable: bool = False
            ) -> dict[str, Any]:
    """The action's argument as an object with only ``allowed`` keys."""
    if arg is None and nullable:
        return {}
    if not isinstance(arg, dict):
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: {arg}. "
                                  f"{arg!r} is not of type 'object'")
    extra = sorted(set(arg) - set(allowed))
    if extra:
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Additional "
                                  f"properties are not allowed ({', '.join(map(repr, extra))} "
                                  f"{'was' if len(extra) == 1 else 'were'} unexpected)")
    return arg


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: "
                                  f"{value}. {value!r} is not of type 'string'")
    return value


# ---- pause / unpause, suspend / resume ----------------------------------------------
@action("pause")
def _pause(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.state_actions.pause(ctx, server_id)


@action("unpause")
def _unpause(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.state_actions.unpause(ctx, server_id)


@action("suspend")
def _suspend(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.state_actions.suspend(ctx, server_id)


@action("resume")
def _resume(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.state_actions.resume(ctx, server_id)


# ---- rescue / unrescue ----------------------------------------------------------------
@action("rescue")
def _rescue(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    """200 ``{"adminPass"}``: the password given, or one generated."""
    body = object_arg("rescue", arg, ("adminPass", "rescue_image_ref"), nullable=True)
    password = _string("adminPass", body["adminPass"]) if "adminPass" in body else None
    image_ref = body.get("rescue_image_ref")
    if image_ref is not None and not (isinstance(image_ref, str) and UUID_RE.match(image_ref)):
        raise errors.InvalidInput(f"Invalid input for field/attribute rescue_image_ref. "
                                  f"Value: {image_ref}. {image_ref!r} is not a 'uuid'")
    # 2.87: a volume-backed server too (stable device rescue)
    return {"adminPass": h.deps.state_actions.rescue(
        ctx, server_id, password, image_ref,
        allow_volume_backed=microversions.current() >= (2, 87))}, 200


@action("unrescue")
def _unrescue(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.state_actions.unrescue(ctx, server_id)


# ---- changePassword, os-resetState ----------------------------------------------------------
@action("changePassword")
def _change_password(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    body = object_arg("changePassword", arg, ("adminPass",))
    if "adminPass" not in body:
        raise errors.InvalidInput("Invalid input for field/attribute changePassword. Value: "
                                  f"{body}. 'adminPass' is a required property")
    h.deps.state_actions.change_password(ctx, server_id, _string("adminPass", body["adminPass"]))


@action("os-resetState")
def _reset_state(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    body = object_arg("os-resetState", arg, ("state",))
    if "state" not in body:
        raise errors.InvalidInput("Invalid input for field/attribute os-resetState. Value: "
                                  f"{body}. 'state' is a required property")
    h.deps.state_actions.reset_state(ctx, server_id, _string("state", body["state"]))


# ---- soft delete: restore, forceDelete ---------------------------------------------------------
@action("restore")
def _restore(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.state_actions.restore(ctx, server_id)


@action("forceDelete")
def _force_delete(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.state_actions.force_delete(ctx, server_id)
