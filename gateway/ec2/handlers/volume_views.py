"""EBS views of Cinder's volumes, attachments and snapshots: AWS's states and
element names (``Volume``, ``VolumeAttachment``, ``Snapshot`` shapes), under
``vol-`` / ``snap-`` IDs from the ID map.

States, as ``openstack/ec2-api`` mapped them, with its leaks closed: a volume
that is ``reserved``, ``attaching`` or ``detaching`` is ``in-use``; every
``error*`` is ``error``; the other transient states (``extending``,
``retyping``, ``backing-up``, ...) are ``in-use`` if the volume is attached,
else ``available``. A snapshot ``creating`` (or ``deleting``) is ``pending``,
``available`` is ``completed``. An attachment ``reserved`` is ``attaching``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.context import RequestContext
from core.idmap.ids import Kind
from core.idmap.tag_table import resource_tags
from core.volume.models import Snapshot, Volume, VolumeAttachment
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Ec2Deps
from gateway.ec2.xml import iso8601

VOLUME_STATES = {"creating", "available", "in-use", "deleting", "deleted", "error"}
IN_USE = {"in-use", "reserved", "attaching", "detaching"}
ATTACHMENT_STATES = {"reserved": "attaching", "attaching": "attaching",
                     "detaching": "detaching", "attached": "attached"}
SNAPSHOT_STATES = {"creating": "pending", "new": "pending", "deleting": "pending",
                   "available": "completed", "active": "completed"}
AWS_VOLUME_TYPES = ("standard", "gp2", "gp3", "io1", "io2", "sc1", "st1")
GONE = ("detached", "deleted")  # attachments that no longer hold their volume
# The private keys of a view (for filters), dropped before the answer.
PRIVATE = ("_client_token",)


def volume_state(status: str, attached: bool) -> str:
    """EC2's State of a volume in Cinder's ``status``."""
    if status in IN_USE:
        return "in-use"
    if status.startswith("error"):
        return "error"
    if status in VOLUME_STATES:
        return status
    return "in-use" if attached else "available"


def attachment_state(att: VolumeAttachment, volume_status: str) -> str:
    if volume_status == "detaching":
        return "detaching"
    return ATTACHMENT_STATES.get(att.attach_status, "attached" if not
                                 att.attach_status.startswith("error") else "busy")


def snapshot_state(status: str) -> str:
    if status.startswith("error"):
        return "error"
    return SNAPSHOT_STATES.get(status, status)


def cinder_type(deps: Ec2Deps, ctx: RequestContext, wanted: str | None) -> str | None:
    """The Cinder volume type an EC2 ``VolumeType`` names (None: the default
    type): a type of that name, else AWS's own names mean the default."""
    if not wanted:
        return None
    if wanted in {t.name for t in deps.volumes.types.list(ctx)}:
        return wanted
    if wanted in AWS_VOLUME_TYPES:
        return None
    raise Ec2Error("InvalidParameterValue",
                   f"Invalid value '{wanted}' for volumeType: no such volume type.")


def public(view: dict[str, Any]) -> dict[str, Any]:
    """``view`` without its private keys."""
    for key in PRIVATE:
        view.pop(key, None)
    return view


