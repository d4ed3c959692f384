"""A server's security groups: list them, add one to a running server, remove
one (``/servers/{id}/os-security-groups``, ``addSecurityGroup`` and
``removeSecurityGroup``). The groups themselves are the network domain's
(:class:`~core.network.security_groups.SecurityGroupService`); as Nova, a
change applies to every port of the server (the instance also keeps the names,
for the servers its views list)."""

from __future__ import annotations

from core import errors
from core.compute.instance_store import InstanceStore, not_found
from core.compute.models import Instance
from core.context import RequestContext
from core.db import Database
from core.network.instance_ports import InstanceNetworking
from core.network.security_group_types import (
    Group,
    GroupAlreadyOnServer,
    GroupNotFound,
    GroupNotOnServer,
)
from core.network.security_groups import SecurityGroupService
from core.policy import PolicyEnforcer

SERVER_LIST = "os_compute_api:os-security-groups:list"
SERVER_ADD = "os_compute_api:os-security-groups:add"
SERVER_REMOVE = "os_compute_api:os-security-groups:remove"


class ServerSecurityGroups:
    def __init__(self, db: Database, policy: PolicyEnforcer, store: InstanceStore,
                 groups: SecurityGroupService, ports: InstanceNetworking) -> None:
        self.ports = ports
        self.db = db
        self.policy = policy
        self.store = store
        self.groups = groups

    def list(self, ctx: RequestContext, server_uuid: str) -> list[Group]:
        """The groups a server is in, in the order it names them."""
        inst = self._instance(ctx, server_uuid, SERVER_LIST)
        return self.groups.groups_named(inst.project_id, list(inst.security_groups or []))

    def add(self, ctx: RequestContext, server_uuid: str, ref: str) -> None:
        """Add the group named (or with the uuid) ``ref``; GroupAlreadyOnServer
        if the server is in it."""
        inst = self._instance(ctx, server_uuid, SERVER_ADD)
        group = self._group(ctx, inst, ref, SERVER_ADD)
        with self.db.session() as s:
            current = self.store.update(inst.uuid, {}, s=s)  # locks the instance's row
            names = list(current.security_groups or [])
            if group.name in names:
                raise GroupAlreadyOnServer(f"Security group {group.name} is already "
                                           f"associated with the instance {inst.uuid}")
            self.groups.hold_for_boot(s, inst.project_id, [group.name])
            self.store.update(inst.uuid, {"security_groups": [*names, group.name]}, s=s)
            self.ports.set_security_groups(s, inst.uuid, inst.project_id, [*names, group.name])

    def remove(self, ctx: RequestContext, server_uuid: str, ref: str) -> None:
        """Remove the group ``ref``; GroupNotOnServer if the server is not in it."""
        inst = self._instance(ctx, server_uuid, SERVER_REMOVE)
        group = self._group(ctx, inst, ref, SERVER_REMOVE)
        with self.db.session() as s:
            current = self.store.update(inst.uuid, {}, s=s)
            names = list(current.security_groups or [])
            if group.name not in names:
                raise GroupNotOnServer(f"Security group {group.name} not associated with "
                                       f"the instance {inst.uuid}")
            kept = [n for n in names if n != group.name]
            self.store.update(inst.uuid, {"security_groups": kept}, s=s)
            self.ports.set_security_groups(s, inst.uuid, inst.project_id, kept)

    def _group(self, ctx: RequestContext, inst: Instance, ref: str, rule: str) -> Group:
        try:
            return self.groups.find(ctx, ref, rule)
        except GroupNotFound:
            raise errors.NotFound(f"Security group {ref} not found for project "
                                  f"{inst.project_id}.", kind="security_group",
                                  id=ref) from None

    def _instance(self, ctx: RequestContext, uuid: str, rule: str) -> Instance:
        inst = self.store.get(uuid)
        if inst.project_id != ctx.project_id and not ctx.is_admin:
            raise not_found(uuid)
        self.policy.enforce(rule, {"project_id": inst.project_id,
                                   "user_id": inst.user_id}, ctx)
        return inst
