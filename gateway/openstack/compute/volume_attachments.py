"""``/servers/{id}/os-volume_attachments``: a server's volumes, as Nova lists,
attaches (200 with the device it chose) and detaches (202) them
(nova/api/openstack/compute/volume_attachments.py). The fields shown follow
the request's microversion: ``tag`` from 2.70, ``delete_on_termination`` from
2.79, ``attachment_id`` and ``bdm_uuid`` instead of ``id`` from 2.89 (the POST
answer keeps ``id``, as Nova's). Multiattach volumes attach from 2.60. ``PUT``
swaps the volume (admins; below 2.85 and with another ``volumeId``) or, from
2.85 with the same ``volumeId``, updates ``delete_on_termination``."""

from __future__ import annotations

from typing import Any

from connexion import NoContent

from core import errors
from core.compute.server_volumes import AttachedVolume, ServerVolumes
from gateway.openstack.compute import microversions
from gateway.openstack.compute.base import Handler, query_int
from gateway.openstack.compute.interfaces import UUID
from gateway.openstack.compute.microversions import APIVersion

# request keys and the microversion that brought each (Nova's schemas)
_SINCE = {"tag": (2, 49), "delete_on_termination": (2, 79)}
MULTIATTACH = (2, 60)
UPDATE = (2, 85)
# what a 2.85 PUT may name besides volumeId (each but delete_on_termination unchanged)
_UPDATE_KEYS = ("id", "serverId", "device", "tag", "delete_on_termination")


def _unexpected(given: dict, key: str) -> errors.InvalidInput:
    return errors.InvalidInput(
        f"Invalid input for field/attribute volumeAttachment. Value: {given}. "
        f"Additional properties are not allowed ('{key}' was unexpected)", param=key)


def _check_uuid(value: Any) -> None:
    if not UUID.match(str(value)):
        raise errors.InvalidInput(f"Invalid input for field/attribute volumeId. Value: "
                                  f"{value}. '{value}' is not a 'uuid'", param="volumeId")


def attachment_view(item: AttachedVolume, mv: APIVersion) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if mv < (2, 89):
        out["id"] = item.volume_id
    out["volumeId"] = item.volume_id
    out["serverId"] = item.server_id
    if item.device:
        out["device"] = item.device
    if mv >= (2, 70):
        out["tag"] = item.tag
    if mv >= (2, 79):
        out["delete_on_termination"] = item.delete_on_termination
    if mv >= (2, 89):
        out["attachment_id"] = item.attachment_id
        out["bdm_uuid"] = item.bdm_uuid
    return out


class VolumeAttachments(Handler):
    @property
    def service(self) -> ServerVolumes:
        return self.deps.server_volumes

    def list(self, server_id: str):
        mv = microversions.current()
        items = self.service.list(self.context(), server_id)
        offset = query_int("offset") or 0
        limit = query_int("limit")
        items = items[offset:] if limit is None else items[offset:offset + limit]
        return {"volumeAttachments": [attachment_view(i, mv) for i in items]}

    def show(self, server_id: str, volume_id: str):
        item = self.service.get(self.context(), server_id, volume_id)
        return {"volumeAttachment": attachment_view(item, microversions.current())}

    def create(self, server_id: str, body: dict):
        mv = microversions.current()
        given = body["volumeAttachment"]
        for key, since in _SINCE.items():
            if key in given and mv < since:
                raise _unexpected(given, key)
        _check_uuid(given["volumeId"])
        item = self.service.attach(
            self.context(), server_id, given["volumeId"], device=given.get("device"),
            tag=given.get("tag"),
            delete_on_termination=bool(given.get("delete_on_termination", False)),
            multiattach=mv >= MULTIATTACH)
        # Nova answers the POST from the request (``id`` at every version)
        out: dict[str, Any] = {"id": item.volume_id, "serverId": item.server_id,
                               "volumeId": item.volume_id, "device": item.device}
        if mv >= (2, 70):
            out["tag"] = item.tag
        if mv >= (2, 79):
            out["delete_on_termination"] = item.delete_on_termination
        return {"volumeAttachment": out}

    def update(self, server_id: str, volume_id: str, body: dict):
        mv = microversions.current()
        given = body["volumeAttachment"]
        for key in _UPDATE_KEYS:
            if key in given and mv < UPDATE:
                raise _unexpected(given, key)
        _check_uuid(given["volumeId"])
        ctx = self.context()
        if mv < UPDATE or given["volumeId"] != volume_id:
            # the swap API (admins: Cinder's volume migration)
            self.service.swap(ctx, server_id, volume_id, given["volumeId"])
        else:
            self.service.update(ctx, server_id, volume_id, unchanged={
                k: given[k] for k in ("id", "serverId", "device", "tag") if k in given},
                delete_on_termination=given.get("delete_on_termination"))
        return NoContent, 202

    def delete(self, server_id: str, volume_id: str):
        self.service.detach(self.context(), server_id, volume_id)
        return NoContent, 202
