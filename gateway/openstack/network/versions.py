"""Discovery: ``GET /`` (the versions) and ``GET /v2.0`` (its resources), as
Neutron answers them. No client needs them (openstacksdk appends ``/v2.0`` to
the catalog URL itself); Tempest reads both."""

from __future__ import annotations

from gateway.openstack.network.base import Handler

# (member, collection path) of every resource v2.0 serves
RESOURCES = (("network", "networks"), ("subnet", "subnets"), ("port", "ports"),
             ("router", "routers"), ("floatingip", "floatingips"),
             ("security_group", "security-groups"),
             ("security_group_rule", "security-group-rules"), ("quota", "quotas"),
             ("extension", "extensions"))


class Versions(Handler):
    def list(self):
        return {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
            {"rel": "self", "href": f"{self.deps.base}/v2.0/"}]}]}

    def resources(self):
        return {"resources": [
            {"name": member, "collection": path,
             "links": [{"rel": "self", "href": f"{self.deps.base}/v2.0/{path}"}]}
            for member, path in RESOURCES]}
