"""``GET /extensions``: the API extensions this endpoint serves.

Nova lists its (static) extensions with a fake XML namespace and a fixed date;
only those whose resources or fields are actually served are listed here. A
module adding resources (servers, ...) adds its entries to :data:`EXTENSIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import errors
from gateway.openstack.compute.base import Handler

NAMESPACE = "http://docs.openstack.org/compute/ext/fake_xml"
UPDATED = "2014-12-03T00:00:00Z"


@dataclass(frozen=True)
class Extension:
    alias: str
    name: str
    description: str

    def view(self) -> dict[str, object]:
        return {"alias": self.alias, "name": self.name, "description": self.description,
                "namespace": NAMESPACE, "links": [], "updated": UPDATED}


EXTENSIONS = (
    Extension("os-aggregates", "Aggregates", "Admin-only aggregate administration."),
    Extension("os-simple-tenant-usage", "SimpleTenantUsage", "Simple tenant usage "
              "extension."),
    Extension("os-remote-consoles", "Consoles", "Interactive Console support."),
    Extension("os-server-diagnostics", "ServerDiagnostics", "Allow Admins to view server "
              "diagnostics through server action."),
    Extension("os-server-external-events", "ServerExternalEvents", "Server External Event "
              "Triggers."),
    Extension("os-server-password", "ServerPassword", "Server password support."),
    Extension("os-availability-zone", "AvailabilityZone", "1. Add availability_zone to the "
              "Create Server API.\n2. Add availability zones describing."),
    Extension("os-block-device-mapping", "BlockDeviceMapping", "Block device mapping boot "
              "support."),
    Extension("extensions", "Extensions", "Extension information."),
    Extension("os-extended-volumes", "ExtendedVolumes", "Extended Volumes support."),
    Extension("os-flavor-access", "FlavorAccess", "Flavor access support."),
    Extension("OS-FLV-DISABLED", "FlavorDisabled", "Support to show the disabled status of "
              "a flavor."),
    Extension("OS-FLV-EXT-DATA", "FlavorExtraData", "Provide additional data for flavors."),
    Extension("os-flavor-extra-specs", "FlavorExtraSpecs", "Flavors extra specs support."),
    Extension("os-flavor-manage", "FlavorManage", "Flavor create/delete API support."),
    Extension("os-flavor-rxtx", "FlavorRxtx", "Support to show the rxtx status of a flavor."),
    Extension("os-flavor-swap", "FlavorSwap", "Support to show the swap status of a flavor."),
    Extension("flavors", "Flavors", "Flavors Extension."),
    Extension("os-hypervisors", "Hypervisors", "Admin-only hypervisor administration."),
    Extension("os-keypairs", "Keypairs", "Keypair Support."),
    Extension("limits", "Limits", "Limits support."),
    Extension("os-quota-sets", "Quotas", "Quotas management support."),
    Extension("os-quota-class-sets", "QuotaClasses", "Quota classes management support."),
    Extension("os-server-groups", "ServerGroups", "Server group support."),
    Extension("os-services", "Services", "Services support."),
    Extension("versions", "Versions", "API Version information."),
)


class Extensions(Handler):
    def list(self):
        self.authorized("os_compute_api:extensions")
        return {"extensions": [e.view() for e in sorted(EXTENSIONS, key=lambda e: e.name)]}

    def show(self, alias: str):
        self.authorized("os_compute_api:extensions")
        for ext in EXTENSIONS:
            if ext.alias == alias:
                return {"extension": ext.view()}
        raise errors.NotFound("The resource could not be found.")
