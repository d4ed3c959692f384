"""What the move flows (shelve, unshelve, rebuild, live migration, evacuation)
share: the instance as its new host's agent gets it (with its volumes), the
image it is spawned from, and the claims kept equal to what each host runs.

While an instance moves, the allocation on the host it leaves is parked under
its migration consumer (as a resize parks it) and the scheduler claims room on
the new host under the instance; the move that lands drops the parked one, the
move that fails drops the new claim and takes the parked one back."""

from __future__ import annotations

from typing import Any

from core import errors
from core.compute.instance_store import InstanceNotFound, instance_message
from core.compute.models import Instance
from core.compute.server_volumes import attachment_message
from core.compute.usage import migration_consumer
from core.conductor.build import build_message
from core.conductor.tasks import ConductorDeps
from core.conductor.volumes import VolumeAttachments
from core.context import RequestContext
from core.placement import claims


def move_message(deps: ConductorDeps, inst: Instance) -> dict[str, Any]:
    """The instance for the agent that spawns it: its reserved volumes to connect
    (``block_devices``) and those attached already to reconnect (``volumes``)."""
    if deps.volumes is None:
        return instance_message(inst)
    message = build_message(deps, inst)
    message["volumes"] = [attachment_message(a) for a in VolumeAttachments(deps).live(inst.uuid)
                          if a.attach_status == "attached"]
    return message


def image_of(deps: ConductorDeps, inst: Instance, image_id: str | None = None) -> dict:
    """The image to spawn from (``image_id``, or the instance's), as the agent gets it."""
    ref = image_id or inst.image_ref
    out: dict[str, Any] = {"id": ref, "properties": {}, "min_ram": 0, "min_disk": 0}
    if deps.images is None or not ref:
        return out
    ctx = RequestContext(user_id=inst.user_id, project_id=inst.project_id,
                         roles=("admin", "member", "reader"), is_admin=True)
    try:
        image = deps.images.show(ctx, ref).image
    except errors.CoreError:
        return out
    return dict(out, name=image.name, min_ram=image.min_ram or 0,
                min_disk=image.min_disk or 0)


def in_task(deps: ConductorDeps, uuid: str, task_state: str, on_host: bool = True
            ) -> Instance | None:
    """The instance, if it still exists in ``task_state`` (and on a host): a
    message delivered again, or overtaken by a delete, finds it moved on."""
    try:
        inst = deps.store.get(uuid)
    except InstanceNotFound:
        return None
    if inst.task_state != task_state or (on_host and not inst.host):
        return None
    return inst


def park(deps: ConductorDeps, uuid: str) -> None:
    """The instance's allocation (on the host it leaves) moves to its migration consumer."""
    claims.rename_consumer(deps.db, uuid, migration_consumer(uuid))


def land(deps: ConductorDeps, uuid: str) -> None:
    """The move landed: the parked allocation on the old host goes."""
    claims.release_resources(deps.db, migration_consumer(uuid))


def unpark(deps: ConductorDeps, uuid: str) -> None:
    """The move failed: the new claim goes and the parked allocation comes back."""
    claims.release_resources(deps.db, uuid)
    claims.rename_consumer(deps.db, migration_consumer(uuid), uuid)


def selection_spec(spec: dict, uuid: str, leaving: str | None) -> dict:
    """The scheduling request of a move: this instance, never the host it leaves."""
    ignore = list(spec.get("ignore_hosts") or [])
    if leaving and leaving not in ignore:
        ignore.append(leaving)
    return dict(spec, instance_uuids=[uuid], ignore_hosts=ignore, claim_holder=None)
