"""``/servers/{id}/os-server-password``: the encrypted password a guest posted."""

from __future__ import annotations

from core.compute.server_passwords import ServerPasswords
from gateway.openstack.compute.base import NO_CONTENT, ComputeDeps, Handler


class ServerPassword(Handler):
    def __init__(self, deps: ComputeDeps) -> None:
        super().__init__(deps)
        self.passwords: ServerPasswords = deps.server_passwords

    def show(self, server_id: str):
        return {"password": self.passwords.show(self.context(), server_id)}

    def clear(self, server_id: str):
        self.passwords.clear(self.context(), server_id)
        return NO_CONTENT
