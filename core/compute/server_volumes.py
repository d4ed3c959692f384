"""A server's volumes (``/servers/{id}/os-volume_attachments``), as Nova attaches
Cinder's volumes: the API checks the server and the volume, the conductor
reserves the attachment and the device name (a synchronous call: the answer
carries the device), the server's compute agent connects the volume and the
conductor completes the attachment (the volume goes ``in-use``). Detaching
marks the volume ``detaching`` here and leaves the rest to the conductor and
the agent (the volume goes back to ``available``).

EC2's AttachVolume and DetachVolume use the same service (``ec2_device`` keeps
the name an EC2 client asked for)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from core import errors
from core.compute import block_devices, states
from core.compute.instance_store import InstanceStore, not_found
from core.compute.models import Instance
from core.compute.rpcapi import ConductorClient
from core.context import RequestContext
from core.policy import PolicyEnforcer

LIST = "os_compute_api:os-volumes-attachments:index"
SHOW = "os_compute_api:os-volumes-attachments:show"
CREATE = "os_compute_api:os-volumes-attachments:create"
DELETE = "os_compute_api:os-volumes-attachments:delete"
UPDATE = "os_compute_api:os-volumes-attachments:update"
SWAP = "os_compute_api:os-volumes-attachments:swap"
# nova/compute/api.py attach_volume / detach_volume: check_instance_state(vm_state=...)
ATTACHABLE = (states.ACTIVE, "paused", states.STOPPED, states.RESIZED, "soft-delete",
              "shelved", "shelved_offloaded")
# attachments that no longer hold the volume
GONE = ("detached", "deleted")


@dataclass(frozen=True)
class AttachedVolume:
    """One volume of a server: Nova's block device mapping of it."""

    volume_id: str
    server_id: str
    device: str | None
    attachment_id: str
    bdm_uuid: str
    status: str  # the attachment's: reserved, attaching, attached, detaching, ...
    delete_on_termination: bool = False
    tag: str | None = None
    ec2_device: str | None = None
    boot_index: int | None = None

    @classmethod
    def of(cls, row: Any) -> AttachedVolume:
        """From a VolumeAttachment row (or the dict the conductor answers with)."""
        values: dict[str, Any] = row if isinstance(row, dict) else {
            k: getattr(row, k, None) for k in (
                "volume_id", "instance_uuid", "mountpoint", "id", "bdm_uuid", "attach_status",
                "delete_on_termination", "tag", "ec2_device", "boot_index")}
        get = values.get
        return cls(volume_id=str(get("volume_id")), server_id=str(get("instance_uuid")),
                   device=get("mountpoint"), attachment_id=str(get("id")),
                   bdm_uuid=get("bdm_uuid") or "", status=get("attach_status") or "",
                   delete_on_termination=bool(get("delete_on_termination")),
                   tag=get("tag"), ec2_device=get("ec2_device"), boot_index=get("boot_index"))


def attachment_message(row: Any) -> dict[str, Any]:
    """A VolumeAttachment row as the bus carries it (plain values only)."""
    return {key: getattr(row, key, None) for key in (
        "id", "volume_id", "instance_uuid", "mountpoint", "bdm_uuid", "attach_status",
        "delete_on_termination", "tag", "ec2_device", "boot_index", "attach_mode")}


def context_message(ctx: RequestContext) -> dict[str, Any]:
    """The caller, as the conductor acts for it (Nova passes the user's context to Cinder)."""
    return {"user_id": ctx.user_id, "project_id": ctx.project_id, "roles": list(ctx.roles),
            "is_admin": ctx.is_admin, "request_id": ctx.request_id,
            "user_domain_id": ctx.user_domain_id, "project_domain_id": ctx.project_domain_id}


def context_from(message: dict[str, Any]) -> RequestContext:
    return RequestContext(user_id=message.get("user_id"), project_id=message.get("project_id"),
                          roles=tuple(message.get("roles") or ()),
                          is_admin=bool(message.get("is_admin")),
                          request_id=message.get("request_id"),
                          user_domain_id=message.get("user_domain_id"),
                          project_domain_id=message.get("project_domain_id"))


# What the conductor's answer names when it refused, back to the domain error.
_ERRORS: dict[str, type[errors.CoreError]] = {
    "not_found": errors.NotFound, "invalid": errors.InvalidInput,
    "conflict": errors.Conflict}


