"""Security groups: per project, named, with ingress and egress rules.

Every project has a ``default`` group, made on first use (a list, a boot, an
EC2 describe) as Neutron makes it: ingress of everything from members of the
group itself, egress of everything anywhere. Names are unique per project. A
group gets its EC2 ``sg-`` ID in the transaction that creates it.

Instances record the names of the groups they were booted with
(``Instance.security_groups``, read and written through the injected
:class:`~core.network.interfaces.InstanceRecords`); adding a group to a running
server and removing it are compute's (``core.compute.server_security_groups``). A boot bumps the ``generation`` of the groups
it names in its own transaction, and a delete bumps it before looking for
users, so the two queue on the group's row: a group is never deleted while a
boot that names it commits, and a boot never names a group just deleted.

Another domain keeping something of a group (EC2's VPC of a group,
``core.vpc``) adds to :attr:`SecurityGroupService.guards`: each is called
in a delete's transaction, to refuse (raising) or to forget its own record.

Rules are given as :class:`RuleSpec` (already parsed by the edge, which words
its own errors); a rule's ``fingerprint`` is unique in its group, so a
duplicate is refused also when two requests add it at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.models import Ec2Id
from core.idmap.tag_table import forget_tags
from core.network.interfaces import InstanceRecords
from core.network.models import PortSecurityGroup, SecurityGroup, SecurityGroupRule
from core.network.security_group_types import (
    DEFAULT,
    DEFAULT_DESCRIPTION,
    EGRESS,
    INGRESS,
    IPV4,
    IPV6,
    MAX_RULES,
    DefaultGroupProtected,
    DuplicateGroup,
    DuplicateRule,
    Group,
    GroupInUse,
    GroupNotFound,
    InvalidRule,
    Rule,
    RuleNotFound,
    RuleSpec,
    UnknownSecurityGroup,
    check_name,
    check_spec,
)
from core.policy import PolicyEnforcer
from core.quota.service import QuotaService

LIST = "os_compute_api:os-security-groups:get"
SHOW = "os_compute_api:os-security-groups:show"
CREATE = "os_compute_api:os-security-groups:create"
UPDATE = "os_compute_api:os-security-groups:update"
DELETE = "os_compute_api:os-security-groups:delete"
RULE_CREATE = "os_compute_api:os-security-groups:rule:create"
RULE_DELETE = "os_compute_api:os-security-groups:rule:delete"
NOVA_RULES = {"list": LIST, "show": SHOW, "create": CREATE, "update": UPDATE,
              "delete": DELETE, "rule_create": RULE_CREATE, "rule_delete": RULE_DELETE}
# The Network API's names for the same operations (core/policy/defaults/network.py).
NEUTRON_RULES = {"list": "network:get_security_group", "show": "network:get_security_group",
                 "create": "network:create_security_group",
                 "update": "network:update_security_group",
                 "delete": "network:delete_security_group",
                 "rule_create": "network:create_security_group_rule",
                 "rule_delete": "network:delete_security_group_rule"}
# In the transaction that made a group (or is deleting one): what else is kept of it.
GroupHook = Callable[[Session, SecurityGroup], None]


# ---- the service --------------------------------------------------------------------

class SecurityGroupService:
    """A project's groups and rules; ``instances`` answers which instances name
    a group (compute implements it), so a group in use is neither deleted nor
    renamed from under them."""

    def __init__(self, db: Database, policy: PolicyEnforcer,
                 instances: InstanceRecords, quotas: QuotaService,
                 rules: Mapping[str, str] | None = None) -> None:
        self.rules = dict(rules or NOVA_RULES)
        self.db = db
        self.policy = policy
        self.instances = instances
        self.quotas = quotas
        self.guards: list[GroupHook] = []

    # ---- reading -------------------------------------------------------------
    def list_groups(self, ctx: RequestContext, all_projects: bool = False) -> list[Group]:
        """The caller's project's groups (``default`` made if missing), by name;
        every project's for an admin asking for all."""
        project = ctx.project_id or ""
        self.policy.enforce(self.rules["list"], {"project_id": project}, ctx)
        if project:
            self.ensure_default(project)
        with self.db.session() as s:
            stmt = select(SecurityGroup)
            if not (all_projects and ctx.is_admin):
                stmt = stmt.where(SecurityGroup.project_id == project)
            rows = list(s.scalars(stmt.order_by(SecurityGroup.name, SecurityGroup.id)))
            return self._groups(s, rows)

    def get(self, ctx: RequestContext, uuid: str, rule: str | None = None) -> Group:
        """One group by uuid; another project's is not found (unless admin)."""
        with self.db.session() as s:
            row = self._row(s, ctx, uuid)
            self.policy.enforce(rule or self.rules["show"], {"project_id": row.project_id}, ctx)
            return self._groups(s, [row])[0]

    def find(self, ctx: RequestContext, ref: str, rule: str | None = None) -> Group:
        """The caller's project's group named ``ref`` (or with that uuid)."""
        project = ctx.project_id or ""
        if ref == DEFAULT:
            self.ensure_default(project)
        with self.db.session() as s:
            row = s.scalar(select(SecurityGroup).where(
                SecurityGroup.project_id == project,
                or_(SecurityGroup.name == ref, SecurityGroup.uuid == ref)
            ).order_by(SecurityGroup.name != ref))
            if row is None:
                raise GroupNotFound(ref)
            self.policy.enforce(rule or self.rules["show"], {"project_id": row.project_id}, ctx)
            return self._groups(s, [row])[0]

    def ec2_ids_by_name(self, project_id: str, names: Iterable[str]) -> dict[str, str]:
        """The ``sg-`` IDs of one project's groups by name, in one query (groups
        without an ID yet, or missing, are absent); no policy."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        with self.db.session() as s:
            return {name: ec2_id for name, ec2_id in s.execute(
                select(SecurityGroup.name, Ec2Id.ec2_id).join(
                    Ec2Id, (Ec2Id.os_uuid == SecurityGroup.uuid)
                    & (Ec2Id.kind == Kind.SECURITY_GROUP.value))
                .where(SecurityGroup.project_id == project_id,
                       SecurityGroup.name.in_(wanted)))}

    def _row(self, s: Session, ctx: RequestContext, uuid: str) -> SecurityGroup:
        row = s.scalar(select(SecurityGroup).where(SecurityGroup.uuid == uuid))
        if row is None or (row.project_id != ctx.project_id and not ctx.is_admin):
            raise GroupNotFound(uuid)
        return row

    def _groups(self, s: Session, rows: Sequence[SecurityGroup]) -> list[Group]:
        """Groups with their rules, in two queries."""
        if not rows:
            return []
        ids = [r.id for r in rows]
        rules: dict[int, list[SecurityGroupRule]] = defaultdict(list)
        for rule in s.scalars(select(SecurityGroupRule).where(
                SecurityGroupRule.group_id.in_(ids)).order_by(SecurityGroupRule.id)):
            rules[rule.group_id].append(rule)
        remote_ids = {r.remote_group_id for rs in rules.values() for r in rs
                      if r.remote_group_id is not None}
        known = {r.id: r for r in rows}
        missing = remote_ids - set(known)
        if missing:
            known.update((g.id, g) for g in s.scalars(
                select(SecurityGroup).where(SecurityGroup.id.in_(missing))))
        out = []
        for row in rows:
            views = []
            for r in rules[row.id]:
                remote = known.get(r.remote_group_id) if r.remote_group_id else None
                views.append(Rule(r.uuid, row.uuid, r.direction, r.protocol, r.port_min,
                                  r.port_max, r.cidr, remote.uuid if remote else None,
                                  remote.name if remote else None,
                                  remote.project_id if remote else None, r.description,
                                  r.ethertype, r.created_at, r.updated_at,
                                  r.revision_number or 0))
            out.append(Group(row.uuid, row.project_id, row.name, row.description or "",
                             row.created_at, tuple(views), row.updated_at,
                             row.revision_number or 0))
        return out

    # ---- the default group ------------------------------------------------------
    def ensure_default(self, project_id: str) -> None:
        """Make the project's ``default`` group if it has none (race-safe: two
        makers agree on one, the unique name decides)."""
        with self.db.session() as s:
            if s.scalar(select(SecurityGroup.id).where(
                    SecurityGroup.project_id == project_id,
                    SecurityGroup.name == DEFAULT)) is not None:
                return
        try:
            with self.db.session() as s:
                self.insert_default_like(s, project_id, DEFAULT, DEFAULT_DESCRIPTION)
        except IntegrityError:
            pass  # made by a concurrent call

    def insert_default_like(self, s: Session, project_id: str, name: str,
                            description: str) -> SecurityGroup:
        """In ``s``: a group with the default group's rules (ingress from its
        members, egress anywhere), outside the quota's limit as ``default``
        (a VPC's default group is one too); IntegrityError if the name is taken."""
        group = self._insert(s, project_id, name, description, forced=True)
        specs = [RuleSpec(INGRESS, None, remote_group=group.uuid, ethertype=e)
                 for e in (IPV4, IPV6)]
        self._add_default_rules(s, group, specs)
        return group

    def _add_default_rules(self, s: Session, group: SecurityGroup,
                           specs: Sequence[RuleSpec] = ()) -> None:
        """Neutron's rules of a new group: egress anywhere, IPv4 and IPv6 (and
        ``specs``); they count towards the project's rules quota, unchecked."""
        specs = [*specs, *(RuleSpec(EGRESS, None, ethertype=e) for e in (IPV4, IPV6))]
        for spec in specs:
            remote = group.id if spec.remote_group else None
            s.add(_rule_row(group.id, spec, remote))
        self.quotas.force(s, group.project_id, {"security_group_rules": len(specs)})

    def _insert(self, s: Session, project_id: str, name: str, description: str,
                forced: bool = False) -> SecurityGroup:
        if forced:
            self.quotas.force(s, project_id, {"security_groups": 1})
        else:
            self.quotas.reserve(s, project_id, {"security_groups": 1})
        row = SecurityGroup(project_id=project_id, name=name, description=description)
        s.add(row)
        s.flush()
        mint_new(s, Kind.SECURITY_GROUP, [(row.uuid, project_id)])
        return row

    # ---- groups ---------------------------------------------------------------
    def create(self, ctx: RequestContext, name: str, description: str,
               also: GroupHook | None = None) -> Group:
        """A new group; ``also`` runs in its transaction (EC2 records its VPC)."""
        project = ctx.project_id or ""
        self.policy.enforce(self.rules["create"], {"project_id": project}, ctx)
        check_name(name)
        if len(description or "") > 255:
            raise errors.InvalidInput("Security group description should not be greater "
                                      "than 255 characters.")
        if name == DEFAULT:
            self.ensure_default(project)
            raise DuplicateGroup(name, project)
        try:
            with self.db.session() as s:
                row = self._insert(s, project, name, description or "")
                self._add_default_rules(s, row)
                if also is not None:
                    also(s, row)
                s.flush()
                group = self._groups(s, [row])[0]
        except IntegrityError:
            raise DuplicateGroup(name, project) from None
        return group

    def update(self, ctx: RequestContext, uuid: str, name: str | None,
               description: str | None) -> Group:
        """Rename (instances that name the group follow) and/or describe anew."""
        try:
            with self.db.session() as s:
                row = self._row(s, ctx, uuid)
                self.policy.enforce(self.rules["update"], {"project_id": row.project_id}, ctx)
                if name is not None:
                    check_name(name)
                    if row.name == DEFAULT and name != DEFAULT:
                        raise DefaultGroupProtected(self._groups(s, [row])[0], "update")
                    if name == DEFAULT and row.name != DEFAULT:
                        # As create(): the name is the default group's, made or not.
                        raise DuplicateGroup(name, row.project_id)
                if description is not None and len(description) > 255:
                    raise errors.InvalidInput("Security group description should not be "
                                              "greater than 255 characters.")
                old = row.name
                if name is not None and name != old:
                    row.name = name
                    self._rename_on_instances(s, row.project_id, old, name)
                if description is not None:
                    row.description = description
                row.updated_at = utcnow()
                s.flush()
                return self._groups(s, [row])[0]
        except IntegrityError:
            raise DuplicateGroup(name or "", ctx.project_id or "") from None

    def _rename_on_instances(self, s: Session, project_id: str, old: str, new: str) -> None:
        for uuid, names in self.instances.security_groups_in_use(s, project_id):
            if old in names:
                self.instances.set_security_groups(
                    s, uuid, [new if n == old else n for n in names])

    def delete(self, ctx: RequestContext, uuid: str) -> None:
        """Delete a group no instance and no other group's rule names."""
        with self.db.session() as s:
            row = self._row(s, ctx, uuid)
            self.policy.enforce(self.rules["delete"], {"project_id": row.project_id}, ctx)
            if row.name == DEFAULT:
                raise DefaultGroupProtected(self._groups(s, [row])[0], "delete")
            for guard in self.guards:
                guard(s, row)
            self.remove(s, row)

    def remove(self, s: Session, row: SecurityGroup) -> None:
        """In ``s``: delete a group no instance, port or other group's rule
        names (GroupInUse otherwise); no policy, no guards."""
        uuid = row.uuid
        group = self._groups(s, [row])[0]
        # Lock the row first: a boot naming the group waits, or has committed.
        result = s.execute(update(SecurityGroup).where(SecurityGroup.id == row.id)
                           .values(generation=SecurityGroup.generation + 1))
        if isinstance(result, CursorResult) and result.rowcount != 1:
            raise GroupNotFound(uuid)
        if any(row.name in names for _, names in
               self.instances.security_groups_in_use(s, row.project_id)):
            raise GroupInUse(group)
        if s.scalar(select(PortSecurityGroup.port_id).where(
                PortSecurityGroup.group_id == row.id).limit(1)) is not None:
            raise GroupInUse(group)
        if s.scalar(select(SecurityGroupRule.id).where(
                SecurityGroupRule.remote_group_id == row.id,
                SecurityGroupRule.group_id != row.id).limit(1)) is not None:
            raise GroupInUse(group)
        rules = len(group.rules)
        s.execute(delete(SecurityGroupRule).where(SecurityGroupRule.group_id == row.id))
        s.execute(delete(SecurityGroup).where(SecurityGroup.id == row.id))
        self.quotas.release(s, row.project_id, {"security_groups": 1,
                                                "security_group_rules": rules})
        forget(s, Kind.SECURITY_GROUP, [row.uuid])
        forget_tags(s, Kind.SECURITY_GROUP, [row.uuid])  # every project's tags on it

    # ---- rules ------------------------------------------------------------------
    def add_rules(self, ctx: RequestContext, uuid: str, specs: Sequence[RuleSpec]) -> list[Rule]:
        """Add every rule or none: DuplicateRule if one is there already (or given
        twice), GroupNotFound for an unknown source group."""
        checked = [check_spec(spec) for spec in specs]
        if not checked:
            raise InvalidRule("No rule given.")
        try:
            with self.db.session() as s:
                row = self._row(s, ctx, uuid)
                self.policy.enforce(self.rules["rule_create"], {"project_id": row.project_id}, ctx)
                group = self._groups(s, [row])[0]
                remotes = self._remote_ids(s, row, checked)
                existing = set(s.scalars(select(SecurityGroupRule.fingerprint).where(
                    SecurityGroupRule.group_id == row.id)))
                if len(existing) + len(checked) > MAX_RULES:
                    raise InvalidRule(f"The maximum number of rules per security group "
                                      f"({MAX_RULES}) has been reached.",
                                      limit=MAX_RULES)
                new_rows = []
                for spec in checked:
                    key = spec.key(remotes.get(spec.remote_group or ""))
                    if key in existing:
                        raise DuplicateRule(spec, group)
                    existing.add(key)
                    new_rows.append(_rule_row(row.id, spec, remotes.get(spec.remote_group or "")))
                self.quotas.reserve(s, row.project_id,
                                    {"security_group_rules": len(new_rows)})
                s.add_all(new_rows)
                row.updated_at = utcnow()
                row.revision_number = (row.revision_number or 0) + 1
                s.flush()
                made = {r.uuid for r in new_rows}
                rules = self._groups(s, [row])[0].rules
                return [r for r in rules if r.uuid in made]
        except IntegrityError:
            # A concurrent request added one of them first.
            raise DuplicateRule(checked[0], self.get(ctx, uuid)) from None

    def _remote_ids(self, s: Session, row: SecurityGroup,
                    specs: Sequence[RuleSpec]) -> dict[str, int]:
        """Ids of the source groups the specs name (the group's own project only)."""
        wanted = {spec.remote_group for spec in specs if spec.remote_group}
        found = {u: i for u, i in s.execute(select(SecurityGroup.uuid, SecurityGroup.id).where(
            SecurityGroup.uuid.in_(wanted), SecurityGroup.project_id == row.project_id))}
        for ref in wanted:
            if ref not in found:
                raise GroupNotFound(ref)
        return found

    def remove_rules(self, ctx: RequestContext, uuid: str, specs: Sequence[RuleSpec]) -> None:
        """Remove every rule matching a spec, or none if one matches nothing. An
        IPv4 rule naming a source group takes its IPv6 twin along, if there is
        one (Neutron's default group has both; EC2 names the pair once)."""
        checked = [check_spec(spec) for spec in specs]
        with self.db.session() as s:
            row = self._row(s, ctx, uuid)
            self.policy.enforce(self.rules["rule_delete"], {"project_id": row.project_id}, ctx)
            remotes = self._remote_ids(s, row, checked)
            keys = []
            for spec in checked:
                key = spec.key(remotes.get(spec.remote_group or ""))
                if s.scalar(select(SecurityGroupRule.id).where(
                        SecurityGroupRule.group_id == row.id,
                        SecurityGroupRule.fingerprint == key)) is None:
                    raise RuleNotFound(key, spec)
                keys.append(key)
                if spec.remote_group and spec.ethertype == IPV4:
                    keys.append(replace(spec, ethertype=IPV6).key(
                        remotes.get(spec.remote_group or "")))
            gone = s.execute(delete(SecurityGroupRule).where(SecurityGroupRule.group_id == row.id,
                                                      SecurityGroupRule.fingerprint.in_(keys)))
            self.quotas.release(s, row.project_id,
                                {"security_group_rules": gone.rowcount})  # type: ignore[attr-defined]
            row.updated_at = utcnow()
            row.revision_number = (row.revision_number or 0) + 1

    def delete_rule(self, ctx: RequestContext, rule_uuid: str,
                    rule_delete: str | None = None) -> None:
        with self.db.session() as s:
            rule = s.scalar(select(SecurityGroupRule).where(SecurityGroupRule.uuid == rule_uuid))
            group = s.get(SecurityGroup, rule.group_id) if rule is not None else None
            if rule is None or group is None or (group.project_id != ctx.project_id
                                                 and not ctx.is_admin):
                raise RuleNotFound(rule_uuid)
            self.policy.enforce(rule_delete or self.rules["rule_delete"],
                                {"project_id": group.project_id}, ctx)
            s.delete(rule)
            self.quotas.release(s, group.project_id, {"security_group_rules": 1})
            group.updated_at = utcnow()
            group.revision_number = (group.revision_number or 0) + 1

    # ---- servers ------------------------------------------------------------------
    def prepare_boot(self, project_id: str, refs: Sequence[str]) -> list[str]:
        """The names of the groups a boot asks for (names or uuids), ``default``
        made if it is asked for and missing; UnknownSecurityGroup otherwise."""
        wanted = list(dict.fromkeys(refs))
        if DEFAULT in wanted:
            self.ensure_default(project_id)
        with self.db.session() as s:
            rows = list(s.execute(select(SecurityGroup.name, SecurityGroup.uuid).where(
                SecurityGroup.project_id == project_id,
                or_(SecurityGroup.name.in_(wanted), SecurityGroup.uuid.in_(wanted)))))
        by_ref = {uuid: name for name, uuid in rows} | {name: name for name, _ in rows}
        for ref in wanted:
            if ref not in by_ref:
                raise UnknownSecurityGroup(ref)
        return list(dict.fromkeys(by_ref[ref] for ref in wanted))

    @staticmethod
    def hold_for_boot(s: Session, project_id: str, names: Sequence[str]) -> None:
        """In the boot's transaction: lock the named groups (bump their generation)
        so none is deleted before the boot commits; UnknownSecurityGroup if one
        was deleted since :meth:`prepare_boot`."""
        wanted = sorted(set(names))
        if not wanted:
            return
        result = s.execute(update(SecurityGroup).where(
            SecurityGroup.project_id == project_id, SecurityGroup.name.in_(wanted))
            .values(generation=SecurityGroup.generation + 1),
            execution_options={"synchronize_session": False})
        if isinstance(result, CursorResult) and result.rowcount != len(wanted):
            present = set(s.scalars(select(SecurityGroup.name).where(
                SecurityGroup.project_id == project_id, SecurityGroup.name.in_(wanted))))
            raise UnknownSecurityGroup(next(n for n in wanted if n not in present))

    def groups_named(self, project_id: str, names: Sequence[str]) -> list[Group]:
        """The project's groups of those ``names``, in that order (no policy:
        the caller checked the server's)."""
        with self.db.session() as s:
            rows = list(s.scalars(select(SecurityGroup).where(
                SecurityGroup.project_id == project_id, SecurityGroup.name.in_(names))))
            rows.sort(key=lambda r: list(names).index(r.name))
            return self._groups(s, rows)

def _rule_row(group_id: int, spec: RuleSpec, remote_id: int | None) -> SecurityGroupRule:
    return SecurityGroupRule(group_id=group_id, direction=spec.direction,
                             protocol=spec.protocol, port_min=spec.port_min,
                             port_max=spec.port_max, cidr=spec.cidr,
                             remote_group_id=remote_id, description=spec.description,
                             ethertype=spec.ethertype, fingerprint=spec.key(remote_id))
