"""Regions, services and endpoints."""

from __future__ import annotations

from gateway.openstack.identity.base import NO_CONTENT, Handler


class Regions(Handler):
    def list(self):
        rows = self.identity.catalog.list_regions(self.auth.context())
        return self.views.collection("regions", [self.views.region(r) for r in rows], "regions")

    def create(self, body: dict):
        r = body["region"]
        region = self.identity.catalog.create_region(self.auth.context(), r.get("id"),
                                                     r.get("description"),
                                                     r.get("parent_region_id"))
        return {"region": self.views.region(region)}, 201

    def show(self, region_id: str):
        return {"region": self.views.region(
            self.identity.catalog.get_region(self.auth.context(), region_id))}

    def update(self, region_id: str, body: dict):
        return {"region": self.views.region(
            self.identity.catalog.update_region(self.auth.context(), region_id, body["region"]))}

    def delete(self, region_id: str):
        self.identity.catalog.delete_region(self.auth.context(), region_id)
        return NO_CONTENT


class Services(Handler):
    def list(self):
        rows = self.identity.catalog.list_services(self.auth.context(), type=self.query("type"))
        return self.views.collection("services", [self.views.service(s) for s in rows],
                                     "services")

    def create(self, body: dict):
        s = body["service"]
        svc = self.identity.catalog.create_service(self.auth.context(), s["type"], s.get("name"),
                                                   s.get("description"), s.get("enabled", True))
        return {"service": self.views.service(svc)}, 201

    def show(self, service_id: str):
        return {"service": self.views.service(
            self.identity.catalog.get_service(self.auth.context(), service_id))}

    def update(self, service_id: str, body: dict):
        return {"service": self.views.service(
            self.identity.catalog.update_service(self.auth.context(), service_id,
                                                 body["service"]))}

    def delete(self, service_id: str):
        self.identity.catalog.delete_service(self.auth.context(), service_id)
        return NO_CONTENT


class Endpoints(Handler):
    def list(self):
        rows = self.identity.catalog.list_endpoints(
            self.auth.context(), service_id=self.query("service_id"),
            interface=self.query("interface"), region_id=self.query("region_id"))
        return self.views.collection("endpoints", [self.views.endpoint(e) for e in rows],
                                     "endpoints")

    def create(self, body: dict):
        e = body["endpoint"]
        ep = self.identity.catalog.create_endpoint(
            self.auth.context(), e["service_id"], e["interface"], e["url"],
            e.get("region_id") or e.get("region"), e.get("enabled", True))
        return {"endpoint": self.views.endpoint(ep)}, 201

    def show(self, endpoint_id: str):
        return {"endpoint": self.views.endpoint(
            self.identity.catalog.get_endpoint(self.auth.context(), endpoint_id))}

    def update(self, endpoint_id: str, body: dict):
        return {"endpoint": self.views.endpoint(
            self.identity.catalog.update_endpoint(self.auth.context(), endpoint_id,
                                                  body["endpoint"]))}

    def delete(self, endpoint_id: str):
        self.identity.catalog.delete_endpoint(self.auth.context(), endpoint_id)
        return NO_CONTENT
