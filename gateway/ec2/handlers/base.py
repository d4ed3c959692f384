"""What every EC2 handler is built with."""

from __future__ import annotations

from dataclasses import dataclass

from core.compute.flavors import FlavorService
from core.compute.hosts import HostService
from core.compute.keypairs import KeyPairService
from core.compute.server_actions import ServerActions
from core.compute.servers import ServerService
from core.identity.service import IdentityService
from core.idmap.ids import Ec2Ids
from core.image.service import ImageService
from core.network.floating import FloatingIpService
from core.network.security_groups import SecurityGroupService
from core.quota.service import QuotaService
from core.services import CoreServices
from core.settings import Settings
from core.tagging.service import TagService


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
    security_groups: SecurityGroupService
    floating_ips: FloatingIpService
    tags: TagService
    ids: Ec2Ids
    endpoint: str  # this API's public URL, e.g. http://cloud.example:8080/ec2/

    @classmethod
    def from_core(cls, core: CoreServices, endpoint: str) -> Ec2Deps:
        return cls(settings=core.settings, identity=core.identity, keypairs=core.keypairs,
                   flavors=core.flavors, hosts=core.hosts, quotas=core.quotas,
                   images=core.images, servers=core.servers,
                   server_actions=core.server_actions, security_groups=core.security_groups,
                   floating_ips=core.floating_ips, tags=core.tags, ids=core.ids,
                   endpoint=endpoint)


class Handler:
    """Base of the handler classes: one per resource kind, one method per Action."""

    def __init__(self, deps: Ec2Deps) -> None:
        self.deps = deps
