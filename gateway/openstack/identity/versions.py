"""Version discovery: ``GET /identity`` (300) and ``GET /identity/v3`` (200)."""

from __future__ import annotations

from typing import Any

from gateway.openstack.identity.base import Handler

UPDATED = "2020-04-07T00:00:00Z"
VERSION = "v3.14"


class Versions(Handler):
    def _version(self) -> dict[str, Any]:
        return {"id": VERSION, "status": "stable", "updated": UPDATED,
                "links": [{"rel": "self", "href": f"{self.views.base}/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.identity-v3+json"}]}

    def list(self):
        return ({"versions": {"values": [self._version()]}}, 300,
                {"Location": f"{self.views.base}/"})

    def show(self):
        return {"version": self._version()}
