"""The one place that builds the core services, each with its collaborators
injected: ``build_core(settings)``.

The API app (``gateway.app``), ``wsgi.py``, the conductor and scheduler mains,
``core.manage``, the in-process control plane and the benchmarks all start
from it; no service constructs another one. Process-specific pieces are
assembled from its result by their own packages (``core.conductor.wiring``,
``core.scheduler.wiring``); the compute agent has a builder of its own
(``core.agent.wiring``) that needs no database at all.

This module imports the domains it wires (identity, image, network, compute,
volume, quota, the ID map, tagging) and nothing above them, so the conductor and the
scheduler may use it without a circle.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.compute.aggregates import AggregateService
from core.compute.boot_checks import BootChecks
from core.compute.boot_volumes import BootVolumes
from core.compute.consoles import ConsoleService
from core.compute.external_events import ExternalEvents
from core.compute.flavors import FlavorService
from core.compute.hosts import HostService
from core.compute.image_cache import AggregateImageCache
from core.compute.instance_records import InstanceRecords
from core.compute.instance_store import InstanceStore
from core.compute.keypairs import KeyPairService
from core.compute.migration_records import MigrationRecords
from core.compute.move_actions import MoveActions
from core.compute.notifications import Notifier
from core.compute.quotas import QuotaSetService
from core.compute.rpcapi import AgentClient, ConductorClient
from core.compute.server_actions import ServerActions
from core.compute.server_diagnostics import ServerDiagnostics
from core.compute.server_fixed_ips import ServerFixedIps
from core.compute.server_groups import ServerGroupService
from core.compute.server_interfaces import ServerInterfaces
from core.compute.server_passwords import ServerPasswords
from core.compute.server_security_groups import ServerSecurityGroups
from core.compute.server_topology import ServerTopology
from core.compute.server_volumes import ServerVolumes
from core.compute.servers import ServerService
from core.compute.state_actions import StateActions
from core.compute.tenant_usage import TenantUsageService
from core.db import Database
from core.identity.app_credentials import AppCredentialService
from core.identity.assignment import AssignmentService
from core.identity.catalog import CatalogService
from core.identity.ec2_credentials import Ec2CredentialService
from core.identity.fernet import DEFAULT_AUTH_METHODS, KeyRepository, SecretCipher, TokenFormatter
from core.identity.passwords import PasswordHasher
from core.identity.resource import ResourceService
from core.identity.revision import RevisionCounter
from core.identity.role_assignments import RoleAssignmentLister
from core.identity.service import IdentityService
from core.identity.token_cache import LruTokenCache
from core.identity.tokens import TokenService
from core.identity.users import UserService
from core.idmap.ids import Ec2Ids
from core.image.access import ImageAccess
from core.image.data import ImageData
from core.image.members import MemberService
from core.image.service import ImageService
from core.image.stores import build_stores
from core.messaging import Bus, MessageBus
from core.metrics import Metrics
from core.network.floating import FloatingIpService
from core.network.instance_ports import InstanceNetworking
from core.network.security_groups import SecurityGroupService
from core.network.services import NetworkServices, build_network
from core.policy import Enforcer, PolicyEnforcer
from core.policy.defaults import all_defaults
from core.quota.service import QuotaService
from core.settings import Settings
from core.tagging.service import TagService
from core.volume.services import VolumeServices, build_volume
from core.vpc.services import VpcServices, build_vpc


@dataclass(frozen=True)
class CoreServices:
    """Every core service of one process, built once and passed down."""

    settings: Settings
    db: Database
    policy: Enforcer
    bus: MessageBus
    ids: Ec2Ids
    identity: IdentityService
    images: ImageService
    quotas: QuotaService
    quota_sets: QuotaSetService
    # ---- network
    network: NetworkServices
    ipam: InstanceNetworking  # the servers' ports and addresses
    floating_ips: FloatingIpService  # EC2's Elastic IPs
    security_groups: SecurityGroupService  # the Nova and EC2 face of the groups
    vpc: VpcServices  # EC2's VPCs, subnets, route tables, gateways, DHCP options
    # ---- compute
    instances: InstanceStore
    flavors: FlavorService
    keypairs: KeyPairService
    server_groups: ServerGroupService
    hosts: HostService
    servers: ServerService
    server_actions: ServerActions
    state_actions: StateActions  # pause, suspend, rescue, password, soft delete ...
    move_actions: MoveActions  # shelve, rebuild, migrations, evacuate, backups
    migrations: MigrationRecords
    server_fixed_ips: ServerFixedIps  # addFixedIp / removeFixedIp (below 2.44)
    server_security_groups: ServerSecurityGroups
    server_interfaces: ServerInterfaces
    server_volumes: ServerVolumes  # Nova's side of volumes (os-volume_attachments)
    aggregates: AggregateService  # host aggregates (os-aggregates)
    image_cache: AggregateImageCache  # POST /os-aggregates/{id}/images (2.81)
    tenant_usage: TenantUsageService  # os-simple-tenant-usage
    consoles: ConsoleService  # os-remote-consoles and their tokens
    server_passwords: ServerPasswords  # os-server-password
    server_diagnostics: ServerDiagnostics  # GET /servers/{id}/diagnostics
    server_topology: ServerTopology  # GET /servers/{id}/topology (2.78)
    external_events: ExternalEvents  # os-server-external-events
    # ---- block storage
    volumes: VolumeServices
    # ---- the EC2 dialect's own
    tags: TagService
    # ---- this process's Prometheus instruments
    metrics: Metrics


def build_identity(settings: Settings, db: Database, policy: PolicyEnforcer,
                   prepare_keys: bool = True) -> IdentityService:
    """The identity services over ``db``; with ``prepare_keys``, their token and
    credential key repositories are made if missing (processes that issue or
    read no tokens, the conductor and the scheduler, leave them alone)."""
    hasher = PasswordHasher(settings.bcrypt_rounds)
    token_keys = KeyRepository(settings.effective_key_repository, settings.max_active_keys)
    credential_keys = KeyRepository(settings.effective_credential_key_repository,
                                    settings.max_active_keys)
    if prepare_keys:
        token_keys.initialize()
        credential_keys.initialize()
    resources = ResourceService(db, policy)
    assignments = AssignmentService(db, policy)
    # Keystone's method bitmask, plus the marker it gives tokens minted from
    # EC2 signatures; every node must use the same list.
    formatter = TokenFormatter(token_keys, auth_methods=(*DEFAULT_AUTH_METHODS, "ec2credential"))
    # Every identity write through db's sessions now moves the revision on.
    revisions = RevisionCounter(db)
    tokens = TokenService(db, policy, formatter, hasher, assignments, settings.token_expiration,
                          revisions, LruTokenCache(settings.token_cache_size))
    return IdentityService(
        settings=settings, hasher=hasher, token_keys=token_keys, credential_keys=credential_keys,
        resources=resources, assignments=assignments,
        role_assignments=RoleAssignmentLister(db, policy, assignments),
        catalog=CatalogService(db, policy), tokens=tokens,
        users=UserService(db, policy, hasher, resources, tokens.revoke_user),
        ec2=Ec2CredentialService(db, policy, SecretCipher(credential_keys), tokens,
                                 settings.ec2_auth_ttl),
        app_credentials=AppCredentialService(db, policy, hasher))


def build_images(settings: Settings, db: Database, policy: PolicyEnforcer) -> ImageService:
    """The image service with its data and sharing services, over the enabled stores."""
    stores = build_stores(settings)
    access = ImageAccess(policy)
    data = ImageData(db, policy, stores, settings.image_default_store, access.load,
                     settings.image_size_cap, settings.image_project_quota,
                     settings.import_ports)
    return ImageService(db, policy, access, data, MemberService(db, policy, access.load),
                        stores)


def build_core(settings: Settings, *, db: Database | None = None,
               bus: MessageBus | None = None, prepare_keys: bool = True) -> CoreServices:
    """Every core service for ``settings`` (a database and a bus of its own
    unless given; ``prepare_keys``: see :func:`build_identity`)."""
    metrics = Metrics()
    db = db or Database.from_settings(settings)
    bus = bus or Bus.from_settings(settings, metrics=metrics)
    policy = Enforcer(all_defaults(), settings.effective_policy_file)
    identity = build_identity(settings, db, policy, prepare_keys)
    images = build_images(settings, db, policy)
    quotas = QuotaService(db, settings)
    store = InstanceStore(db)
    records = InstanceRecords(store)
    # ---- network
    network = build_network(db, policy, quotas, records)
    ipam = network.instances
    security_groups = network.nova_security_groups
    # ---- compute
    flavors = FlavorService(db, policy, identity.resources.project_exists)
    keypairs = KeyPairService(db, policy, quotas)
    server_groups = ServerGroupService(db, policy, quotas)
    checks = BootChecks(settings, db, policy, images, flavors, keypairs)
    conductor = ConductorClient(bus)
    agents = AgentClient(bus)
    volumes = build_volume(db, policy, quotas, bus,
                           default_zone=getattr(settings, "storage_availability_zone",
                                                settings.default_availability_zone),
                           images=images)
    notifier = Notifier(bus, "api")
    servers = ServerService(settings, db, policy, store=store, checks=checks, flavors=flavors,
                            quotas=quotas, server_groups=server_groups, ipam=ipam,
                            security_groups=security_groups, conductor=conductor,
                            notifier=notifier, boot_volumes=BootVolumes(volumes))
    migrations = MigrationRecords(db, policy, store)
    actions = ServerActions(servers, db, policy, store=store, checks=checks, flavors=flavors,
                            quotas=quotas, images=images, conductor=conductor, agents=agents,
                            notifier=notifier, migrations=migrations)
    state_actions = StateActions(servers, settings, store=store, images=images, agents=agents,
                                 notifier=notifier)
    hosts = HostService(db, policy, settings)
    aggregates = AggregateService(db, policy)
    ids = Ec2Ids(db)
    vpc = build_vpc(db, policy, settings, network)
    return CoreServices(
        settings=settings, db=db, policy=policy, bus=bus, ids=ids, identity=identity,
        images=images, quotas=quotas, quota_sets=QuotaSetService(quotas, policy),
        network=network, ipam=ipam, floating_ips=network.elastic_ips,
        security_groups=security_groups, vpc=vpc, instances=store, flavors=flavors,
        keypairs=keypairs, server_groups=server_groups,
        hosts=hosts, servers=servers, server_actions=actions, state_actions=state_actions,
        move_actions=MoveActions(actions, hosts, migrations, settings), migrations=migrations,
        server_fixed_ips=ServerFixedIps(policy, store, ipam),
        server_security_groups=ServerSecurityGroups(db, policy, store, security_groups, ipam),
        server_interfaces=ServerInterfaces(policy, store, ipam), volumes=volumes,
        server_volumes=ServerVolumes(policy, store, conductor, volumes),
        aggregates=aggregates,
        image_cache=AggregateImageCache(policy, aggregates, images, agents),
        tenant_usage=TenantUsageService(db, policy),
        consoles=ConsoleService(db, servers, settings.console_token_ttl, policy),
        server_passwords=ServerPasswords(db, servers),
        server_diagnostics=ServerDiagnostics(servers, agents),
        server_topology=ServerTopology(servers, policy),
        external_events=ExternalEvents(policy, store, agents),
        tags=TagService(db, ids, servers, images, keypairs, shared=vpc.shared),
        metrics=metrics)
