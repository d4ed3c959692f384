"""What every EC2 handler is built with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core import errors
from core.compute.flavors import FlavorService
from core.compute.hosts import HostService
from core.compute.keypairs import KeyPairService
from core.compute.server_actions import ServerActions
from core.compute.server_volumes import ServerVolumes
from core.compute.servers import ServerService
from core.identity.service import IdentityService
from core.idmap.ids import Ec2Ids, Kind, canonical_id
from core.image.service import ImageService
from core.network.floating import FloatingIpService
from core.network.security_groups import SecurityGroupService
from core.network.services import NetworkServices
from core.quota.service import QuotaService
from core.services import CoreServices
from core.settings import Settings
from core.tagging.service import TagService
from core.volume.services import VolumeServices
from core.vpc.services import VpcServices
from gateway.ec2.filters import names_owner, owners_as_accounts


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
    network: NetworkServices
    vpc: VpcServices
    volumes: VolumeServices
    server_volumes: ServerVolumes  # the compute side of attaching (Nova's)
    endpoint: str  # this API's public URL, e.g. http://cloud.example:8080/ec2/

    @classmethod
    def from_core(cls, core: CoreServices, endpoint: str) -> Ec2Deps:
        return cls(settings=core.settings, identity=core.identity, keypairs=core.keypairs,
                   flavors=core.flavors, hosts=core.hosts, quotas=core.quotas,
                   images=core.images, servers=core.servers,
                   server_actions=core.server_actions, security_groups=core.security_groups,
                   floating_ips=core.floating_ips, tags=core.tags, ids=core.ids, vpc=core.vpc,
                   network=core.network, volumes=core.volumes,
                   server_volumes=core.server_volumes, endpoint=endpoint)


class Handler:
    """Base of the handler classes: one per resource kind, one method per Action."""

    def __init__(self, deps: Ec2Deps) -> None:
        self.deps = deps

    def os_ids(self, kind: Kind, values: Sequence[str]) -> dict[str, str]:
        """OpenStack ids by canonical EC2 ID of every one of ``values``:
        MalformedId for an ill-formed one, NotFound (naming all that are) for
        those that name nothing."""
        wanted = list(dict.fromkeys(canonical_id(kind, v) for v in values))
        found = self.deps.ids.os_uuids_for(kind, wanted)
        missing = [w for w in wanted if w not in found]
        if missing:
            raise errors.NotFound(f"{', '.join(missing)} not found", kind=kind.resource,
                                  ids=missing)
        return found

    def accounts(self, project_ids: Iterable[str]) -> dict[str, str]:
        """Account ids (EC2's ``OwnerId``) by project id, minted on first sight."""
        return self.deps.ids.accounts.account_ids_for(project_ids)

    def account(self, project_id: str | None) -> str:
        """One project's account id ("" for none)."""
        return self.deps.ids.accounts.account_id_for(project_id or "")

    def owner_filters(self, filters: Sequence[Mapping[str, Any]] | None
                      ) -> list[Mapping[str, Any]] | None:
        """``Filters`` whose owner values may be project ids too, as account
        ids. Call it once the views are made: a project that owns anything
        shown has its account id by then, and no filter value mints one."""
        named = [v for f in filters or () if names_owner(f.get("Name"))
                 for v in f.get("Values") or ()]
        return owners_as_accounts(filters, self.deps.ids.accounts.existing(named))

    def os_id(self, kind: Kind, value: str) -> str:
        """The OpenStack id one EC2 ID names (see :meth:`os_ids`)."""
        return next(iter(self.os_ids(kind, [value]).values()))
