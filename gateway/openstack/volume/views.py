"""Records of the volume services as Cinder's JSON, field set per microversion
(``cinder/api/v3/views/*.py``: Tempest's response schemas reject extra keys).

Timestamps carry no zone: ``2018-11-29T06:50:07.770785``.
"""

from __future__ import annotations

import datetime
from typing import Any

from gateway.openstack.volume.microversions import APIVersion

# Cinder shows its internal states by the public ones.
_SHOWN_STATUS = {"managing": "creating", "error_managing": "error",
                 "error_managing_deleting": "deleting"}


def timestamp(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.isoformat()


def links(base: str, project_id: str, collection: str, ident: str) -> list[dict[str, str]]:
    """Cinder's self (versioned) and bookmark (unversioned) links."""
    return [{"rel": "self", "href": f"{base}/v3/{project_id}/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{project_id}/{collection}/{ident}"}]


def volume_summary(volume: Any, base: str) -> dict[str, Any]:
    return {"id": volume.id, "name": volume.name,
            "links": links(base, volume.project_id, "volumes", volume.id)}


def volume_attachment(attachment: Any, is_admin: bool) -> dict[str, Any]:
    """One item of a volume's ``attachments`` (attached ones only)."""
    return {"id": attachment.volume_id, "attachment_id": attachment.id,
            "volume_id": attachment.volume_id, "server_id": attachment.instance_uuid,
            "host_name": attachment.attached_host if is_admin else None,
            "device": attachment.mountpoint, "attached_at": timestamp(attachment.attached_at)}


def volume_detail(volume: Any, *, base: str, version: APIVersion, is_admin: bool,
                  type_name: str | None, attachments: list[Any] = (),  # type: ignore[assignment]
                  extended: bool = True) -> dict[str, Any]:
    """A volume as show and detail answer it (``extended``), or as create and
    update do (without the extension attributes)."""
    out: dict[str, Any] = {
        "id": volume.id, "status": _SHOWN_STATUS.get(volume.status, volume.status),
        "size": volume.size, "availability_zone": volume.availability_zone,
        "created_at": timestamp(volume.created_at),
        "updated_at": timestamp(volume.updated_at),
        "attachments": [volume_attachment(a, is_admin) for a in attachments
                        if a.attach_status == "attached"],
        "name": volume.name, "description": volume.description, "volume_type": type_name,
        "snapshot_id": volume.snapshot_id, "source_volid": volume.source_volid,
        "metadata": dict(volume.metadata_ or {}),
        "links": links(base, volume.project_id, "volumes", volume.id),
        "user_id": volume.user_id, "bootable": "true" if volume.bootable else "false",
        "encrypted": False, "replication_status": None, "consistencygroup_id": None,
        "multiattach": bool(volume.multiattach)}
    if is_admin:
        out["migration_status"] = volume.migration_status
    if version >= (3, 13):
        out["group_id"] = None
    if is_admin and version >= (3, 21):
        out["provider_id"] = None
    if version >= (3, 48):
        out["shared_targets"] = None if version >= (3, 69) else True
        out["service_uuid"] = None
    if is_admin and version >= (3, 61):
        out["cluster_name"] = None
    if version >= (3, 63):
        out["volume_type_id"] = volume.volume_type_id
    if version >= (3, 65):
        out["consumes_quota"] = True
    if extended:
        out["os-vol-tenant-attr:tenant_id"] = volume.project_id
        if is_admin:
            out["os-vol-host-attr:host"] = volume.host
            out["os-vol-mig-status-attr:migstat"] = volume.migration_status
            out["os-vol-mig-status-attr:name_id"] = None
        if volume.image_metadata:
            out["volume_image_metadata"] = {k: str(v) for k, v in
                                            volume.image_metadata.items()}
    return out


def snapshot(snap: Any, *, version: APIVersion, extended: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": snap.id, "created_at": timestamp(snap.created_at),
        "updated_at": timestamp(snap.updated_at), "name": snap.name,
        "description": snap.description, "volume_id": snap.volume_id,
        "status": snap.status, "size": snap.size, "metadata": dict(snap.metadata_ or {})}
    if version >= (3, 14):
        out["group_snapshot_id"] = None
    if version >= (3, 41):
        out["user_id"] = snap.user_id
    if version >= (3, 65):
        out["consumes_quota"] = True
    if extended:
        out["os-extended-snapshot-attributes:progress"] = snap.progress
        out["os-extended-snapshot-attributes:project_id"] = snap.project_id
    return out


def attachment(att: Any, detail: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": att.id, "status": att.attach_status,
                           "instance": att.instance_uuid, "volume_id": att.volume_id}
    if detail:
        out.update(attached_at=timestamp(att.attached_at),
                   detached_at=timestamp(att.detached_at), attach_mode=att.attach_mode,
                   connection_info=att.connection_info)
    return out


def volume_type(vtype: Any, *, is_admin: bool, specs: dict[str, str]) -> dict[str, Any]:
    """A type with the extra specs the caller may see (``specs``)."""
    out = {"id": vtype.id, "name": vtype.name, "description": vtype.description,
           "is_public": bool(vtype.is_public), "extra_specs": specs,
           "os-volume-type-access:is_public": bool(vtype.is_public)}
    if is_admin:
        out["qos_specs_id"] = None
    return out
