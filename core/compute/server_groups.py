"""Server groups: sets of servers the scheduler places together (affinity) or
apart (anti-affinity), strictly or as a preference (soft-*)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core import errors
from core.compute.models import ServerGroup, ServerGroupMember
from core.context import RequestContext
from core.db import Database
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService, check_count

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
QUOTA_MESSAGE = "Quota exceeded, too many server groups."
MEMBERS_QUOTA_MESSAGE = "Quota exceeded, too many servers in group"


@dataclass(frozen=True)
class GroupView:
    """A server group with its members' instance UUIDs."""

    group: ServerGroup
    members: tuple[str, ...]


def not_found(group_uuid: str) -> errors.NotFound:
    return errors.NotFound(f"Instance group {group_uuid} could not be found.")


class ServerGroupService:
    def __init__(self, db: Database, policy: PolicyEnforcer, quotas: QuotaService) -> None:
        self.db = db
        self.policy = policy
        self.quotas = quotas

    @staticmethod
    def _members(s: Session, group_ids: list[int]) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {gid: [] for gid in group_ids}
        if group_ids:
            for gid, instance in s.execute(
                    select(ServerGroupMember.group_id, ServerGroupMember.instance_uuid)
                    .where(ServerGroupMember.group_id.in_(group_ids))
                    .order_by(ServerGroupMember.instance_uuid)):
                out[gid].append(instance)
        return {gid: tuple(v) for gid, v in out.items()}

    def _load(self, s: Session, ctx: RequestContext, group_uuid: str) -> ServerGroup:
        group = s.scalar(select(ServerGroup).where(ServerGroup.uuid == group_uuid))
        if group is None or (not ctx.is_admin and group.project_id != ctx.project_id):
            raise not_found(group_uuid)
        return group

    def get(self, ctx: RequestContext, group_uuid: str) -> GroupView:
        """A group of the caller's project (any, for admins); NotFound otherwise."""
        with self.db.session() as s:
            group = self._load(s, ctx, group_uuid)
            self.policy.enforce("os_compute_api:os-server-groups:show",
                                {"project_id": group.project_id, "user_id": group.user_id},
                                ctx)
            return GroupView(group, self._members(s, [group.id])[group.id])

    def list_groups(self, ctx: RequestContext, all_projects: bool = False,
                    limit: int | None = None, offset: int = 0) -> list[GroupView]:
        self.policy.enforce("os_compute_api:os-server-groups:index",
                            {"project_id": ctx.project_id, "user_id": ctx.user_id}, ctx)
        q = select(ServerGroup).order_by(ServerGroup.id)
        if all_projects:
            self.policy.enforce("os_compute_api:os-server-groups:index:all_projects",
                                {"project_id": ctx.project_id}, ctx)
        else:
            q = q.where(ServerGroup.project_id == (ctx.project_id or ""))
        if offset:
            q = q.offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self.db.session() as s:
            groups = list(s.scalars(q))
            members = self._members(s, [g.id for g in groups])
            return [GroupView(g, members[g.id]) for g in groups]

    def create(self, ctx: RequestContext, name: str, policy: str,
               rules: dict | None = None) -> GroupView:
        self.policy.enforce("os_compute_api:os-server-groups:create",
                            {"project_id": ctx.project_id, "user_id": ctx.user_id}, ctx)
        if policy not in POLICIES:
            raise errors.InvalidInput(f"Invalid server group policy {policy}.")
        if not ctx.project_id or not ctx.user_id:
            raise errors.Forbidden("Server groups belong to a project; use a project-scoped "
                                   "token.")
        group = ServerGroup(name=name, project_id=ctx.project_id, user_id=ctx.user_id,
                            policy=policy, rules=dict(rules or {}))
        with self.db.session() as s:
            try:
                self.quotas.reserve(s, ctx.project_id, {"server_groups": 1})
            except errors.QuotaExceeded as exc:
                raise errors.QuotaExceeded(QUOTA_MESSAGE, resources=exc.resources,
                                           requested=exc.requested, used=exc.used,
                                           allowed=exc.allowed) from None
            s.add(group)
            s.flush()
        return GroupView(group, ())

    def delete(self, ctx: RequestContext, group_uuid: str) -> None:
        with self.db.session() as s:
            group = self._load(s, ctx, group_uuid)
            self.policy.enforce("os_compute_api:os-server-groups:delete",
                                {"project_id": group.project_id, "user_id": group.user_id},
                                ctx)
            s.execute(delete(ServerGroupMember).where(ServerGroupMember.group_id == group.id))
            s.delete(group)
            self.quotas.release(s, group.project_id, {"server_groups": 1})

    # ---- for the servers code ------------------------------------------
    def add_member(self, session: Session, group_uuid: str, instance_uuid: str,
                   project_id: str) -> ServerGroup:
        """Put a new instance in a group of ``project_id``, in the caller's
        transaction: NotFound if the group is not the project's, QuotaExceeded
        when the group is full (server_group_members)."""
        group = session.scalar(select(ServerGroup).where(ServerGroup.uuid == group_uuid)
                               .with_for_update())
        if group is None or group.project_id != project_id:
            raise not_found(group_uuid)
        count = session.scalar(select(func.count()).select_from(ServerGroupMember)
                               .where(ServerGroupMember.group_id == group.id)) or 0
        limit = self.quotas.limits_in(session, project_id)["server_group_members"]
        check_count("server_group_members", count, 1, limit, MEMBERS_QUOTA_MESSAGE)
        session.add(ServerGroupMember(group_id=group.id, instance_uuid=instance_uuid))
        session.flush()
        return group

    def remove_member(self, session: Session, instance_uuid: str) -> None:
        """Take an instance out of whatever group holds it (on delete)."""
        session.execute(delete(ServerGroupMember)
                        .where(ServerGroupMember.instance_uuid == instance_uuid))

    def group_of(self, session: Session, instance_uuid: str) -> ServerGroup | None:
        """The group an instance belongs to, if any (for the scheduler's filters)."""
        return session.scalar(select(ServerGroup).join(
            ServerGroupMember, ServerGroupMember.group_id == ServerGroup.id)
            .where(ServerGroupMember.instance_uuid == instance_uuid))

    def group_uuids_of(self, instance_uuids: list[str]) -> dict[str, str]:
        """The UUID of the group each instance belongs to (at most one), for the
        server view's ``server_groups`` (2.71)."""
        if not instance_uuids:
            return {}
        with self.db.session() as s:
            return {row.instance_uuid: row.uuid for row in s.execute(
                select(ServerGroupMember.instance_uuid, ServerGroup.uuid)
                .join(ServerGroup, ServerGroupMember.group_id == ServerGroup.id)
                .where(ServerGroupMember.instance_uuid.in_(instance_uuids)))}
