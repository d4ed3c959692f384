"""Networks: a project's own, shared ones every project may use, and external
ones floating IPs and router gateways come from. Only an admin makes a network
shared or external, or makes one for another project."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.network.base import ResourceService, bump, flag, standard, tags_of, text
from core.network.errors import NetworkInUse, NetworkNotFound
from core.network.models import Network, NetworkTag, Port, Subnet
from core.network.query import Columns, as_int

MTU_RANGE = (68, 9216)


def network_target(row: Network) -> dict[str, Any]:
    return {"project_id": row.project_id, "shared": str(bool(row.shared)),
            "external": str(bool(row.external))}


class NetworkService(ResourceService):
    model = Network
    resource = "network"
    columns = Columns.of(Network, "network", texts=("status",), ints=("mtu",),
                         bools={"admin_state_up": "admin_state_up", "shared": "shared",
                                "router:external": "external",
                                "port_security_enabled": "port_security_enabled",
                                "is_default": "is_default"})
    not_found = NetworkNotFound

    def target(self, s: Session, row: Network) -> dict[str, Any]:
        return network_target(row)

    def visible(self, ctx: RequestContext) -> Any:
        if ctx.is_admin:
            return super().visible(ctx)
        return or_(Network.project_id == (ctx.project_id or ""), Network.shared.is_(True),
                   Network.external.is_(True))

    def _views(self, s: Session, rows: Sequence[Network]) -> list[dict[str, Any]]:
        ids = [r.id for r in rows]
        subnets: dict[str, list[str]] = defaultdict(list)
        for start in range(0, len(ids), 500):
            for net, sub in s.execute(select(Subnet.network_id, Subnet.id).where(
                    Subnet.network_id.in_(ids[start:start + 500])).order_by(Subnet.created_at,
                                                                            Subnet.id)):
                subnets[net].append(sub)
        tags = tags_of(s, ids)
        return [{**standard(r, tags), "status": r.status, "admin_state_up": r.admin_state_up,
                 "shared": r.shared, "router:external": r.external, "subnets": subnets[r.id],
                 "mtu": r.mtu, "port_security_enabled": r.port_security_enabled,
                 "is_default": r.is_default, "availability_zones": ["nova"],
                 "availability_zone_hints": [], "ipv4_address_scope": None,
                 "ipv6_address_scope": None} for r in rows]

    # ---- writing ---------------------------------------------------------------------
    def create(self, ctx: RequestContext, attrs: Mapping[str, Any]) -> dict[str, Any]:
        project = self.owner_for_create(ctx, attrs)
        shared = flag(attrs, "shared", False)
        external = flag(attrs, "router:external", False)
        target = {"project_id": project, "shared": str(shared), "external": str(external)}
        self.enforce(ctx, "create_network", target)
        if shared:
            self.enforce(ctx, "create_network:shared", target)
        if external:
            self.enforce(ctx, "create_network:router:external", target)
        row = Network(project_id=project, name=text(attrs, "name"),
                      description=text(attrs, "description"),
                      admin_state_up=flag(attrs, "admin_state_up", True), shared=shared,
                      external=external, mtu=_mtu(attrs.get("mtu", 1500)),
                      port_security_enabled=flag(attrs, "port_security_enabled", True))
        with self.db.session() as s:
            self.quotas.reserve(s, project, {"networks": 1})
            s.add(row)
            s.flush()
            return self._views(s, [row])[0]

    def update(self, ctx: RequestContext, id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "update_network", lock=True)
            target = network_target(row)
            for name, column in (("shared", "shared"), ("router:external", "external")):
                if name in attrs:
                    value = flag(attrs, name, False)
                    if value != getattr(row, column):
                        self.enforce(ctx, f"update_network:{name}", target)
                        if column == "shared" and not value:
                            _refuse_unsharing(s, row)
                        setattr(row, column, value)
            for name in ("name", "description"):
                if name in attrs:
                    setattr(row, name, text(attrs, name))
            for name in ("admin_state_up", "port_security_enabled"):
                if name in attrs:
                    setattr(row, name, flag(attrs, name, True))
            if "mtu" in attrs:
                row.mtu = _mtu(attrs["mtu"])
            for key in ("id", "project_id", "tenant_id", "status", "subnets"):
                if key in attrs and attrs[key] != getattr(row, key.replace("tenant", "project"),
                                                          None):
                    raise errors.InvalidInput(f"Cannot update read-only attribute {key}",
                                              param=key)
            bump(row)
            s.flush()
            return self._views(s, [row])[0]

    def delete(self, ctx: RequestContext, id: str) -> None:
        with self.db.session() as s:
            row = self.row(s, ctx, id, "delete_network", lock=True)
            if s.scalar(select(Port.id).where(Port.network_id == row.id).limit(1)):
                raise NetworkInUse(row.id)
            subnets = list(s.scalars(select(Subnet.id).where(Subnet.network_id == row.id)))
            s.execute(delete(NetworkTag).where(NetworkTag.resource_id.in_([row.id, *subnets])))
            s.execute(delete(Subnet).where(Subnet.network_id == row.id))
            s.delete(row)
            self.quotas.release(s, row.project_id, {"networks": 1, "subnets": len(subnets)})

    # ---- for the other services ----------------------------------------------------------
    def usable(self, s: Session, ctx: RequestContext, id: str) -> Network:
        """A network the caller may attach things to (own, shared, or any for an
        admin); NetworkNotFound otherwise."""
        row = s.scalar(select(Network).where(Network.id == str(id), self.visible(ctx)))
        if row is None:
            raise NetworkNotFound(id)
        return row


def _refuse_unsharing(s: Session, row: Network) -> None:
    if s.scalar(select(Port.id).where(Port.network_id == row.id,
                                      Port.project_id != row.project_id).limit(1)):
        raise errors.Conflict(f"Unable to reconfigure sharing settings for network "
                              f"{row.id}. Multiple tenants are using it.", kind="network",
                              id=row.id, state="in-use")


def _mtu(value: Any) -> int:
    mtu = as_int(value, "mtu")
    if not MTU_RANGE[0] <= mtu <= MTU_RANGE[1]:
        raise errors.InvalidInput(f"Invalid input for mtu. Reason: '{mtu}' is not in range "
                                  f"{MTU_RANGE[0]} through {MTU_RANGE[1]}.", param="mtu")
    return mtu


