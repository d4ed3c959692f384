"""DescribeRegions and DescribeAvailabilityZones: the catalog's regions with
their EC2 endpoint, and the compute services' availability zones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.compute.hosts import Zone
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Handler

EC2_SERVICE_TYPE = "ec2"
OPT_IN_NOT_REQUIRED = "opt-in-not-required"

REGION_FILTERS: Filters[Mapping[str, Any]] = Filters({
    "endpoint": lambda r: r["Endpoint"],
    "region-name": lambda r: r["RegionName"],
    "opt-in-status": lambda r: r["OptInStatus"],
})
ZONE_FILTERS: Filters[Mapping[str, Any]] = Filters({
    "zone-name": lambda z: z["ZoneName"],
    "zone-id": lambda z: z["ZoneId"],
    "state": lambda z: z["State"],
    "region-name": lambda z: z["RegionName"],
    "group-name": lambda z: z["GroupName"],
    "group-long-name": lambda z: z["GroupLongName"],
    "network-border-group": lambda z: z["NetworkBorderGroup"],
    "opt-in-status": lambda z: z["OptInStatus"],
    "zone-type": lambda z: z["ZoneType"],
    "message": lambda z: [m["Message"] for m in z["Messages"]],
})


def zone_id(region: str, zone: str) -> str:
    """A zone's ID: stable, and distinct across regions (AWS: ``use1-az1``)."""
    return f"{region.lower()}-{zone}"


class Regions(Handler):
    def regions(self) -> list[dict[str, Any]]:
        """Regions with a public EC2 endpoint in the catalog; this node's
        region and endpoint if the catalog lists none."""
        found: dict[str, str] = {}
        for service in self.deps.identity.catalog.catalog():
            if service["type"] != EC2_SERVICE_TYPE:
                continue
            for endpoint in service["endpoints"]:
                if endpoint["interface"] == "public" and endpoint["region_id"]:
                    found.setdefault(endpoint["region_id"], endpoint["url"])
        if not found:
            found[self.deps.settings.region] = self.deps.endpoint
        return [{"RegionName": name, "Endpoint": url, "OptInStatus": OPT_IN_NOT_REQUIRED}
                for name, url in sorted(found.items())]

    @action("DescribeRegions")
    def describe_regions(self, call: Call) -> dict[str, Any]:
        regions = self.regions()
        names = call.get("RegionNames", [])
        unknown = sorted(set(names) - {r["RegionName"] for r in regions})
        if unknown:
            raise Ec2Error("InvalidParameterValue", f"Invalid region: {', '.join(unknown)}")
        if names:
            regions = [r for r in regions if r["RegionName"] in names]
        return {"Regions": REGION_FILTERS.apply(regions, call.get("Filters"))}

    @action("DescribeAvailabilityZones", rules=("os_compute_api:os-availability-zone:list",))
    def describe_availability_zones(self, call: Call) -> dict[str, Any]:
        region = self.deps.settings.region
        zones = [self._zone(z, region) for z in self.deps.hosts.zones(call.ctx)]
        for param, key in (("ZoneNames", "ZoneName"), ("ZoneIds", "ZoneId")):
            wanted = call.get(param, [])
            unknown = sorted(set(wanted) - {z[key] for z in zones})
            if unknown:
                raise Ec2Error("InvalidParameterValue",
                               f"Invalid availability zone: [{', '.join(unknown)}]")
            if wanted:
                zones = [z for z in zones if z[key] in wanted]
        return {"AvailabilityZones": ZONE_FILTERS.apply(zones, call.get("Filters"))}

    @staticmethod
    def _zone(zone: Zone, region: str) -> dict[str, Any]:
        return {"ZoneName": zone.name, "ZoneId": zone_id(region, zone.name),
                "State": "available" if zone.available else "unavailable",
                "RegionName": region, "GroupName": region, "GroupLongName": region,
                "NetworkBorderGroup": region, "OptInStatus": OPT_IN_NOT_REQUIRED,
                "ZoneType": "availability-zone", "Messages": []}
