"""Rebuild: the same server on the same host, spawned again from an image, with
what Nova lets a rebuild change: name, metadata, the key pair (2.54; None
unsets it), user_data (2.57), trusted certificates (2.63), hostname (2.90),
and for a volume-backed server its root volume re-imaged (2.93; before, only
the image the volume holds is accepted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from core import errors
from core.compute import image_meta, states
from core.compute.models import Flavor, Instance
from core.compute.server_actions import load_for_action, wrong_state
from core.compute.server_volumes import AttachedVolume
from core.context import RequestContext
from core.volume.models import Volume

if TYPE_CHECKING:
    from core.compute.move_actions import MoveActions
    from core.compute.servers import ServerService

REBUILD = "os_compute_api:servers:rebuild"
TRUSTED_CERTS_RULE = "os_compute_api:servers:rebuild:trusted_certs"


class Keep:
    """A rebuild input not given: the server keeps what it has."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = Keep()


@dataclass
class RebuildRequest:
    image_ref: str
    name: str | None = None
    metadata: dict[str, str] | None = None
    preserve_ephemeral: bool = False
    key_name: Any = KEEP  # a key pair's name, or None to unset (2.54)
    user_data: Any = KEEP  # base64 text, or None to unset (2.57)
    trusted_certs: Any = KEEP  # a list of certificate ids, or None to unset (2.63)
    hostname: Any = KEEP  # 2.90
    reimage_boot_volume: bool = False  # 2.93


def root_volume_id(servers: ServerService, inst: Instance) -> str | None:
    """The volume a volume-backed server boots from (None: it boots from an image)."""
    volumes = servers.boot_volumes.volumes
    if inst.image_ref or volumes is None:
        return None
    rows = [AttachedVolume.of(r) for r in volumes.volumes.attachments_of_instance(inst.uuid)]
    root = next((a for a in rows if a.boot_index == 0), None)
    return root.volume_id if root else None


def rebuild(moves: MoveActions, ctx: RequestContext, uuid: str, req: RebuildRequest
            ) -> Instance:
    """Check and start a rebuild (the conductor has the host spawn it again)."""
    actions = moves.actions
    inst = load_for_action(actions.servers, ctx, uuid, REBUILD, "rebuild",
                           (states.ACTIVE, states.STOPPED, states.ERROR))
    flavor = Flavor(memory_mb=inst.memory_mb, root_gb=inst.root_gb)
    volume_id = root_volume_id(actions.servers, inst)
    values: dict[str, Any] = {"progress": 0}
    if volume_id is None:
        image = actions.checks.image(ctx, req.image_ref, flavor)
        values["image_ref"] = image["id"]
    else:
        image = _volume_image(moves, ctx, volume_id, req, inst)
    if req.metadata is not None:
        actions.checks.check_metadata(req.metadata)
    if not inst.host:
        raise wrong_state("rebuild", inst)
    if req.name is not None:
        values["display_name"] = req.name
    if req.metadata is not None:
        values["metadata_items"] = dict(req.metadata)
    if req.key_name is not KEEP:
        values["key_name"], values["key_data"] = actions.checks.key(ctx, req.key_name)
    if req.user_data is not KEEP:
        values["user_data"] = actions.checks.user_data(req.user_data)
    if req.hostname is not KEEP:
        values["hostname"] = req.hostname
    sysmeta = dict(inst.system_metadata or {})
    if volume_id is None:  # the new image's properties (2.98)
        sysmeta = image_meta.with_image(sysmeta, image, inst.flavor)
    if req.trusted_certs is not KEEP:
        actions.servers.policy.enforce(TRUSTED_CERTS_RULE, {"project_id": inst.project_id,
                                                            "user_id": inst.user_id}, ctx)
        if req.trusted_certs and volume_id is not None:
            raise errors.InvalidInput("Image certificate validation is not supported for "
                                      "volume-backed servers.",
                                      param="trusted_image_certificates")
        sysmeta.pop("trusted_image_certificates", None)
        if req.trusted_certs:
            sysmeta["trusted_image_certificates"] = list(req.trusted_certs)
    values["system_metadata"] = sysmeta
    inst = moves._claim(ctx, inst, "rebuild", states.REBUILDING, **values)
    if volume_id is not None and req.reimage_boot_volume:
        _reimage(moves, ctx, volume_id, image)
    moves.notifier.instance(inst, "rebuild.start", image_ref_url=image["id"],
                            preserve_ephemeral=req.preserve_ephemeral)
    moves.conductor.rebuild_instance(inst.uuid, image)
    return inst


def _volume_image(moves: MoveActions, ctx: RequestContext, volume_id: str,
                  req: RebuildRequest, inst: Instance) -> dict[str, Any]:
    """The image a volume-backed server is rebuilt from: below 2.93 only the one its
    root volume holds (Nova's ImageUnacceptable otherwise), from 2.93 any (the
    volume is re-imaged)."""
    volumes = moves.actions.servers.boot_volumes
    current = volumes.image_of_volume(ctx, volume_id)
    held = (current.get("properties") or {}).get("image_id")
    if not req.reimage_boot_volume:
        if held != req.image_ref:
            raise errors.InvalidInput(f"Image {req.image_ref} is unacceptable: Unable to "
                                      "rebuild with a different image for a volume-backed "
                                      "server.", kind="image", id=req.image_ref,
                                      param="imageRef")
        return dict(current, id=held or "")
    # the volume's size, not the flavor's disk, bounds the image: no root_gb check
    return dict(moves.actions.checks.image(ctx, req.image_ref,
                                           Flavor(memory_mb=inst.memory_mb, root_gb=0)))


def _reimage(moves: MoveActions, ctx: RequestContext, volume_id: str,
             image: dict[str, Any]) -> None:
    """Cinder's os-reimage of the root volume, simulated: the volume holds the new
    image now (its volume_image_metadata says so)."""
    volumes = moves.actions.servers.boot_volumes.volumes
    meta = dict(volumes.volumes._image(ctx, image["id"])[2])
    with moves.actions.servers.db.session() as s:
        s.execute(update(Volume).where(Volume.id == volume_id).values(image_metadata=meta))
