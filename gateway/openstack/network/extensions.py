"""``GET /v2.0/extensions[/{alias}]``: the extensions this API really
implements, described as Neutron describes them. ``external-gateway-multihoming``
is deliberately absent: OSC then sets a router's gateway with a plain update."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from gateway.openstack.network.base import Handler

# alias -> (name, description, updated), Neutron's own wording
EXTENSIONS: dict[str, tuple[str, str, str]] = {
    "security-group": ("security-group", "The security groups extension.",
                       "2012-10-05T10:00:00-00:00"),
    "router": ("Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 "
               "Neutron networks and access to external networks via a NAT gateway.",
               "2012-07-20T10:00:00-00:00"),
    "external-net": ("Neutron external network",
                     "Adds external network attribute to network resource.",
                     "2013-01-14T10:00:00-00:00"),
    "extraroute": ("Neutron Extra Route", "Extra routes configuration for L3 router",
                   "2013-02-01T10:00:00-00:00"),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode",
                    "Extension of the router abstraction for specifying whether SNAT should "
                    "occur on the external gateway", "2013-03-28T10:00:00-00:00"),
    "quotas": ("Quota management support",
               "Expose functions for quotas management per project",
               "2012-07-29T10:00:00-00:00"),
    "quota_details": ("Quota details management support",
                      "Expose functions for quotas usage statistics per project",
                      "2017-02-10T10:00:00-00:00"),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource.",
                "2015-03-25T10:00:00-00:00"),
    "port-security": ("Port Security", "Provides port security",
                      "2012-07-23T10:00:00-00:00"),
    "allowed-address-pairs": ("Allowed Address Pairs", "Provides allowed address pairs",
                              "2013-07-23T10:00:00-00:00"),
    "binding": ("Port Binding",
                "Expose port bindings of a virtual port to external application",
                "2014-02-03T10:00:00-00:00"),
    "standard-attr-description": ("standard-attr-description",
                                  "Extension to add descriptions to standard attributes",
                                  "2016-02-10T10:00:00-00:00"),
    "standard-attr-tag": ("Tag support for resources with standard attribute: subnet, "
                          "port, network, router, floatingip, security_group",
                          "Enables to set tag on resources with standard attribute.",
                          "2017-01-01T00:00:00-00:00"),
    "standard-attr-timestamp": ("Resource timestamps",
                                "Adds created_at and updated_at fields to all Neutron "
                                "resources that have Neutron standard attributes.",
                                "2016-09-12T10:00:00-00:00"),
    "standard-attr-revisions": ("Resource revision numbers",
                                "This extension will display the revision number of "
                                "neutron resources.", "2016-04-11T10:00:00-00:00"),
    "project-id": ("project_id field enabled",
                   "Extension that indicates that project_id field is enabled.",
                   "2016-09-09T09:09:09-09:09"),
    "pagination": ("Pagination support",
                   "Extension that indicates that pagination is enabled.",
                   "2016-06-12T00:00:00-00:00"),
    "sorting": ("Sorting support", "Extension that indicates that sorting is enabled.",
                "2016-06-12T00:00:00-00:00"),
    "fields": ("Fields selection", "Lists and shows return only the attributes named by "
               "repeated fields= query parameters.", "2016-06-12T00:00:00-00:00"),
}


def extension_view(alias: str) -> dict[str, Any]:
    name, description, updated = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description, "updated": updated,
            "links": []}


class Extensions(Handler):
    RULE = "network:get_service"

    def list(self):
        self.authorized(self.RULE)
        return {"extensions": [extension_view(alias) for alias in EXTENSIONS]}

    def show(self, alias: str):
        self.authorized(self.RULE)
        if alias not in EXTENSIONS:
            raise HTTPException(404, detail=f"Extension with alias {alias} does not exist")
        return {"extension": extension_view(alias)}