def error_message(exc: errors.CoreError) -> dict[str, Any]:
    """A domain error as the conductor answers with it (the bus keeps no classes)."""
    category = ("not_found" if isinstance(exc, errors.NotFound) else
                "conflict" if isinstance(exc, errors.Conflict) else "invalid")
    return {"category": category, "message": exc.message, "kind": exc.kind, "id": exc.id}


def raise_error(answer: dict[str, Any]) -> None:
    cls = _ERRORS.get(answer.get("category") or "", errors.InvalidInput)
    raise cls(answer.get("message"), kind=answer.get("kind"), id=answer.get("id"))


class ServerVolumes:
    """List, show, attach and detach a server's volumes (policy-checked)."""

    def __init__(self, policy: PolicyEnforcer, store: InstanceStore,
                 conductor: ConductorClient, volumes: Any) -> None:
        self.policy = policy
        self.store = store
        self.conductor = conductor
        self.volumes = volumes  # core.volume's VolumeServices bundle

    # ---- reading ------------------------------------------------------------
    def _instance(self, ctx: RequestContext, uuid: str, rule: str) -> Instance:
        inst = self.store.get(uuid)
        if inst.project_id != ctx.project_id and not ctx.is_admin:
            raise not_found(uuid)
        self.policy.enforce(rule, {"project_id": inst.project_id, "user_id": inst.user_id},
                            ctx)
        return inst

    def attached(self, instance_uuid: str) -> list[AttachedVolume]:
        if self.volumes is None:
            return []
        rows = self.volumes.volumes.attachments_of_instance(instance_uuid)
        out = [AttachedVolume.of(r) for r in rows]
        return sorted((a for a in out if a.status not in GONE),
                      key=lambda a: (a.device or "~", a.attachment_id))

    def list(self, ctx: RequestContext, server_uuid: str) -> list[AttachedVolume]:
        inst = self._instance(ctx, server_uuid, LIST)
        return self.attached(inst.uuid)

    def get(self, ctx: RequestContext, server_uuid: str, volume_id: str,
            rule: str = SHOW) -> AttachedVolume:
        inst = self._instance(ctx, server_uuid, rule)
        for item in self.attached(inst.uuid):
            if item.volume_id == volume_id:
                return item
        raise errors.NotFound(f"Volume {volume_id} is not attached to the instance "
                              f"{inst.uuid}.", kind="volume", id=volume_id)

    def volumes_attached(self, uuids: builtins.list[str]
                         ) -> dict[str, builtins.list[tuple[str, bool]]]:
        """Each server's volumes as its view shows them (one query for all)."""
        if not uuids or self.volumes is None:
            return {}
        return self.volumes.volumes.volumes_attached(uuids)

    # ---- attach / detach --------------------------------------------------
    @staticmethod
    def _check_state(ctx: RequestContext, inst: Instance, action: str) -> None:
        if inst.locked and not ctx.is_admin:
            raise errors.Conflict(f"Instance {inst.uuid} is locked", kind="instance",
                                  id=inst.uuid, state="locked")
        if inst.vm_state not in ATTACHABLE or inst.task_state is not None:
            which = (f"task_state {inst.task_state}" if inst.vm_state in ATTACHABLE
                     else f"vm_state {inst.vm_state}")
            raise errors.Conflict(f"Cannot '{action}' instance {inst.uuid} while it is in "
                                  f"{which}", kind="instance", id=inst.uuid,
                                  state=inst.task_state or inst.vm_state)

    def attach(self, ctx: RequestContext, server_uuid: str, volume_id: str, *,
               device: str | None = None, tag: str | None = None,
               delete_on_termination: bool = False, ec2_device: str | None = None,
               multiattach: bool = False) -> AttachedVolume:
        """Reserve ``volume_id`` for the server: its device name is chosen at once;
        the volume is ``reserved``, then ``in-use`` once the host connected it.
        A multiattach volume needs ``multiattach`` (the caller's API allows them:
        compute 2.60) and may be in use by other servers already."""
        inst = self._instance(ctx, server_uuid, CREATE)
        if self.volumes is None:
            raise errors.ServiceUnavailable("Block storage is not available.")
        block_devices.check_requested(device)
        self._check_state(ctx, inst, "attach_volume")
        volume = self.volumes.volumes.get(ctx, volume_id)  # VolumeNotFound: 404
        for item in self.attached(inst.uuid):
            if item.volume_id == volume.id:
                raise errors.InvalidInput(f"Invalid volume: volume {volume.id} already "
                                          "attached", kind="volume", id=volume.id)
        if volume.multiattach:
            self._check_multiattach(inst, multiattach)
        if volume.status != "available" and not (
                volume.multiattach and volume.status == "in-use"):
            raise errors.InvalidInput(
                f"Invalid volume: volume '{volume.id}' status must be 'available'. "
                f"Currently in '{volume.status}'", kind="volume", id=volume.id)
        answer = self.conductor.attach_volume(
            inst.uuid, volume.id, context_message(ctx), device=device, tag=tag,
            delete_on_termination=delete_on_termination, ec2_device=ec2_device)
        if not answer.get("ok"):
            raise_error(answer)
        return AttachedVolume.of(answer["attachment"])

    @staticmethod
    def _check_multiattach(inst: Instance, allowed: bool) -> None:
        """nova/compute/api.py: MultiattachNotSupportedOldMicroversion and
        MultiattachToShelvedNotSupported (both 400s)."""
        if not allowed:
            raise errors.InvalidInput("Multiattach volumes are only supported starting with "
                                      "compute API version 2.60.", kind="volume")
        if inst.vm_state == "shelved_offloaded":
            raise errors.InvalidInput("Attaching multiattach volumes is not supported for "
                                      "shelved-offloaded instances.", kind="volume")

    def update(self, ctx: RequestContext, server_uuid: str, volume_id: str, *,
               delete_on_termination: bool | None = None,
               unchanged: dict[str, Any] | None = None) -> None:
        """Nova 2.85's attachment update: only ``delete_on_termination`` changes;
        ``unchanged`` (``id``, ``serverId``, ``device``, ``tag`` as given) must
        equal the attachment's (400 "The <key> property is not mutable")."""
        item = self.get(ctx, server_uuid, volume_id, UPDATE)
        current = {"id": item.volume_id, "serverId": item.server_id, "device": item.device,
                   "tag": item.tag}
        for key, value in (unchanged or {}).items():
            if key in current and value != current[key]:
                raise errors.InvalidInput(f"The {key} property is not mutable", param=key)
        if delete_on_termination is not None:
            self.volumes.attachments.set_delete_on_termination(item.attachment_id,
                                                               delete_on_termination)

    def swap(self, ctx: RequestContext, server_uuid: str, volume_id: str,
             new_volume_id: str) -> None:
        """Nova's swap volume (``PUT`` with another volume): an admin/service API
        Cinder calls while it migrates a volume. No volume here ever migrates, so
        after the checks Nova makes first it is Nova's 409 "not migrating"."""
        inst = self.store.get(server_uuid)
        if inst.project_id != ctx.project_id and not ctx.is_admin:
            raise not_found(server_uuid)
        self.policy.enforce(SWAP, {}, ctx)
        if self.volumes is None:
            raise errors.ServiceUnavailable("Block storage is not available.")
        old = self.volumes.volumes.get(ctx, volume_id)  # VolumeNotFound: 404
        if not getattr(old, "migration_status", None):
            raise errors.Conflict(f"volume {volume_id} is not migrating; this API should "
                                  "only be called by Cinder", kind="volume", id=volume_id)
        raise errors.Conflict(f"Swapping volume {volume_id} for {new_volume_id} is not "
                              "supported by this cloud's hosts.", kind="volume", id=volume_id)

    def detach(self, ctx: RequestContext, server_uuid: str, volume_id: str) -> None:
        """Start detaching ``volume_id`` (``detaching``); it is ``available`` once
        the host let it go."""
        item = self.get(ctx, server_uuid, volume_id, DELETE)
        inst = self.store.get(server_uuid)
        self._check_state(ctx, inst, "detach_volume")
        if item.boot_index == 0:
            raise errors.InvalidInput("Cannot detach a root device volume", kind="volume",
                                      id=volume_id)
        if item.status != "attached":
            raise errors.InvalidInput(
                f"Invalid volume: Unable to detach volume {volume_id}: its attachment is "
                f"{item.status}.", kind="volume", id=volume_id)
        self.volumes.attachments.begin_detaching(ctx, volume_id)
        self.conductor.detach_volume(inst.uuid, item.attachment_id)
