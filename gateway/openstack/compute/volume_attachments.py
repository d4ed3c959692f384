"""``/servers/{id}/os-volume_attachments``: a server's volumes, as Nova lists,
attaches (200 with the device it chose) and detaches (202) them
(nova/api/openstack/compute/volume_attachments.py). The fields shown follow
the request's microversion: ``tag`` from 2.70, ``delete_on_termination`` from
2.79, ``attachment_id`` and ``bdm_uuid`` instead of ``id`` from 2.89."""

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
                raise errors.InvalidInput(
                    f"Invalid input for field/attribute volumeAttachment. Value: {given}. "
                    f"Additional properties are not allowed ('{key}' was unexpected)",
                    param=key)
        if not UUID.match(str(given["volumeId"])):
            raise errors.InvalidInput(
                f"Invalid input for field/attribute volumeId. Value: {given['volumeId']}. "
                f"'{given['volumeId']}' is not a 'uuid'", param="volumeId")
        item = self.service.attach(
            self.context(), server_id, given["volumeId"], device=given.get("device"),
            tag=given.get("tag"),
            delete_on_termination=bool(given.get("delete_on_termination", False)))
        return {"volumeAttachment": attachment_view(item, mv)}

    def delete(self, server_id: str, volume_id: str):
        self.service.detach(self.context(), server_id, volume_id)
        return NoContent, 202
