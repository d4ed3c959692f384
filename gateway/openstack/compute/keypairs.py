"""Key pairs (``os-keypairs``): per user; ``type`` from 2.2, 201/204 from 2.2,
another user's (admins, ``user_id``) from 2.10."""

from __future__ import annotations

from typing import Any

from connexion import NoContent

from core import errors
from gateway.openstack.compute import microversions, views
from gateway.openstack.compute.base import ACCEPTED, Handler


class Keypairs(Handler):
    def _user_id(self) -> str | None:
        """``?user_id=`` is honoured from 2.10 (and ignored before, as Nova does)."""
        return self.query("user_id") if microversions.current() >= (2, 10) else None

    def list(self, **_: Any):
        mv = microversions.current()
        keys = self.deps.keypairs.list_keypairs(self.context(), self._user_id())
        return {"keypairs": [{"keypair": views.keypair(k, mv)} for k in keys]}

    def create(self, body: dict[str, Any]):
        mv = microversions.current()
        spec = body["keypair"]
        for name, since in (("type", (2, 2)), ("user_id", (2, 10))):
            if name in spec and mv < since:
                raise errors.InvalidInput(
                    "Invalid input for field/attribute keypair. Additional properties are "
                    f"not allowed ('{name}' was unexpected)")
        key, private = self.deps.keypairs.create(
            self.context(), spec["name"], spec.get("public_key"), spec.get("type", "ssh"),
            spec.get("user_id"))
        out = {"keypair": views.keypair(key, mv, user=True, private_key=private)}
        return out, 201 if mv >= (2, 2) else 200

    def show(self, keypair_name: str, **_: Any):
        key = self.deps.keypairs.show(self.context(), keypair_name, self._user_id())
        return {"keypair": views.keypair(key, microversions.current(), full=True)}

    def delete(self, keypair_name: str, **_: Any):
        self.deps.keypairs.delete(self.context(), keypair_name, self._user_id())
        return (NoContent, 204) if microversions.current() >= (2, 2) else ACCEPTED
