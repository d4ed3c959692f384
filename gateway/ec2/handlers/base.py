"""What every EC2 handler is built with."""

from __future__ import annotations

from dataclasses import dataclass

from core.compute.flavors import FlavorService
from core.compute.hosts import HostService
from core.compute.keypairs import KeyPairService
from core.compute.quotas import QuotaService
from core.compute.server_actions import ServerActions
from core.compute.servers import ServerService
from core.ec2.ids import Ec2Ids
from core.identity.service import IdentityService
from core.image.service import ImageService
from core.settings import Settings


@dataclass(frozen=True)
class Ec2Deps:
    """The core services the EC2 actions use, built once by the app factory."""

    settings: Settings
    identity: IdentityService
    keypairs: KeyPairService
    flavors: FlavorService
    hosts: HostService
    quotas: QuotaService
    images: ImageService
    servers: ServerService
    server_actions: ServerActions
    ids: Ec2Ids
    endpoint: str  # this API's public URL, e.g. http://cloud.example:8080/ec2/


class Handler:
    """Base of the handler classes: one per resource kind, one method per Action."""

    def __init__(self, deps: Ec2Deps) -> None:
        self.deps = deps
