"""Volume types: named sets of extra specs the volume scheduler matches with
pools' capabilities; public, or private and shared with some projects. The
default type ``__DEFAULT__`` (made by migration 0013) always exists."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db.base import utcnow
from core.volume.base import VolumeBase, text
from core.volume.errors import (
    InvalidInput,
    InvalidVolumeType,
    VolumeTypeExists,
    VolumeTypeExtraSpecsNotFound,
    VolumeTypeNotFound,
)
from core.volume.models import DEFAULT_TYPE, Volume, VolumeType

# Extra specs a non-admin sees (Cinder's user-visible keys).
USER_VISIBLE_SPECS = ("multiattach", "RESKEY:availability_zones", "replication_enabled")


def type_is_multiattach(vtype: VolumeType) -> bool:
    value = str((vtype.extra_specs or {}).get("multiattach", "")).strip().lower()
    return value in ("<is> true", "true")


def _specs(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidInput("extra_specs must be a dictionary.", param="extra_specs")
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > 255:
            raise InvalidInput("Extra spec key must be a string of 1 to 255 characters.",
                               param="extra_specs")
        if isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str | int | float) or len(str(item)) > 255:
            raise InvalidInput(f"Extra spec value of {key} must be a string of at most 255 "
                               "characters.", param="extra_specs")
        out[key] = str(item)
    return out


class VolumeTypeService(VolumeBase):
    def __init__(self, db, policy, default_name: str = DEFAULT_TYPE) -> None:
        super().__init__(db, policy)
        self.default_name = default_name

    # ---- reading ---------------------------------------------------------------------
    def find(self, s: Session, ctx: RequestContext, ref: str | None) -> VolumeType:
        """The type named ``ref`` (id or name; the default type when None),
        if the caller may use it: VolumeTypeNotFound otherwise."""
        if ref is None or ref == "":
            row = s.scalar(select(VolumeType).where(VolumeType.name == self.default_name))
            if row is None:
                raise VolumeTypeNotFound(self.default_name, by="name")
            return row
        ref = str(ref)
        row = s.get(VolumeType, ref)
        by = None
        if row is None:
            by = "name"
            row = s.scalar(select(VolumeType).where(VolumeType.name == ref))
        if row is None or not self._may_use(ctx, row):
            raise VolumeTypeNotFound(ref, by=by)
        return row

    @staticmethod
    def _may_use(ctx: RequestContext, row: VolumeType) -> bool:
        return (ctx.is_admin or row.is_public
                or (ctx.project_id or "") in (row.projects or []))

    def get(self, ctx: RequestContext, type_id: str) -> VolumeType:
        self.enforce(ctx, "volume_extension:type_get", ctx.project_id)
        if type_id == "default":
            return self.default(ctx)
        with self.db.session() as s:
            row = s.get(VolumeType, str(type_id))
            if row is None or not self._may_use(ctx, row):
                raise VolumeTypeNotFound(str(type_id))
            return row

    def default(self, ctx: RequestContext) -> VolumeType:
        with self.db.session() as s:
            return self.find(s, ctx, None)

    def list(self, ctx: RequestContext, is_public: bool | None = None) -> builtins.list[VolumeType]:
        """Public types and those shared with the caller's project; admins see
        all of them (``is_public`` narrows)."""
        self.enforce(ctx, "volume_extension:type_get_all", ctx.project_id)
        with self.db.session() as s:
            rows = list(s.scalars(select(VolumeType).order_by(VolumeType.name)))
        if ctx.is_admin:
            return [r for r in rows if is_public is None or bool(r.is_public) == is_public]
        return [r for r in rows if self._may_use(ctx, r)
                and (is_public is None or bool(r.is_public) == is_public)]

    def visible_extra_specs(self, ctx: RequestContext, row: VolumeType) -> dict[str, str]:
        """The extra specs the caller may see (every one for admins)."""
        specs = dict(row.extra_specs or {})
        if self.may(ctx, "volume_extension:types_extra_specs:read_sensitive", ctx.project_id):
            return specs
        return {k: v for k, v in specs.items() if k in USER_VISIBLE_SPECS}

    # ---- writing ---------------------------------------------------------------------
    def create(self, ctx: RequestContext, name: str, description: str | None = None,
               is_public: bool = True, extra_specs: Mapping[str, Any] | None = None
               ) -> VolumeType:
        self.enforce(ctx, "volume_extension:type_create", ctx.project_id)
        name = (text(name, "name") or "").strip()
        if not name:
            raise InvalidInput("Volume type name can not be empty.", param="name")
        row = VolumeType(name=name, description=text(description, "description"),
                         is_public=bool(is_public), extra_specs=_specs(extra_specs or {}),
                         projects=[])
        try:
            with self.db.session() as s:
                if s.scalar(select(VolumeType.id).where(VolumeType.name == name)):
                    raise VolumeTypeExists(name)
                s.add(row)
                s.flush()
        except IntegrityError:
            raise VolumeTypeExists(name) from None
        return row

    def _load(self, s: Session, ctx: RequestContext, type_id: str) -> VolumeType:
        row = s.get(VolumeType, str(type_id), with_for_update=True)
        if row is None:
            raise VolumeTypeNotFound(str(type_id))
        return row

    def update(self, ctx: RequestContext, type_id: str, *, name: str | None = None,
               description: str | None = None, is_public: bool | None = None) -> VolumeType:
        self.enforce(ctx, "volume_extension:type_update", ctx.project_id)
        try:
            with self.db.session() as s:
                row = self._load(s, ctx, type_id)
                if name is not None:
                    name = (text(name, "name") or "").strip()
                    if not name:
                        raise InvalidInput("Volume type name can not be empty.", param="name")
                    if row.name == self.default_name and name != row.name:
                        raise InvalidVolumeType("The default volume type can not be "
                                                "renamed.", id=row.id)
                    if s.scalar(select(VolumeType.id).where(VolumeType.name == name,
                                                            VolumeType.id != row.id)):
                        raise VolumeTypeExists(name)
                    row.name = name
                if description is not None:
                    row.description = text(description, "description")
                if is_public is not None:
                    row.is_public = bool(is_public)
                row.updated_at = utcnow()
                s.flush()
        except IntegrityError:
            raise VolumeTypeExists(str(name)) from None
        return row

    def delete(self, ctx: RequestContext, type_id: str) -> None:
        self.enforce(ctx, "volume_extension:type_delete", ctx.project_id)
        with self.db.session() as s:
            row = self._load(s, ctx, type_id)
            if row.name == self.default_name:
                raise InvalidVolumeType("Default volume type can not be deleted.", id=row.id)
            used = s.scalar(select(func.count()).select_from(Volume)
                            .where(Volume.volume_type_id == row.id)) or 0
            if used:
                raise InvalidVolumeType("Target volume type is still in use.", id=row.id)
            s.delete(row)

    def extra_specs(self, ctx: RequestContext, type_id: str) -> dict[str, str]:
        self.enforce(ctx, "volume_extension:types_extra_specs:index", ctx.project_id)
        row = self.get(ctx, type_id)
        return self.visible_extra_specs(ctx, row)

    def extra_spec(self, ctx: RequestContext, type_id: str, key: str) -> str:
        self.enforce(ctx, "volume_extension:types_extra_specs:show", ctx.project_id)
        specs = self.visible_extra_specs(ctx, self.get(ctx, type_id))
        if key not in specs:
            raise VolumeTypeExtraSpecsNotFound(str(type_id), key)
        return specs[key]

    def set_extra_specs(self, ctx: RequestContext, type_id: str,
                        specs: Mapping[str, Any]) -> dict[str, str]:
        """Add or change extra specs (the others stay); the new set."""
        self.enforce(ctx, "volume_extension:types_extra_specs:create", ctx.project_id)
        given = _specs(specs)
        with self.db.session() as s:
            row = self._load(s, ctx, type_id)
            row.extra_specs = {**(row.extra_specs or {}), **given}
            row.updated_at = utcnow()
            return dict(row.extra_specs)

    def unset_extra_spec(self, ctx: RequestContext, type_id: str, key: str) -> None:
        self.enforce(ctx, "volume_extension:types_extra_specs:delete", ctx.project_id)
        with self.db.session() as s:
            row = self._load(s, ctx, type_id)
            specs = dict(row.extra_specs or {})
            if key not in specs:
                raise VolumeTypeExtraSpecsNotFound(row.id, key)
            del specs[key]
            row.extra_specs = specs
            row.updated_at = utcnow()

    # ---- access to private types -----------------------------------------------------
    def access(self, ctx: RequestContext, type_id: str) -> builtins.list[str]:
        self.enforce(ctx, "volume_extension:volume_type_access", ctx.project_id)
        with self.db.session() as s:
            row = self._load(s, ctx, type_id)
            if row.is_public:
                raise errors.NotFound("Access list not available for public volume types.",
                                      id=row.id)
            return list(row.projects or [])

    def add_project_access(self, ctx: RequestContext, type_id: str, project_id: str) -> None:
        self.enforce(ctx, "volume_extension:volume_type_access:addProjectAccess",
                     ctx.project_id)
        with self.db.session() as s:
            row = self._load(s, ctx, type_id)
            if row.is_public:
                raise InvalidVolumeType("Type access modification is "
                                        "not applicable to public volume type.", id=row.id)
            projects = list(row.projects or [])
            if project_id in projects:
                raise errors.Conflict(f"Volume type access for {row.id} / {project_id} "
                                      "combination already exists.", id=row.id,
                                      state="exists")
            row.projects = [*projects, project_id]

    def remove_project_access(self, ctx: RequestContext, type_id: str,
                              project_id: str) -> None:
        self.enforce(ctx, "volume_extension:volume_type_access:removeProjectAccess",
                     ctx.project_id)
        with self.db.session() as s:
            row = self._load(s, ctx, type_id)
            projects = list(row.projects or [])
            if project_id not in projects:
                raise errors.NotFound(f"Volume type access not found for {row.id} / "
                                      f"{project_id} combination.", id=row.id)
            row.projects = [p for p in projects if p != project_id]

    def names(self, s: Session, ids: builtins.list[str]) -> dict[str, str]:
        """Type names by id (for views of many volumes)."""
        if not ids:
            return {}
        return dict(s.execute(select(VolumeType.id, VolumeType.name)
                              .where(VolumeType.id.in_(list(set(ids))))).tuples().all())

