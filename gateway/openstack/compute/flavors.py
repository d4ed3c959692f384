"""Flavors, their extra specs and access lists.

Per microversion: ``description`` from 2.55 (shown everywhere, given on create,
changed by ``PUT /flavors/{id}``); ``extra_specs`` in the full views from 2.61
when the caller may list extra specs; ``swap`` 0 instead of "" from 2.75; extra
specs validated from 2.86 (:mod:`core.extra_spec_validation`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from connexion import request

from core import errors
from core.compute.flavors import FlavorQuery
from core.extra_spec_validation import validate_all
from core.numbers import INT64_MIN, BadInteger, as_int
from gateway.openstack.compute import microversions, views
from gateway.openstack.compute.base import ACCEPTED, MAX_INT, Handler, parse_bool, query_int

_SPEC_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
DESCRIPTION = (2, 55)
DESCRIPTION_MAX = 65535
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _description(spec: dict[str, Any]) -> str | None:
    """Nova's flavor description: text (or null) of printable characters."""
    value = spec.get("description")
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.InvalidInput(f"Invalid input for field/attribute description. Value: "
                                  f"{value}. {value!r} is not of type 'string', 'null'")
    if len(value) > DESCRIPTION_MAX:
        raise errors.InvalidInput("Invalid input for field/attribute description. Value: "
                                  f"{value[:40]}... is too long (more than {DESCRIPTION_MAX} "
                                  "characters)")
    if _CONTROL.search(value):
        raise errors.InvalidInput("Invalid input for field/attribute description. It must "
                                  "hold printable characters only.")
    return value


def _count(body: dict[str, Any], name: str, minimum: int, default: int | None = None) -> int:
    raw: Any = body.get(name, default)
    try:
        value = as_int(raw, INT64_MIN)
    except BadInteger:
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: {raw}. "
                                  f"{raw!r} is not an integer") from None
    if value < minimum:
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: {raw}. "
                                  f"{value} is less than the minimum of {minimum}")
    if value > MAX_INT:
        raise errors.InvalidInput(f"Invalid input for field/attribute {name}. Value: {raw}. "
                                  f"{value} is greater than the maximum of {MAX_INT}")
    return value


class Flavors(Handler):
    def _query(self, is_admin: bool) -> FlavorQuery:
        q = FlavorQuery(limit=self.deps.settings.max_limit)
        raw = self.query("is_public")
        if is_admin and raw is not None:
            q.is_public = None if raw.strip().lower() == "none" else _is_public(raw)
        q.min_ram = query_int("minRam")
        q.min_disk = query_int("minDisk")
        limit = query_int("limit")
        if limit is not None:
            q.limit = min(limit, self.deps.settings.max_limit)
        q.marker = self.query("marker")
        q.sort_key = self.query("sort_key") or "flavorid"
        q.sort_dir = self.query("sort_dir") or "asc"
        return q

    def _list(self, detail: bool) -> dict[str, Any]:
        ctx = self.context()
        q = self._query(ctx.is_admin)
        rows = self.deps.flavors.list_flavors(ctx, q)
        mv = microversions.current()
        specs = detail and self._may_see_specs(mv)
        items = [views.flavor(f, self.links("flavors", f.flavorid), mv, specs) if detail
                 else views.flavor_brief(f, self.links("flavors", f.flavorid), mv)
                 for f in rows]
        out: dict[str, Any] = {"flavors": items}
        if rows and len(rows) >= q.limit:
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
            path = "flavors/detail" if detail else "flavors"
            out["flavors_links"] = [{"rel": "next", "href": f"{self.deps.base}/v2.1/{path}?"
                                     + urlencode([*params, ("marker", rows[-1].flavorid)])}]
        return out

    def list(self, **_: Any):
        return self._list(detail=False)

    def detail(self, **_: Any):
        return self._list(detail=True)

    def _may_see_specs(self, mv: microversions.APIVersion) -> bool:
        """Nova shows extra specs in flavor bodies from 2.61 to whoever may list them."""
        if mv < (2, 61):
            return False
        ctx = self.context()
        return self.auth.policy.authorize("os_compute_api:os-flavor-extra-specs:index",
                                          {"project_id": ctx.project_id},
                                          ctx.policy_credentials())

    def _one(self, f: Any) -> dict[str, Any]:
        mv = microversions.current()
        return {"flavor": views.flavor(f, self.links("flavors", f.flavorid), mv,
                                       self._may_see_specs(mv))}

    def show(self, flavor_id: str):
        return self._one(self.deps.flavors.get(self.context(), flavor_id))

    def update(self, flavor_id: str, body: dict[str, Any]):
        """``PUT /flavors/{id}`` (2.55): the description is all that changes."""
        microversions.require(DESCRIPTION)
        spec = body["flavor"]
        if set(spec) != {"description"}:
            extra = sorted(set(spec) - {"description"})
            raise errors.InvalidInput(
                "Invalid input for field/attribute flavor. " + (
                    f"Additional properties are not allowed ('{extra[0]}' was unexpected)"
                    if extra else "'description' is a required property"))
        return self._one(self.deps.flavors.update_description(
            self.context(), flavor_id, _description(spec)))

    def create(self, body: dict[str, Any]):
        ctx = self.context()
        spec = body["flavor"]
        if "description" in spec and microversions.current() < DESCRIPTION:
            raise errors.InvalidInput("Invalid input for field/attribute flavor. Additional "
                                      "properties are not allowed ('description' was "
                                      "unexpected)")
        rxtx = spec.get("rxtx_factor", 1.0)
        try:
            rxtx = float(rxtx)
        except (TypeError, ValueError):
            raise errors.InvalidInput(f"Invalid input for field/attribute rxtx_factor. "
                                      f"Value: {rxtx}.") from None
        if not 0 < rxtx <= 3.40282e38:
            raise errors.InvalidInput(f"Invalid input for field/attribute rxtx_factor. "
                                      f"Value: {rxtx}.")
        f = self.deps.flavors.create(
            ctx, spec["name"], ram=_count(spec, "ram", 1), vcpus=_count(spec, "vcpus", 1),
            disk=_count(spec, "disk", 0), flavor_id=spec.get("id"),
            ephemeral=_count(spec, "OS-FLV-EXT-DATA:ephemeral", 0, 0),
            swap=_count(spec, "swap", 0, 0), rxtx_factor=rxtx,
            is_public=spec.get("os-flavor-access:is_public", True),
            description=_description(spec))
        return self._one(f)

    def delete(self, flavor_id: str):
        self.deps.flavors.delete(self.context(), flavor_id)
        return ACCEPTED


