"""The application factory: settings in, ASGI app out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import connexion
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from starlette.exceptions import HTTPException

from core import errors
from core.apis import SERVED_APIS
from core.compute.flavors import FlavorService, project_checker
from core.compute.hosts import HostService
from core.compute.keypairs import KeyPairService
from core.compute.quotas import QuotaService, QuotaSetService
from core.compute.server_actions import ServerActions
from core.compute.server_groups import ServerGroupService
from core.compute.servers import ServerService
from core.db import Database
from core.identity.service import IdentityService
from core.image.service import ImageService
from core.image.stores import build_stores
from core.messaging import Bus
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.settings import Settings
from gateway.ec2 import Ec2Transport
from gateway.ec2 import build_handlers as build_ec2_handlers
from gateway.jsonutil import jsonifier
from gateway.middleware import EdgeMiddleware
from gateway.openstack.allowed_methods import AllowedMethods
from gateway.openstack.auth import Authenticator
from gateway.openstack.compute import ComputeDeps
from gateway.openstack.compute import build_handlers as build_compute_handlers
from gateway.openstack.compute.microversions import MicroversionMiddleware
from gateway.openstack.faults import FaultRenderer
from gateway.openstack.identity import IdentityDeps, build_handlers
from gateway.openstack.identity.views import IdentityViews
from gateway.openstack.image.handlers import ImageDeps
from gateway.openstack.image.handlers import build_handlers as build_image_handlers
from gateway.openstack.resolver import HandlerResolver

SPECS = Path(__file__).resolve().parent.parent / "openapi"


@dataclass
class Services:
    """Everything built once per process and shared by the handlers."""

    settings: Settings
    db: Database
    policy: Enforcer
    identity: IdentityService
    images: ImageService
    # ---- compute
    quotas: QuotaService
    flavors: FlavorService
    keypairs: KeyPairService
    server_groups: ServerGroupService
    hosts: HostService
    bus: Bus
    servers: ServerService
    server_actions: ServerActions


def build_services(settings: Settings) -> Services:
    db = Database(settings.effective_database_url)
    policy = Enforcer(all_defaults(), settings.effective_policy_file)
    images = ImageService(db, policy, build_stores(settings), settings.image_default_store,
                          settings.image_size_cap, settings.image_project_quota,
                          settings.import_ports)
    quotas = QuotaService(db, settings)
    flavors = FlavorService(db, policy, project_checker(db))
    keypairs = KeyPairService(db, policy, quotas)
    groups = ServerGroupService(db, policy, quotas)
    bus = Bus(settings.transport_url)
    servers = ServerService(settings, db, policy, bus, images, flavors, keypairs, quotas, groups)
    return Services(settings, db, policy, IdentityService(settings, db, policy), images,
                    quotas=quotas, flavors=flavors, keypairs=keypairs, server_groups=groups,
                    hosts=HostService(db, policy, settings), bus=bus, servers=servers,
                    server_actions=ServerActions(servers))


def create_app(settings: Settings, services: Services | None = None):
    """The ASGI application serving every API under its path prefix."""
    services = services or build_services(settings)
    public = settings.effective_public_url
    app = connexion.AsyncApp(__name__, specification_dir=str(SPECS), jsonifier=jsonifier(),
                             swagger_ui_options=None)
    auth = Authenticator(services.identity.tokens, services.policy)
    deps = IdentityDeps(settings, services.identity, auth, IdentityViews(f"{public}/identity/v3"))
    image_deps = ImageDeps(settings, services.images, auth, f"{public}/image")
    compute_deps = ComputeDeps(settings, auth, f"{public}/compute", services.flavors,
                               services.keypairs, services.quotas,
                               QuotaSetService(services.quotas, services.policy),
                               services.server_groups, services.hosts, services.servers,
                               services.server_actions)
    apis = (("identity-v3.yaml", "/identity", build_handlers(deps)),
            ("image-v2.yaml", "/image", build_image_handlers(image_deps)),
            ("compute-v2.1.yaml", "/compute", build_compute_handlers(compute_deps)))
    # ---- EC2 Query API (gateway/ec2): SigV4, its own XML answers and errors
    ec2_api = ("ec2.yaml", "/ec2", build_ec2_handlers(settings, services))
    app.add_middleware(Ec2Transport, position=MiddlewarePosition.BEFORE_ROUTING, prefix="/ec2")
    allowed = AllowedMethods()
    for spec, base_path, handlers in (*apis, ec2_api):
        app.add_api(spec, base_path=base_path, resolver=HandlerResolver(handlers),
                    validate_responses=settings.validate_responses,
                    strict_validation=False, swagger_ui_options=_no_swagger())
        allowed.add_spec(SPECS / spec, base_path)
    faults = FaultRenderer(public, allowed)
    app.add_error_handler(errors.CoreError, faults.core_error)
    app.add_error_handler(ProblemException, faults.problem)
    app.add_error_handler(HTTPException, faults.http_error)
    app.add_error_handler(UnicodeDecodeError, faults.bad_encoding)
    app.add_error_handler(Exception, faults.unexpected)
    versioned = MicroversionMiddleware(app, ["/compute/v2.1"])
    edge = EdgeMiddleware(versioned, tuple(s.mount_path for s in SERVED_APIS))
    edge.services = services  # type: ignore[attr-defined]  # for tests and tools
    return edge


def _no_swagger():
    from connexion.options import SwaggerUIOptions

    return SwaggerUIOptions(swagger_ui=False, serve_spec=False)
