"""A server's password as its guest posted it, encrypted with the server's key
(Nova's ``os-server-password``): shown to the project's readers, cleared by its
members. The guest side (the metadata service's POST) is :meth:`set`."""

from __future__ import annotations

from sqlalchemy import delete

from core.clock import utcnow
from core.compute.models import InstancePassword
from core.compute.servers import ServerService
from core.context import RequestContext
from core.db import Database


class ServerPasswords:
    def __init__(self, db: Database, servers: ServerService) -> None:
        self.db = db
        self.servers = servers

    def show(self, ctx: RequestContext, server_id: str) -> str:
        """The encrypted password, or "" when none was posted (or it was cleared)."""
        inst = self.servers.get(ctx, server_id, "os_compute_api:os-server-password:show")
        with self.db.session() as s:
            row = s.get(InstancePassword, inst.uuid)
            return row.password if row is not None else ""

    def clear(self, ctx: RequestContext, server_id: str) -> None:
        inst = self.servers.get(ctx, server_id, "os_compute_api:os-server-password:clear")
        with self.db.session() as s:
            s.execute(delete(InstancePassword).where(
                InstancePassword.instance_uuid == inst.uuid))

    def set(self, instance_uuid: str, password: str) -> None:
        """Store what the guest posted (the metadata service's side)."""
        with self.db.session() as s:
            row = s.get(InstancePassword, instance_uuid)
            if row is None:
                s.add(InstancePassword(instance_uuid=instance_uuid, password=password))
            else:
                row.password, row.updated_at = password, utcnow()
