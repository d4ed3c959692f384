"""``POST /v3/volumes/{id}/action``: one action per body, as Cinder's
``volume_actions`` and ``admin_actions`` extensions answer them (202 unless
noted; ``os-set_bootable`` and ``os-initialize_connection`` are 200)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connexion import NoContent

from core import errors
from core.context import RequestContext
from gateway.openstack.volume import microversions
from gateway.openstack.volume.base import ACCEPTED, Handler, parse_bool, parse_size
from gateway.openstack.volume.views import timestamp

_STATUSES = frozenset({"available", "creating", "deleting", "error", "error_deleting",
                       "error_extending", "in-use", "attaching", "detaching", "reserved",
                       "extending", "maintenance", "error_restoring"})
_ATTACH_STATUSES = frozenset({"attached", "detached"})


def _args(body: dict[str, Any], action: str) -> dict[str, Any]:
    value = body.get(action)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.InvalidInput(f"Invalid input for field/attribute {action}: "
                                  f"{value!r} is not of type 'object'", param=action)
    return value


class VolumeActions(Handler):
    def act(self, volume_id: str, body: Any, **_: Any):
        if not isinstance(body, dict) or len(body) != 1:
            raise errors.InvalidInput("There is no such action: the body names one action.")
        action = next(iter(body))
        method: Callable[..., Any] | None = _ACTIONS.get(action)
        if method is None:
            raise errors.InvalidInput(f"There is no such action: {action}")
        ctx = self.context()
        return method(self, ctx, volume_id, _args(body, action))

    # ---- size, flags
    def extend(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        if "new_size" not in args:
            raise errors.InvalidInput("Invalid input for field/attribute os-extend: "
                                      "'new_size' is a required property", param="new_size")
        new_size = parse_size(args["new_size"], "new_size")
        self.services.volumes.extend(ctx, volume_id, new_size,
                                     allow_in_use=microversions.current() >= (3, 42))
        return ACCEPTED

    def set_bootable(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        if "bootable" not in args:
            raise errors.InvalidInput("Must specify bootable", param="bootable")
        self.services.volumes.set_bootable(ctx, volume_id,
                                           parse_bool(args["bootable"], "bootable"))
        return NoContent, 200

    def update_readonly(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        if "readonly" not in args:
            raise errors.InvalidInput("Must specify readonly", param="readonly")
        self.services.volumes.update_readonly(ctx, volume_id,
                                              parse_bool(args["readonly"], "readonly"))
        return ACCEPTED

    # ---- images
    def upload_image(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        """``os-volume_upload_image``: 202 with the volume ``uploading`` and the
        new image's id (Cinder's answer)."""
        answer = self.services.volumes.upload_to_image(
            ctx, volume_id, image_name=args.get("image_name"), force=args.get("force", False),
            disk_format=args.get("disk_format"),
            container_format=args.get("container_format"),
            visibility=args.get("visibility"), protected=args.get("protected", False))
        if microversions.current() < (3, 1):
            answer.pop("visibility", None)
            answer.pop("protected", None)
        answer["updated_at"] = timestamp(answer["updated_at"])
        if answer.get("volume_type"):
            vtype = answer["volume_type"]
            vtype["created_at"] = timestamp(vtype["created_at"])
            vtype["updated_at"] = timestamp(vtype["updated_at"])
        return {"os-volume_upload_image": answer}, 202

    # ---- admin
    def reset_status(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        status, attach_status = args.get("status"), args.get("attach_status")
        if status is None and attach_status is None and "migration_status" not in args:
            raise errors.InvalidInput("Must specify 'status', 'attach_status' or "
                                      "'migration_status' for update.")
        if status is not None and str(status).lower() not in _STATUSES:
            raise errors.InvalidInput(f"Must specify a valid status (got {status!r})",
                                      param="status")
        if attach_status is not None and str(attach_status).lower() not in _ATTACH_STATUSES:
            raise errors.InvalidInput(f"Must specify a valid attach status "
                                      f"(got {attach_status!r})", param="attach_status")
        self.services.volumes.reset_status(
            ctx, volume_id, status=str(status).lower() if status is not None else None,
            attach_status=str(attach_status).lower() if attach_status is not None else None,
            migration_status=args.get("migration_status"))
        return ACCEPTED

    def force_delete(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        self.services.volumes.force_delete(ctx, volume_id)
        return ACCEPTED

    def force_detach(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        self.services.attachments.force_detach(ctx, volume_id,
                                               attachment_id=args.get("attachment_id"))
        return ACCEPTED

    # ---- the legacy attach flow (pre-3.27, still served)
    def reserve(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        self.services.attachments.reserve(ctx, volume_id)
        return ACCEPTED

    def unreserve(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        self.services.attachments.unreserve(ctx, volume_id)
        return ACCEPTED

    def begin_detaching(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        self.services.attachments.begin_detaching(ctx, volume_id)
        return ACCEPTED

    def roll_detaching(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        self.services.attachments.roll_detaching(ctx, volume_id)
        return ACCEPTED

    def attach(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        instance_uuid, host_name = args.get("instance_uuid"), args.get("host_name")
        if not instance_uuid and not host_name:
            raise errors.InvalidInput("Invalid request to attach volume to an invalid "
                                      "target", param="instance_uuid")
        mountpoint = args.get("mountpoint")
        if not mountpoint:
            raise errors.InvalidInput("Must specify 'mountpoint'", param="mountpoint")
        mode = args.get("mode", "rw")
        if mode not in ("rw", "ro"):
            raise errors.InvalidInput("Invalid request to attach volume with an invalid "
                                      "mode. Attaching mode should be 'rw' or 'ro'",
                                      param="mode")
        self.services.attachments.attach(ctx, volume_id, instance_uuid,
                                         mountpoint=mountpoint, mode=mode,
                                         host_name=host_name)
        return ACCEPTED

    def detach(self, ctx: RequestContext, volume_id: str, args: dict[str, Any]):
        self.services.attachments.detach(ctx, volume_id,
                                         attachment_id=args.get("attachment_id"))
        return ACCEPTED

    def initialize_connection(self, ctx: RequestContext, volume_id: str,
                              args: dict[str, Any]):
        connector = args.get("connector")
        if not isinstance(connector, dict):
            raise errors.InvalidInput("Must specify 'connector'", param="connector")
        info = self.services.attachments.initialize_connection(ctx, volume_id, connector)
        return {"connection_info": info}, 200

    def terminate_connection(self, ctx: RequestContext, volume_id: str,
                             args: dict[str, Any]):
        connector = args.get("connector")
        if not isinstance(connector, dict):
            raise errors.InvalidInput("Must specify 'connector'", param="connector")
        self.services.attachments.terminate_connection(ctx, volume_id, connector)
        return ACCEPTED


_ACTIONS: dict[str, Callable[..., Any]] = {
    "os-extend": VolumeActions.extend,
    "os-volume_upload_image": VolumeActions.upload_image,
    "os-set_bootable": VolumeActions.set_bootable,
    "os-update_readonly_flag": VolumeActions.update_readonly,
    "os-reset_status": VolumeActions.reset_status,
    "os-force_delete": VolumeActions.force_delete,
    "os-force_detach": VolumeActions.force_detach,
    "os-reserve": VolumeActions.reserve,
    "os-unreserve": VolumeActions.unreserve,
    "os-begin_detaching": VolumeActions.begin_detaching,
    "os-roll_detaching": VolumeActions.roll_detaching,
    "os-attach": VolumeActions.attach,
    "os-detach": VolumeActions.detach,
    "os-initialize_connection": VolumeActions.initialize_connection,
    "os-terminate_connection": VolumeActions.terminate_connection,
}
