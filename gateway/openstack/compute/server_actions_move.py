"""The server actions that move a server or give it a new disk, registered in
the action registry (gateway/openstack/compute/server_actions.py): shelve,
shelveOffload, unshelve, rebuild, migrate, os-migrateLive, evacuate,
createBackup, and Nova's multinic addFixedIp / removeFixedIp (gone at 2.44)."""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING, Any

from connexion import NoContent

from core import errors
from core.compute.rebuild import KEEP
from core.context import RequestContext
from core.numbers import BadInteger, as_int
from gateway.openstack.compute import microversions, rebuild_inputs
from gateway.openstack.compute.base import parse_bool
from gateway.openstack.compute.server_actions import action
from gateway.openstack.compute.server_actions_state import object_arg

if TYPE_CHECKING:
    from gateway.openstack.compute.servers import Servers

_PASSWORD_CHARS = string.ascii_letters + string.digits


def _password(given: Any = None) -> str:
    if isinstance(given, str) and given:
        return given
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(12))


def _body(arg: Any, name: str) -> dict:
    if arg is None:
        return {}
    if not isinstance(arg, dict):
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}.")
    return arg


# ---- shelve ----------------------------------------------------------------------------
@action("shelve")
def _shelve(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.move_actions.shelve(ctx, server_id)


@action("shelveOffload")
def _shelve_offload(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    h.deps.move_actions.shelve_offload(ctx, server_id)


@action("unshelve")
def _unshelve(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    """2.77: ``{"availability_zone": name}``; 2.91: also ``host`` (admin) and a null
    zone (unpin). Below 2.77 only null."""
    mv = microversions.current()
    if arg is None:
        h.deps.move_actions.unshelve(ctx, server_id)
        return
    if mv < (2, 77):
        raise errors.InvalidInput("Invalid input for field/attribute unshelve. Value: "
                                  f"{arg}. {arg!r} is not of type 'null'")
    allowed = ("availability_zone", "host") if mv >= (2, 91) else ("availability_zone",)
    body = object_arg("unshelve", arg, allowed)
    zone: Any = KEEP
    if "availability_zone" in body:
        zone = body["availability_zone"]
        if zone is None and mv < (2, 91):
            raise errors.InvalidInput("Invalid input for field/attribute availability_zone. "
                                      "Value: None. None is not of type 'string'",
                                      param="availability_zone")
        if zone is not None and (not isinstance(zone, str) or not zone.strip()):
            raise errors.InvalidInput("Invalid input for field/attribute availability_zone.",
                                      param="availability_zone")
    host = body.get("host")
    if "host" in body and (not isinstance(host, str) or not host):
        raise errors.InvalidInput("Invalid input for field/attribute host.", param="host")
    h.deps.move_actions.unshelve(ctx, server_id, availability_zone=zone, host=host)


# ---- rebuild ---------------------------------------------------------------------------
@action("rebuild")
def _rebuild(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    body = _body(arg, "rebuild")
    inst = h.deps.move_actions.rebuild(ctx, server_id,
                                       rebuild_inputs.parse(body, microversions.current()))
    view = h.views.rebuilt(h._one(ctx, inst)["server"], inst, microversions.current())
    view["adminPass"] = _password(body.get("adminPass"))
    return {"server": view}, 202


# ---- migrations ------------------------------------------------------------------------
@action("migrate")
def _migrate(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    """From 2.56 ``{"host": name}`` (or null / {}): the scheduler checks the host."""
    if arg is not None and microversions.current() < (2, 56):
        raise errors.InvalidInput("Invalid input for field/attribute migrate. Value: "
                                  f"{arg}. {arg!r} is not of type 'null'")
    host = object_arg("migrate", arg, ("host",)).get("host") if arg is not None else None
    if host is not None and (not isinstance(host, str) or not host):
        raise errors.InvalidInput("Invalid input for field/attribute host.", param="host")
    h.deps.move_actions.migrate(ctx, server_id, host)


def _force(body: dict, host: Any, since: tuple[int, int], name: str) -> bool | None:
    """The ``force`` flag (``since`` up to 2.67; a 400 outside): None before it
    existed (a named host is forced), else a strict boolean, and only with a host."""
    mv = microversions.current()
    if not since <= mv <= (2, 67):
        if "force" in body:
            raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Additional "
                                      "properties are not allowed ('force' was unexpected)")
        return None if mv < since else False
    force = parse_bool(body.get("force", False), "force")
    if force and not host:
        raise errors.InvalidInput("Can't force to a non-provided destination")
    return force


@action("os-migrateLive")
def _migrate_live(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    body = _body(arg, "os-migrateLive")
    mv = microversions.current()
    required = ("block_migration", "host") if mv >= (2, 25) else \
        ("block_migration", "disk_over_commit", "host")
    missing = [k for k in required if k not in body]
    if missing:
        raise errors.InvalidInput(f"'{missing[0]}' is a required property",
                                  param=missing[0])
    block = body["block_migration"]
    if not (block == "auto" and mv >= (2, 25)):
        parse_bool(block, "block_migration")
    if "disk_over_commit" in body:
        if mv >= (2, 25):
            raise errors.InvalidInput("Additional properties are not allowed "
                                      "('disk_over_commit' was unexpected)")
        parse_bool(body["disk_over_commit"], "disk_over_commit")
    host = body.get("host")
    if host is not None and (not isinstance(host, str) or not host):
        raise errors.InvalidInput("Invalid input for field/attribute host.", param="host")
    force = _force(body, host, (2, 30), "os-migrateLive")
    h.deps.move_actions.live_migrate(ctx, server_id, host, force,
                                     async_prechecks=mv >= (2, 34))


@action("evacuate")
def _evacuate(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    body = _body(arg, "evacuate")
    mv = microversions.current()
    shared = body.get("onSharedStorage")
    if mv >= (2, 14) and "onSharedStorage" in body:
        raise errors.InvalidInput("Additional properties are not allowed "
                                  "('onSharedStorage' was unexpected)")
    if mv < (2, 14):
        if "onSharedStorage" not in body:
            raise errors.InvalidInput("'onSharedStorage' is a required property",
                                      param="onSharedStorage")
        shared = parse_bool(shared, "onSharedStorage")
        if shared and body.get("adminPass"):
            raise errors.InvalidInput("admin password can't be changed on existing disk")
    host = body.get("host")
    if host is not None and (not isinstance(host, str) or not host):
        raise errors.InvalidInput("Invalid input for field/attribute host.", param="host")
    force = _force(body, host, (2, 29), "evacuate")
    # 2.95: the evacuated server is left stopped
    h.deps.move_actions.evacuate(ctx, server_id, host, force, stop=mv >= (2, 95))
    if mv >= (2, 14):
        return NoContent, 200
    return {"adminPass": _password(body.get("adminPass"))}, 200


# ---- backups -----------------------------------------------------------------------------
@action("createBackup")
def _create_backup(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> Any:
    body = _body(arg, "createBackup")
    for key in ("name", "backup_type", "rotation"):
        if key not in body:
            raise errors.InvalidInput(f"'{key}' is a required property", param=key)
    name, kind = body["name"], body["backup_type"]
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise errors.InvalidInput("Invalid input for field/attribute name.", param="name")
    if not isinstance(kind, str) or not kind:
        raise errors.InvalidInput("Invalid input for field/attribute backup_type.",
                                  param="backup_type")
    try:
        rotation = as_int(body["rotation"], 0)
    except BadInteger:
        raise errors.InvalidInput("Invalid input for field/attribute rotation. Value: "
                                  f"{body['rotation']}.", param="rotation") from None
    image_id = h.deps.move_actions.create_backup(ctx, server_id, name, kind, rotation)
    if microversions.current() >= (2, 45):
        return {"image_id": image_id}, 202
    if image_id is None:
        return NoContent, 202
    return NoContent, 202, {"Location": f"{h.image_base()}/v2/images/{image_id}"}


# ---- multinic (removed at 2.44) ------------------------------------------------------------
@action("addFixedIp", until=(2, 43))
def _add_fixed_ip(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    network_id = _body(arg, "addFixedIp").get("networkId")
    if not isinstance(network_id, str | int) or isinstance(network_id, bool) \
            or not str(network_id):
        raise errors.InvalidInput("'networkId' is a required property", param="networkId")
    h.deps.server_fixed_ips.add(ctx, server_id, str(network_id))


@action("removeFixedIp", until=(2, 43))
def _remove_fixed_ip(h: Servers, ctx: RequestContext, server_id: str, arg: Any) -> None:
    address = _body(arg, "removeFixedIp").get("address")
    if not isinstance(address, str) or not address:
        raise errors.InvalidInput("'address' is a required property", param="address")
    h.deps.server_fixed_ips.remove(ctx, server_id, address)