def _is_public(raw: str) -> bool:
    try:
        return parse_bool(raw, "is_public")
    except errors.InvalidInput:
        raise errors.InvalidInput(f"Invalid is_public filter [{raw}]") from None


def _specs(values: dict[str, Any]) -> dict[str, str]:
    """Nova's checks: keys of letters, digits and ``-_:. ``; values stored as text."""
    out = {}
    for key, value in values.items():
        if not _SPEC_KEY.match(key):
            raise errors.InvalidInput(f"Invalid input for field/attribute extra_specs. "
                                      f"Additional properties are not allowed ('{key}' was "
                                      "unexpected)")
        out[key] = str(value)
    return out


def _checked_specs(values: dict[str, Any]) -> dict[str, str]:
    specs = _specs(values)
    if microversions.current() >= (2, 86):
        validate_all(specs)
    return specs


class ExtraSpecs(Handler):
    def list(self, flavor_id: str):
        return {"extra_specs": self.deps.flavors.extra_specs(self.context(), flavor_id)}

    def create(self, flavor_id: str, body: dict[str, Any]):
        specs = _checked_specs(body["extra_specs"])
        self.deps.flavors.set_extra_specs(self.context(), flavor_id, specs)
        return {"extra_specs": specs}

    def show(self, flavor_id: str, key: str):
        return {key: self.deps.flavors.extra_spec(self.context(), flavor_id, key)}

    def update(self, flavor_id: str, key: str, body: dict[str, Any]):
        if key not in body or len(body) != 1:
            raise errors.InvalidInput("Request body and URI mismatch")
        specs = _checked_specs(body)
        self.deps.flavors.set_extra_specs(self.context(), flavor_id, specs,
                                          rule="os_compute_api:os-flavor-extra-specs:update")
        return specs

    def delete(self, flavor_id: str, key: str):
        self.deps.flavors.delete_extra_spec(self.context(), flavor_id, key)
        return ACCEPTED


class FlavorAccess(Handler):
    def list(self, flavor_id: str):
        projects = self.deps.flavors.access_list(self.context(), flavor_id)
        return views.flavor_access(flavor_id, projects)

    def action(self, flavor_id: str, body: dict[str, Any]):
        ctx = self.context()
        if "addTenantAccess" in body:
            projects = self.deps.flavors.add_access(
                ctx, flavor_id, body["addTenantAccess"]["tenant"],
                refuse_public=microversions.current() >= (2, 7))
        else:
            projects = self.deps.flavors.remove_access(
                ctx, flavor_id, body["removeTenantAccess"]["tenant"])
        return views.flavor_access(flavor_id, projects)
