"""Flavors: the hardware shapes servers boot with, their extra specs, and which
projects may use a private one.

A private flavor is visible to admins and to the projects given access; to
anyone else it does not exist (404), as in Nova.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, delete, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.compute.models import Flavor, FlavorProject
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.policy import PolicyEnforcer

SORT_KEYS = ("flavorid", "name", "memory_mb", "vcpus", "root_gb", "ephemeral_gb", "swap",
             "rxtx_factor", "id", "created_at", "updated_at", "disabled", "is_public",
             "description")


@dataclass
class FlavorQuery:
    """A flavor listing: filters and one page."""

    is_public: bool | None = True  # None: public and private
    min_ram: int | None = None
    min_disk: int | None = None
    sort_key: str = "flavorid"
    sort_dir: str = "asc"
    limit: int = 1000
    marker: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def not_found(flavor_id: str, by: str | None = None) -> errors.NotFound:
    return errors.NotFound(f"Flavor {flavor_id} could not be found.", kind="flavor",
                           id=flavor_id, by=by)


class FlavorService:
    def __init__(self, db: Database, policy: PolicyEnforcer,
                 project_exists: Callable[[str], bool] | None = None) -> None:
        self.db = db
        self.policy = policy
        # Nova asks Keystone whether a project given access exists.
        self.project_exists = project_exists

    # ---- lookups -----------------------------------------------------------
    @staticmethod
    def _visible(q: Select, ctx: RequestContext) -> Select:
        if ctx.is_admin:
            return q
        return q.where(or_(Flavor.is_public.is_(True), _has_access(ctx.project_id)))

    def _load(self, s: Session, ctx: RequestContext | None, flavor_id: str) -> Flavor:
        q = select(Flavor).where(Flavor.flavorid == flavor_id)
        if ctx is not None:
            q = self._visible(q, ctx)
        flavor = s.scalar(q)
        if flavor is None:
            raise not_found(flavor_id)
        return flavor

    def get(self, ctx: RequestContext, flavor_id: str) -> Flavor:
        """A flavor the caller may see (Nova: no policy for showing flavors)."""
        with self.db.session() as s:
            return self._load(s, ctx, flavor_id)

    def get_for_project(self, ctx: RequestContext, flavor_id: str) -> Flavor:
        """The flavor a server of the caller's project may boot with; NotFound
        ("Flavor X could not be found.") when unknown, or private and not shared
        with the project (admins may boot any flavor, as Nova lets them)."""
        return self._for_project(ctx, Flavor.flavorid == flavor_id, flavor_id, None)

    def find_by_name(self, ctx: RequestContext, name: str) -> Flavor:
        """As :meth:`get_for_project`, by the flavor's name (EC2's instance type)."""
        return self._for_project(ctx, Flavor.name == name, name, "name")

    def _for_project(self, ctx: RequestContext, where: Any, ref: str,
                     by: str | None) -> Flavor:
        with self.db.session() as s:
            flavor = s.scalar(select(Flavor).where(where))
            if flavor is None:
                raise not_found(ref, by)
            if not flavor.is_public and not ctx.is_admin and s.get(
                    FlavorProject, (flavor.id, ctx.project_id or "")) is None:
                raise not_found(ref, by)
            return flavor

    @staticmethod
    def to_snapshot(flavor: Flavor) -> dict[str, Any]:
        """The flavor as an instance keeps it (it outlives edits and deletion)."""
        return {"flavorid": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
                "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb,
                "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
                "rxtx_factor": flavor.rxtx_factor,
                "extra_specs": dict(flavor.extra_specs or {})}

    def list_flavors(self, ctx: RequestContext, query: FlavorQuery) -> list[Flavor]:
        """A page of flavors. Non-admins see public flavors and those shared with
        their project; admins choose with ``is_public`` (None: all)."""
        if query.sort_key not in SORT_KEYS:
            raise errors.InvalidInput(f"Invalid sort key {query.sort_key}.")
        if query.sort_dir not in ("asc", "desc"):
            raise errors.InvalidInput(f"Invalid sort direction {query.sort_dir}.")
        q = select(Flavor)
        if not ctx.is_admin:
            q = q.where(Flavor.disabled.is_(False),
                        or_(Flavor.is_public.is_(True), _has_access(ctx.project_id)))
        elif query.is_public is True:
            q = q.where(or_(Flavor.is_public.is_(True), _has_access(ctx.project_id)))
        elif query.is_public is False:
            q = q.where(Flavor.is_public.is_(False))
        if query.min_ram is not None:
            q = q.where(Flavor.memory_mb >= query.min_ram)
        if query.min_disk is not None:
            q = q.where(Flavor.root_gb >= query.min_disk)
        column = getattr(Flavor, query.sort_key)
        tie = Flavor.id
        desc = query.sort_dir == "desc"
        with self.db.session() as s:
            if query.marker is not None:
                marker = s.scalar(self._visible(
                    select(Flavor).where(Flavor.flavorid == query.marker), ctx))
                if marker is None:
                    raise errors.InvalidInput(f"marker [{query.marker}] not found")
                value = getattr(marker, query.sort_key)
                after = (column < value) if desc else (column > value)
                q = q.where(or_(after, (column == value) & (
                    (tie < marker.id) if desc else (tie > marker.id))))
            q = q.order_by(column.desc() if desc else column.asc(),
                           tie.desc() if desc else tie.asc())
            return list(s.scalars(q.limit(query.limit)))

    # ---- manage ------------------------------------------------------------
    def create(self, ctx: RequestContext, name: str, ram: int, vcpus: int, disk: int,
               flavor_id: str | None = None, ephemeral: int = 0, swap: int = 0,
               rxtx_factor: float = 1.0, is_public: bool = True,
               description: str | None = None) -> Flavor:
        self.policy.enforce("os_compute_api:os-flavor-manage:create", {}, ctx)
        name = name.strip()
        if not name:
            raise errors.InvalidInput("Flavor name must not be empty.")
        flavor = Flavor(flavorid=flavor_id if flavor_id is not None else str(uuid.uuid4()),
                        name=name, memory_mb=ram, vcpus=vcpus, root_gb=disk,
                        ephemeral_gb=ephemeral, swap=swap, rxtx_factor=rxtx_factor,
                        is_public=is_public, disabled=False, description=description,
                        extra_specs={})
        with self.db.session() as s:
            if s.scalar(select(Flavor.id).where(Flavor.name == name)) is not None:
                raise errors.Conflict(f"Flavor with name {name} already exists.")
            if s.scalar(select(Flavor.id).where(Flavor.flavorid == flavor.flavorid)) \
                    is not None:
                raise errors.Conflict(f"Flavor with ID {flavor.flavorid} already exists.")
            s.add(flavor)
            try:
                s.flush()
            except IntegrityError:  # a concurrent create won
                raise errors.Conflict(f"Flavor with name {name} already exists.") from None
        return flavor

    def update_description(self, ctx: RequestContext, flavor_id: str,
                           description: str | None) -> Flavor:
        """Nova's only flavor update (2.55): its description."""
        self.policy.enforce("os_compute_api:os-flavor-manage:update", {}, ctx)
        with self.db.session() as s:
            flavor = self._load(s, None, flavor_id)
            flavor.description = description
            flavor.updated_at = utcnow()
            s.flush()
            return flavor

    def delete(self, ctx: RequestContext, flavor_id: str) -> None:
        self.policy.enforce("os_compute_api:os-flavor-manage:delete", {}, ctx)
        with self.db.session() as s:
            flavor = self._load(s, None, flavor_id)
            s.execute(delete(FlavorProject).where(FlavorProject.flavor_id == flavor.id))
            s.delete(flavor)

    # ---- extra specs -------------------------------------------------------
    def extra_specs(self, ctx: RequestContext, flavor_id: str) -> dict[str, str]:
        self.policy.enforce("os_compute_api:os-flavor-extra-specs:index",
                            {"project_id": ctx.project_id}, ctx)
        return dict(self.get(ctx, flavor_id).extra_specs or {})

    def extra_spec(self, ctx: RequestContext, flavor_id: str, key: str) -> str:
        self.policy.enforce("os_compute_api:os-flavor-extra-specs:show",
                            {"project_id": ctx.project_id}, ctx)
        specs = self.get(ctx, flavor_id).extra_specs or {}
        if key not in specs:
            raise errors.NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        return specs[key]

    def set_extra_specs(self, ctx: RequestContext, flavor_id: str, specs: Mapping[str, str],
                        rule: str = "os_compute_api:os-flavor-extra-specs:create"
                        ) -> dict[str, str]:
        """Add or overwrite keys; returns the whole set."""
        self.policy.enforce(rule, {"project_id": ctx.project_id}, ctx)
        with self.db.session() as s:
            flavor = self._load(s, ctx, flavor_id)
            flavor.extra_specs = {**(flavor.extra_specs or {}), **specs}
            return dict(flavor.extra_specs)

    def delete_extra_spec(self, ctx: RequestContext, flavor_id: str, key: str) -> None:
        self.policy.enforce("os_compute_api:os-flavor-extra-specs:delete",
                            {"project_id": ctx.project_id}, ctx)
        with self.db.session() as s:
            flavor = self._load(s, ctx, flavor_id)
            specs = dict(flavor.extra_specs or {})
            if key not in specs:
                raise errors.NotFound(f"Flavor {flavor_id} has no extra specs with key "
                                      f"{key}.")
            del specs[key]
            flavor.extra_specs = specs

    # ---- access ------------------------------------------------------------
    def access_list(self, ctx: RequestContext, flavor_id: str) -> list[str]:
        self.policy.enforce("os_compute_api:os-flavor-access", {}, ctx)
        with self.db.session() as s:
            flavor = self._load(s, ctx, flavor_id)
            if flavor.is_public:
                raise errors.NotFound("Access list not available for public flavors.")
            return list(s.scalars(select(FlavorProject.project_id)
                                  .where(FlavorProject.flavor_id == flavor.id)
                                  .order_by(FlavorProject.project_id)))

    def add_access(self, ctx: RequestContext, flavor_id: str, project_id: str,
                   refuse_public: bool = True) -> list[str]:
        """Give a project a private flavor. ``refuse_public``: 409 for a public
        flavor (Nova from 2.7; before, the row was added and meant nothing)."""
        self.policy.enforce("os_compute_api:os-flavor-access:add_tenant_access", {}, ctx)
        if self.project_exists is not None and not self.project_exists(project_id):
            raise errors.InvalidInput(f"Project ID {project_id} is not a valid project.")
        with self.db.session() as s:
            flavor = self._load(s, ctx, flavor_id)
            if flavor.is_public and refuse_public:
                raise errors.Conflict("Can not add access to a public flavor.")
            if s.get(FlavorProject, (flavor.id, project_id)) is not None:
                raise errors.Conflict(f"Flavor access already exists for flavor {flavor_id} "
                                      f"and project {project_id} combination.")
            s.add(FlavorProject(flavor_id=flavor.id, project_id=project_id))
            try:
                s.flush()
            except IntegrityError:
                raise errors.Conflict(f"Flavor access already exists for flavor {flavor_id} "
                                      f"and project {project_id} combination.") from None
            return list(s.scalars(select(FlavorProject.project_id)
                                  .where(FlavorProject.flavor_id == flavor.id)
                                  .order_by(FlavorProject.project_id)))

    def remove_access(self, ctx: RequestContext, flavor_id: str, project_id: str) -> list[str]:
        self.policy.enforce("os_compute_api:os-flavor-access:remove_tenant_access", {}, ctx)
        with self.db.session() as s:
            flavor = self._load(s, ctx, flavor_id)
            row = s.get(FlavorProject, (flavor.id, project_id))
            if row is None:
                raise errors.NotFound(f"Flavor access not found for {flavor_id} / "
                                      f"{project_id} combination.")
            s.delete(row)
            s.flush()
            return list(s.scalars(select(FlavorProject.project_id)
                                  .where(FlavorProject.flavor_id == flavor.id)
                                  .order_by(FlavorProject.project_id)))


def _has_access(project_id: str | None) -> Any:
    return exists().where(FlavorProject.flavor_id == Flavor.id,
                          FlavorProject.project_id == (project_id or ""))