def _attachments(a: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(a.get("Attachments") or [])


VOLUME_FILTERS: Filters[dict[str, Any]] = Filters({
    "availability-zone": lambda v: v["AvailabilityZone"],
    "client-token": lambda v: v.get("_client_token"),
    "create-time": lambda v: v["CreateTime"],
    "encrypted": lambda v: v["Encrypted"],
    "multi-attach-enabled": lambda v: v["MultiAttachEnabled"],
    "size": lambda v: v["Size"],
    "snapshot-id": lambda v: v.get("SnapshotId"),
    "status": lambda v: v["State"],
    "volume-id": lambda v: v["VolumeId"],
    "volume-type": lambda v: v["VolumeType"],
    "attachment.attach-time": lambda v: [a["AttachTime"] for a in _attachments(v)],
    "attachment.delete-on-termination": lambda v: [a["DeleteOnTermination"]
                                                   for a in _attachments(v)],
    "attachment.device": lambda v: [a["Device"] for a in _attachments(v)],
    "attachment.instance-id": lambda v: [a["InstanceId"] for a in _attachments(v)],
    "attachment.status": lambda v: [a["State"] for a in _attachments(v)],
}, tags=lambda v: {t["Key"]: t["Value"] for t in v["Tags"]})

SNAPSHOT_FILTERS: Filters[dict[str, Any]] = Filters({
    "description": lambda s: s.get("Description"),
    "owner-id": lambda s: s["OwnerId"],
    "progress": lambda s: s["Progress"],
    "snapshot-id": lambda s: s["SnapshotId"],
    "start-time": lambda s: s["StartTime"],
    "status": lambda s: s["State"],
    "volume-id": lambda s: s.get("VolumeId"),
    "volume-size": lambda s: s["VolumeSize"],
    "encrypted": lambda s: s["Encrypted"],
}, tags=lambda s: {t["Key"]: t["Value"] for t in s["Tags"]})


class VolumeViews:
    """Writes volumes, their attachments and snapshots as EC2 shapes, reading
    what they refer to (IDs, tags, types, attachments) in batches."""

    def __init__(self, deps: Ec2Deps) -> None:
        self.deps = deps

    # ---- reading ----------------------------------------------------------------
    def attachments_of(self, ctx: RequestContext, volume_ids: Sequence[str]
                       ) -> dict[str, list[VolumeAttachment]]:
        """The live attachments (not detached) of each volume, oldest first."""
        out: dict[str, list[VolumeAttachment]] = {v: [] for v in volume_ids}
        if not volume_ids:
            return out
        found = self.deps.volumes.volumes.attachments_for(list(volume_ids),
                                                          attached_only=False)
        for volume_id, atts in found.items():
            out[volume_id] = [a for a in atts if a.attach_status not in GONE]
        return out

    def type_names(self, volumes: Sequence[Volume]) -> dict[str, str]:
        """The names of the volumes' types, by type id."""
        return self.deps.volumes.volumes.type_names(volumes)

    # ---- volumes ----------------------------------------------------------------
    def volume_ids(self, volumes: Iterable[Volume]) -> dict[str, str]:
        return self.deps.ids.ec2_ids_for(Kind.VOLUME, [(v.id, v.project_id) for v in volumes])

    def volumes(self, ctx: RequestContext, volumes: Sequence[Volume]
                ) -> list[dict[str, Any]]:
        """``Volume`` shapes (with the private keys of :data:`PRIVATE`)."""
        if not volumes:
            return []
        ids = self.deps.ids
        vol_ids = self.volume_ids(volumes)
        snaps = ids.existing(Kind.SNAPSHOT, [v.snapshot_id for v in volumes if v.snapshot_id])
        attachments = self.attachments_of(ctx, [v.id for v in volumes])
        instances = ids.existing(Kind.INSTANCE, [a.instance_uuid for atts in
                                                 attachments.values() for a in atts
                                                 if a.instance_uuid])
        types = self.type_names(volumes)
        tags = resource_tags(ids.db, Kind.VOLUME, ctx.project_id or "",
                             [v.id for v in volumes])
        owners = self.deps.ids.accounts.account_ids_for({v.project_id for v in volumes})
        out = []
        for v in volumes:
            atts = attachments.get(v.id, [])
            state = volume_state(v.status, bool(atts))
            view: dict[str, Any] = {
                "VolumeId": vol_ids[v.id], "Size": v.size,
                "SnapshotId": snaps.get(v.snapshot_id or "") or None,
                "AvailabilityZone": v.availability_zone, "State": state,
                "CreateTime": iso8601(v.created_at),
                "VolumeType": types.get(v.volume_type_id, v.volume_type_id),
                "Encrypted": False, "MultiAttachEnabled": bool(v.multiattach),
                "OwnerId": owners.get(v.project_id),
                "Attachments": [self.attachment(vol_ids[v.id], a, v.status, instances)
                                for a in atts] if state == "in-use" else [],
                "Tags": tags.get(v.id, []), "_client_token": v.client_token}
            out.append(view)
        return out

    @staticmethod
    def attachment(volume_id: str, att: VolumeAttachment, volume_status: str,
                   instances: Mapping[str, str]) -> dict[str, Any]:
        """A ``VolumeAttachment`` shape: the device the EC2 client asked for, or
        Nova's name for an attachment made through the compute API."""
        return {"VolumeId": volume_id,
                "InstanceId": instances.get(att.instance_uuid or ""),
                "Device": att.ec2_device or att.mountpoint,
                "State": attachment_state(att, volume_status),
                "AttachTime": iso8601(att.attached_at or att.created_at),
                "DeleteOnTermination": bool(att.delete_on_termination)}

    # ---- snapshots --------------------------------------------------------------
    def snapshots(self, ctx: RequestContext, snapshots: Sequence[Snapshot]
                  ) -> list[dict[str, Any]]:
        """``Snapshot`` shapes."""
        if not snapshots:
            return []
        ids = self.deps.ids
        snap_ids = ids.ec2_ids_for(Kind.SNAPSHOT, [(s.id, s.project_id) for s in snapshots])
        vols = ids.existing(Kind.VOLUME, [s.volume_id for s in snapshots])
        owners = ids.accounts.account_ids_for({s.project_id for s in snapshots})
        tags = resource_tags(ids.db, Kind.SNAPSHOT, ctx.project_id or "",
                             [s.id for s in snapshots])
        return [{"SnapshotId": snap_ids[s.id], "VolumeId": vols.get(s.volume_id),
                 "State": snapshot_state(s.status), "StartTime": iso8601(s.created_at),
                 "Progress": "100%" if snapshot_state(s.status) == "completed" else
                 (s.progress or "0%"), "OwnerId": owners.get(s.project_id),
                 "Description": s.description or "", "VolumeSize": s.size,
                 "Encrypted": False, "StorageTier": "standard",
                 "StateMessage": s.fault if snapshot_state(s.status) == "error" else None,
                 "Tags": tags.get(s.id, [])} for s in snapshots]


# ---- instances' block devices ---------------------------------------------------------
EBS_STATES = {"reserved": "attaching", "attaching": "attaching", "attached": "attached",
              "detaching": "detaching"}


def instance_block_devices(deps: Ec2Deps, instances: Sequence[Any]
                           ) -> dict[str, tuple[list[dict[str, Any]], str | None]]:
    """Each instance's ``BlockDeviceMappings`` (its volumes, by the device name
    the EC2 client asked for, else Nova's) and the device name of its root
    volume (None: it boots from its image), by server uuid. One query finds
    the instances that have volumes; only those are read further."""
    server_volumes = deps.server_volumes
    owners = {i.uuid: i.project_id for i in instances}
    having = [u for u, vols in server_volumes.volumes_attached(list(owners)).items() if vols]
    attached = {u: server_volumes.attached(u) for u in having}
    vol_ids = deps.ids.ec2_ids_for(Kind.VOLUME, [(a.volume_id, owners[u])
                                                 for u, atts in attached.items()
                                                 for a in atts])
    out: dict[str, tuple[list[dict[str, Any]], str | None]] = {}
    for uuid, atts in attached.items():
        mappings, root = [], None
        for a in atts:
            name = a.ec2_device or a.device
            if a.boot_index == 0:
                root = name
            mappings.append({"DeviceName": name, "Ebs": {
                "VolumeId": vol_ids.get(a.volume_id), "Status": EBS_STATES.get(a.status,
                                                                              "attached"),
                "DeleteOnTermination": bool(a.delete_on_termination)}})
        out[uuid] = (mappings, root)
    return out
