"""Version discovery: ``GET /compute`` lists v2.0 then v2.1 (tempest checks the
order); ``/compute/v2`` and ``/compute/v2.1`` document each. No token needed."""

from __future__ import annotations

from typing import Any

from gateway.openstack.compute.base import Handler
from gateway.openstack.compute.microversions import MAX_VERSION, MIN_VERSION

V20_UPDATED = "2025-07-04T12:00:00Z"
V21_UPDATED = "2013-07-23T11:33:21Z"
DESCRIBED_BY = {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}


class Versions(Handler):
    def _v20(self) -> dict[str, Any]:
        return {"id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "",
                "updated": V20_UPDATED,
                "links": [{"rel": "self", "href": f"{self.deps.base}/v2/"}]}

    def _v21(self) -> dict[str, Any]:
        return {"id": "v2.1", "status": "CURRENT", "version": str(MAX_VERSION),
                "min_version": str(MIN_VERSION), "updated": V21_UPDATED,
                "links": [{"rel": "self", "href": f"{self.deps.base}/v2.1/"}]}

    @staticmethod
    def _document(entry: dict[str, Any], media_version: str) -> dict[str, Any]:
        return {"version": {**entry, "links": [*entry["links"], DESCRIBED_BY],
                            "media-types": [{
                                "base": "application/json",
                                "type": "application/vnd.openstack.compute+json;"
                                        f"version={media_version}"}]}}

    def list(self):
        return {"versions": [self._v20(), self._v21()]}

    def show_v2(self):
        return self._document(self._v20(), "2")

    def show(self):
        return self._document(self._v21(), "2.1")
