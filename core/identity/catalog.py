"""Regions, services and endpoints: the service catalog."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import new_id
from core.db.queries import commit_unique, filtered, get_or_not_found
from core.identity.models import Endpoint, Region, Service
from core.identity.targets import target
from core.policy import PolicyEnforcer

INTERFACES = ("public", "internal", "admin")
# A catalog service as read: id, type, name, (endpoint id, interface, region, URL)...
_CatalogService = tuple[str, str, str, tuple[tuple[str, str, str | None, str], ...]]


class CatalogService:
    def __init__(self, db: Database, policy: PolicyEnforcer) -> None:
        self.db = db
        self.policy = policy
        # The services and endpoints read at an identity revision (see catalog()).
        self._services: tuple[int | None, list[_CatalogService]] | None = None

    # ---- the catalog as tokens carry it ----------------------------------
    def catalog(self, project_id: str | None = None,
                revision: int | None = None) -> list[dict[str, Any]]:
        """Enabled services with their enabled endpoints, URLs substituted.

        ``revision``: the identity revision the caller read this request (a
        validated token's, core.identity.revision): the services and endpoints
        read at that revision are reused while it is the current one, as the
        validation itself is. Without it they are read now."""
        cached = self._services
        if revision is None or cached is None or cached[0] != revision:
            cached = (revision, self._read_services())
            if revision is not None:
                self._services = cached
        out = []
        for svc_id, svc_type, svc_name, endpoints in cached[1]:
            eps = []
            for ep_id, interface, region_id, url in endpoints:
                if "$(" in url or "%(" in url:
                    if not project_id:
                        continue  # keystone omits endpoints it cannot substitute
                    url = (url.replace("$(project_id)s", project_id)
                           .replace("$(tenant_id)s", project_id)
                           .replace("%(project_id)s", project_id)
                           .replace("%(tenant_id)s", project_id))
                eps.append({"id": ep_id, "interface": interface, "region_id": region_id,
                            "region": region_id, "url": url})
            out.append({"id": svc_id, "type": svc_type, "name": svc_name, "endpoints": eps})
        return out

    def _read_services(self) -> list[_CatalogService]:
        with self.db.session() as s:
            services = list(s.scalars(select(Service).where(Service.enabled.is_(True))
                                      .order_by(Service.type)))
            endpoints = list(s.scalars(select(Endpoint).where(Endpoint.enabled.is_(True))))
        by_service: dict[str, list[Endpoint]] = {}
        for e in endpoints:
            by_service.setdefault(e.service_id, []).append(e)
        return [(svc.id, svc.type, svc.name or "",
                 tuple((e.id, e.interface, e.region_id, e.url)
                       for e in sorted(by_service.get(svc.id, []), key=lambda e: e.interface)))
                for svc in services]

    # ---- regions -------------------------------------------------------
    def list_regions(self, ctx: RequestContext) -> list[Region]:
        self.policy.enforce("identity:list_regions", target(), ctx)
        with self.db.session() as s:
            return list(s.scalars(select(Region).order_by(Region.id)))

    def get_region(self, ctx: RequestContext, region_id: str) -> Region:
        self.policy.enforce("identity:get_region", target(region={"id": region_id}), ctx)
        with self.db.session() as s:
            return get_or_not_found(s, Region, region_id, "region")

    def create_region(self, ctx: RequestContext, region_id: str | None,
                      description: str | None = None,
                      parent_region_id: str | None = None) -> Region:
        self.policy.enforce("identity:create_region", target(region={"id": region_id}), ctx)
        with self.db.session() as s:
            if parent_region_id:
                get_or_not_found(s, Region, parent_region_id, "region")
            r = Region(id=region_id or new_id(),
                       description=description, parent_region_id=parent_region_id)
            if s.get(Region, r.id) is not None:
                raise errors.Conflict(f"Duplicate ID, {r.id}.")
            s.add(r)
            commit_unique(s, f"Duplicate ID, {r.id}.")
            return r

    def update_region(self, ctx: RequestContext, region_id: str, changes: dict) -> Region:
        self.policy.enforce("identity:update_region", target(region={"id": region_id}), ctx)
        with self.db.session() as s:
            r = get_or_not_found(s, Region, region_id, "region")
            if changes.get("parent_region_id"):
                get_or_not_found(s, Region, changes["parent_region_id"], "region")
            for key in ("description", "parent_region_id"):
                if key in changes:
                    setattr(r, key, changes[key])
            return r

    def delete_region(self, ctx: RequestContext, region_id: str) -> None:
        self.policy.enforce("identity:delete_region", target(region={"id": region_id}), ctx)
        with self.db.session() as s:
            r = get_or_not_found(s, Region, region_id, "region")
            if s.scalar(select(Endpoint.id).where(Endpoint.region_id == region_id).limit(1)):
                raise errors.Forbidden(f"Region {region_id} still has endpoints.")
            s.delete(r)

    # ---- services ------------------------------------------------------
    def list_services(self, ctx: RequestContext, type: str | None = None) -> list[Service]:
        self.policy.enforce("identity:list_services", target(), ctx)
        q = filtered(select(Service).order_by(Service.type), Service, type=type)
        with self.db.session() as s:
            return list(s.scalars(q))

    def get_service(self, ctx: RequestContext, service_id: str) -> Service:
        self.policy.enforce("identity:get_service", target(service={"id": service_id}), ctx)
        with self.db.session() as s:
            return get_or_not_found(s, Service, service_id, "service")

    def create_service(self, ctx: RequestContext, type: str, name: str | None = None,
                       description: str | None = None, enabled: bool = True) -> Service:
        self.policy.enforce("identity:create_service", target(service={"type": type}), ctx)
        with self.db.session() as s:
            svc = Service(type=type, name=name, description=description, enabled=enabled)
            s.add(svc)
            return svc

    def update_service(self, ctx: RequestContext, service_id: str, changes: dict) -> Service:
        self.policy.enforce("identity:update_service", target(service={"id": service_id}), ctx)
        with self.db.session() as s:
            svc = get_or_not_found(s, Service, service_id, "service")
            for key in ("type", "name", "description", "enabled"):
                if key in changes:
                    setattr(svc, key, changes[key])
            return svc

    def delete_service(self, ctx: RequestContext, service_id: str) -> None:
        self.policy.enforce("identity:delete_service", target(service={"id": service_id}), ctx)
        with self.db.session() as s:
            svc = get_or_not_found(s, Service, service_id, "service")
            s.execute(delete(Endpoint).where(Endpoint.service_id == service_id))
            s.delete(svc)

    # ---- endpoints -----------------------------------------------------
    def list_endpoints(self, ctx: RequestContext, service_id: str | None = None,
                       interface: str | None = None, region_id: str | None = None
                       ) -> list[Endpoint]:
        self.policy.enforce("identity:list_endpoints", target(), ctx)
        q = filtered(select(Endpoint).order_by(Endpoint.service_id, Endpoint.interface),
                     Endpoint, service_id=service_id, interface=interface, region_id=region_id)
        with self.db.session() as s:
            return list(s.scalars(q))

    def get_endpoint(self, ctx: RequestContext, endpoint_id: str) -> Endpoint:
        self.policy.enforce("identity:get_endpoint", target(endpoint={"id": endpoint_id}), ctx)
        with self.db.session() as s:
            return get_or_not_found(s, Endpoint, endpoint_id, "endpoint")

    def create_endpoint(self, ctx: RequestContext, service_id: str, interface: str, url: str,
                        region_id: str | None = None, enabled: bool = True) -> Endpoint:
        self.policy.enforce("identity:create_endpoint", target(endpoint={"url": url}), ctx)
        with self.db.session() as s:
            get_or_not_found(s, Service, service_id, "service")
            if region_id and s.get(Region, region_id) is None:
                s.add(Region(id=region_id))  # keystone creates missing regions implicitly
                s.flush()  # before the endpoint that refers to it
            e = Endpoint(service_id=service_id, interface=interface, url=url,
                         region_id=region_id, enabled=enabled)
            s.add(e)
            return e

    def update_endpoint(self, ctx: RequestContext, endpoint_id: str, changes: dict) -> Endpoint:
        self.policy.enforce("identity:update_endpoint", target(endpoint={"id": endpoint_id}),
                            ctx)
        with self.db.session() as s:
            e = get_or_not_found(s, Endpoint, endpoint_id, "endpoint")
            if "service_id" in changes:
                get_or_not_found(s, Service, changes["service_id"], "service")
            if changes.get("region_id"):
                get_or_not_found(s, Region, changes["region_id"], "region")
            for key in ("service_id", "interface", "url", "region_id", "enabled"):
                if key in changes:
                    setattr(e, key, changes[key])
            return e

    def delete_endpoint(self, ctx: RequestContext, endpoint_id: str) -> None:
        self.policy.enforce("identity:delete_endpoint", target(endpoint={"id": endpoint_id}),
                            ctx)
        with self.db.session() as s:
            s.delete(get_or_not_found(s, Endpoint, endpoint_id, "endpoint"))

    # ---- bootstrap -----------------------------------------------------
    def ensure_service(self, type: str, name: str, url: str, region: str) -> None:
        """Register (or re-point) a service with public/internal/admin endpoints."""
        with self.db.session() as s:
            if s.get(Region, region) is None:
                s.add(Region(id=region))
                s.flush()
            svc = s.scalar(select(Service).where(Service.type == type))
            if svc is None:
                svc = Service(type=type, name=name, enabled=True)
                s.add(svc)
                s.flush()
            existing = {e.interface: e for e in s.scalars(
                select(Endpoint).where(Endpoint.service_id == svc.id))}
            for interface in INTERFACES:
                e = existing.get(interface)
                if e is None:
                    s.add(Endpoint(service_id=svc.id, interface=interface, url=url,
                                   region_id=region, enabled=True))
                else:
                    e.url, e.region_id = url, region
