"""Key pairs (``os-keypairs``): per user; ``type`` from 2.2, 201/204 from 2.2,
another user's (admins, ``user_id``) from 2.10, ``limit`` / ``marker`` paging
(by name) and ``keypairs_links`` from 2.35; from 2.92 ``public_key`` is required
(no key is generated) and names may also hold "@" and "."."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from connexion import NoContent, request

from core import errors
from gateway.openstack.compute import microversions, views
from gateway.openstack.compute.base import ACCEPTED, MAX_INT, Handler, query_int

PAGING = (2, 35)
NO_GENERATION = (2, 92)


class Keypairs(Handler):
    def _user_id(self) -> str | None:
        """``?user_id=`` is honoured from 2.10 (and ignored before, as Nova does)."""
        return self.query("user_id") if microversions.current() >= (2, 10) else None

    def list(self, **_: Any):
        mv = microversions.current()
        limit = marker = None
        if mv >= PAGING:
            limit, marker = query_int("limit"), self.query("marker")
            # Nova: no limit (or 0) means the largest page
            limit = min(limit or MAX_INT, self.deps.settings.max_limit)
        keys = self.deps.keypairs.list_keypairs(self.context(), self._user_id(), limit,
                                                marker)
        out: dict[str, Any] = {"keypairs": [{"keypair": views.keypair(k, mv)} for k in keys]}
        if limit is not None and keys and len(keys) >= limit:
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
            out["keypairs_links"] = [{"rel": "next", "href": f"{self.deps.base}/v2.1/"
                                      "os-keypairs?" + urlencode([*params,
                                                                  ("marker", keys[-1].name)])}]
        return out

    def create(self, body: dict[str, Any]):
        mv = microversions.current()
        spec = body["keypair"]
        for name, since in (("type", (2, 2)), ("user_id", (2, 10))):
            if name in spec and mv < since:
                raise errors.InvalidInput(
                    "Invalid input for field/attribute keypair. Additional properties are "
                    f"not allowed ('{name}' was unexpected)")
        if mv >= NO_GENERATION and "public_key" not in spec:
            raise errors.InvalidInput("Invalid input for field/attribute keypair. "
                                      "'public_key' is a required property")
        key, private = self.deps.keypairs.create(
            self.context(), spec["name"], spec.get("public_key"), spec.get("type", "ssh"),
            spec.get("user_id"), wide_name=mv >= NO_GENERATION)
        out = {"keypair": views.keypair(key, mv, user=True, private_key=private)}
        return out, 201 if mv >= (2, 2) else 200

    def show(self, keypair_name: str, **_: Any):
        key = self.deps.keypairs.show(self.context(), keypair_name, self._user_id())
        return {"keypair": views.keypair(key, microversions.current(), full=True)}

    def delete(self, keypair_name: str, **_: Any):
        self.deps.keypairs.delete(self.context(), keypair_name, self._user_id())
        return (NoContent, 204) if microversions.current() >= (2, 2) else ACCEPTED
