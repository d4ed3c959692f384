"""The checks a boot request passes before anything is written: zone and forced
host, flavor, image (active, visible, big enough for the flavor), key pair,
metadata, user data and scheduler hints. Each raises the domain error Nova's
API answers with (400, or 403 for quota), with Nova's wording."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from sqlalchemy import select

from core import errors
from core.compute.aggregates import host_zones
from core.compute.flavors import FlavorService
from core.compute.keypairs import KeyPairService
from core.compute.models import ComputeService, Flavor
from core.context import RequestContext
from core.db import Database
from core.image.service import ImageService
from core.placement.models import ComputeNode
from core.policy import PolicyEnforcer
from core.settings import Settings


class BootChecks:
    def __init__(self, settings: Settings, db: Database, policy: PolicyEnforcer,
                 images: ImageService, flavors: FlavorService,
                 keypairs: KeyPairService) -> None:
        self.settings = settings
        self.db = db
        self.policy = policy
        self.images = images
        self.flavors = flavors
        self.keypairs = keypairs

    def zone(self, ctx: RequestContext, requested: str | None,
              target: dict) -> tuple[str | None, str | None]:
        if not requested:
            return None, None
        zone, _, rest = requested.partition(":")
        host = rest.partition(":")[0] or None
        if host:
            self.policy.enforce("os_compute_api:servers:create:forced_host", target, ctx)
        with self.db.session() as s:
            aggregated = host_zones(s)
            zones = {aggregated.get(host) or zone for host, zone in s.execute(
                select(ComputeService.host, ComputeService.availability_zone).where(
                    ComputeService.binary == "nova-compute"))}
            if host and s.scalar(select(ComputeService.id).where(
                    ComputeService.host == host,
                    ComputeService.binary == "nova-compute")) is None:
                raise errors.InvalidReference(f"No valid host was found. Host {host} is not "
                                              "a compute host.", kind="host", id=host,
                                              param="availability_zone")
        if zone and zone not in zones:
            raise errors.InvalidReference("The requested availability zone is not available",
                                          kind="availability_zone", id=zone,
                                          param="availability_zone")
        return zone or None, host

    def destination(self, ctx: RequestContext, host: str | None, node: str | None,
                    target: dict) -> tuple[str | None, str | None]:
        """Nova 2.74's requested destination (admin only by policy): the host and/or
        node (hypervisor_hostname) must be a known compute node, or the request is
        Nova's 400 ComputeHostNotFound. The scheduler still filters it."""
        if not host and not node:
            return None, None
        self.policy.enforce("compute:servers:create:requested_destination", target, ctx)
        stmt = select(ComputeNode.id)
        if host:
            stmt = stmt.where(ComputeNode.host == host)
        if node:
            stmt = stmt.where(ComputeNode.hypervisor_hostname == node)
        with self.db.session() as s:
            if s.scalar(stmt.limit(1)) is None:
                missing = node if node else host
                raise errors.InvalidReference(f"Compute host {missing} could not be found.",
                                              kind="host", id=missing,
                                              param="hypervisor_hostname" if node else "host")
        return host or None, node or None

    def flavor(self, ctx: RequestContext, ref: str, by_name: bool = False) -> Flavor:
        """The flavor ``ref`` (an id or a link to it; with ``by_name``, its name)
        names, if the caller's project may boot it."""
        flavor_id = ref if by_name else ref.rstrip("/").rsplit("/", 1)[-1]
        missing = errors.InvalidReference(f"Flavor {flavor_id} could not be found.",
                                          kind="flavor", id=flavor_id,
                                          by="name" if by_name else None, param="flavorRef")
        try:
            flavor = (self.flavors.find_by_name(ctx, ref) if by_name
                      else self.flavors.get_for_project(ctx, flavor_id))
        except errors.NotFound:
            raise missing from None
        if flavor.disabled:
            raise missing
        return flavor

    def image(self, ctx: RequestContext, ref: str | None, flavor: Flavor) -> dict:
        if not ref:
            raise errors.InvalidInput("Missing imageRef attribute", param="imageRef")
        image_id = ref.rstrip("/").rsplit("/", 1)[-1]
        try:
            image = self.images.show(ctx, image_id).image
        except (errors.NotFound, errors.Forbidden):
            raise errors.InvalidReference(f"Image {image_id} could not be found.",
                                          kind="image", id=image_id, param="imageRef") from None
        if image.status != "active":
            raise errors.ReferenceUnavailable(f"Image {image_id} is not active.", kind="image",
                                              id=image_id, state=image.status,
                                              param="imageRef")
        gib = 1 << 30
        if flavor.memory_mb < (image.min_ram or 0):
            raise errors.InvalidInput("Flavor's memory is too small for requested image.")
        if flavor.root_gb:
            if (image.min_disk or 0) > flavor.root_gb:
                raise errors.InvalidInput(
                    "Flavor's disk is too small for requested image. Flavor disk is "
                    f"{flavor.root_gb * gib} bytes, minimum size is {image.min_disk * gib} "
                    "bytes.")
            if (image.size or 0) > flavor.root_gb * gib:
                raise errors.InvalidInput(
                    "Flavor's disk is too small for requested image. Flavor disk is "
                    f"{flavor.root_gb * gib} bytes, image is {image.size} bytes.")
        props = {k: v for k, v in (image.properties or {}).items() if isinstance(v, str)}
        return {"id": image.id, "name": image.name, "properties": props,
                "min_ram": image.min_ram or 0, "min_disk": image.min_disk or 0,
                "size": image.size or 0, "disk_format": image.disk_format,
                "container_format": image.container_format}

    def key(self, ctx: RequestContext, key_name: str | None) -> tuple[str | None, str | None]:
        if not key_name:
            return None, None
        try:
            kp = self.keypairs.get(ctx.user_id or "", key_name)
        except errors.NotFound:
            raise errors.InvalidReference("Invalid key_name provided.", kind="key_pair",
                                          id=key_name, param="key_name") from None
        return kp.name, kp.public_key

    def check_metadata(self, metadata: dict[str, Any]) -> None:
        limit = self.settings.quota_metadata_items
        if 0 <= limit < len(metadata):
            raise errors.QuotaExceeded("Quota exceeded for metadata_items: Requested "
                                       f"{len(metadata)}, but already used 0 of {limit} "
                                       "metadata_items", resources=["metadata_items"],
                                       requested={"metadata_items": len(metadata)},
                                       used={"metadata_items": 0},
                                       allowed={"metadata_items": limit})
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise errors.InvalidInput("Metadata keys and values must be strings.")
            if not 1 <= len(key) <= 255 or len(value) > 255:
                raise errors.InvalidInput("Metadata property key or value greater than 255 "
                                          "characters, or an empty key.")

    @staticmethod
    def user_data(data: str | None) -> str | None:
        if data is None:
            return None
        try:
            # Nova strips whitespace first: `base64` wraps its output at 76 columns.
            base64.b64decode(re.sub(r"\s", "", data), validate=True)
        except (binascii.Error, ValueError):
            raise errors.InvalidInput("User data needs to be valid base 64.") from None
        if len(data) > 65535:
            raise errors.InvalidInput("User data too large. User data must be no larger "
                                      "than 65535 bytes once base64 encoded.")
        return data

    def hints(self, hints: dict[str, Any]) -> dict[str, Any]:
        """The hints as the instance keeps them: same_host and different_host as
        lists, group as given, and hints no filter reads as they came (Nova keeps
        them in the request spec and shows them from 2.100)."""
        out: dict[str, Any] = {k: v for k, v in hints.items()
                               if k not in ("same_host", "different_host", "group")}
        for key in ("same_host", "different_host"):
            value = hints.get(key)
            if value:
                out[key] = [value] if isinstance(value, str) else list(value)
        group = hints.get("group")
        if group:
            out["group"] = group
        return out
