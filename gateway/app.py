"""The application factory: settings in, ASGI app out."""

from __future__ import annotations

from pathlib import Path

import connexion
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from starlette.exceptions import HTTPException

from core import errors
from core.apis import SERVED_APIS
from core.services import CoreServices, build_core
from core.settings import Settings
from gateway.asgi import PathRoutes
from gateway.ec2 import Ec2Transport
from gateway.ec2 import build_handlers as build_ec2_handlers
from gateway.health import Health, HealthcheckEndpoint
from gateway.json_body import request_validators
from gateway.jsonutil import jsonifier
from gateway.metrics import ApiMetrics, MetricsEndpoint
from gateway.middleware import EdgeMiddleware
from gateway.openstack.allowed_methods import AllowedMethods
from gateway.openstack.auth import Authenticator
from gateway.openstack.compute import ComputeDeps
from gateway.openstack.compute import build_handlers as build_compute_handlers
from gateway.openstack.compute import microversions as compute_versions
from gateway.openstack.faults import FaultRenderer
from gateway.openstack.identity import IdentityDeps, build_handlers
from gateway.openstack.identity.views import IdentityViews
from gateway.openstack.image.handlers import ImageDeps
from gateway.openstack.image.handlers import build_handlers as build_image_handlers
from gateway.openstack.network import NetworkDeps
from gateway.openstack.network import build_handlers as build_network_handlers
from gateway.openstack.network.json_suffix import JsonSuffix
from gateway.openstack.resolver import HandlerResolver
from gateway.openstack.volume import VolumeDeps
from gateway.openstack.volume import build_handlers as build_volume_handlers
from gateway.openstack.volume import microversions as volume_versions
from gateway.openstack.volume.project_urls import ProjectIdPaths

SPECS = Path(__file__).resolve().parent.parent / "openapi"


def create_app(settings: Settings, services: CoreServices | None = None):
    """The ASGI application serving every API under its path prefix, over
    ``services`` (``core.services.build_core(settings)`` unless given)."""
    services = services or build_core(settings)
    public = settings.effective_public_url
    app = connexion.AsyncApp(__name__, specification_dir=str(SPECS), jsonifier=jsonifier(),
                             swagger_ui_options=None)
    auth = Authenticator(services.identity.tokens, services.policy)
    deps = IdentityDeps(settings, services.identity, auth, IdentityViews(f"{public}/identity/v3"))
    image_deps = ImageDeps(settings, services.images, auth, f"{public}/image")
    compute_deps = ComputeDeps.from_core(services, auth, f"{public}/compute")
    network_deps = NetworkDeps.from_core(services, auth, f"{public}/networking")
    volume_deps = VolumeDeps.from_core(services, auth, f"{public}/volume")
    apis = (("identity-v3.yaml", "/identity", build_handlers(deps)),
            ("image-v2.yaml", "/image", build_image_handlers(image_deps)),
            ("compute-v2.1.yaml", "/compute", build_compute_handlers(compute_deps)),
            ("network-v2.0.yaml", "/networking", build_network_handlers(network_deps)),
            ("volume-v3.yaml", "/volume", build_volume_handlers(volume_deps)))
    # ---- EC2 Query API (gateway/ec2): SigV4, its own XML answers and errors
    ec2_api = ("ec2.yaml", "/ec2", build_ec2_handlers(settings, services))
    app.add_middleware(Ec2Transport, position=MiddlewarePosition.BEFORE_ROUTING, prefix="/ec2")
    allowed = AllowedMethods()
    for spec, base_path, handlers in (*apis, ec2_api):
        app.add_api(spec, base_path=base_path, resolver=HandlerResolver(handlers),
                    validate_responses=settings.validate_responses,
                    strict_validation=False, swagger_ui_options=_no_swagger(),
                    validator_map=request_validators())
        allowed.add_spec(SPECS / spec, base_path)
    faults = FaultRenderer(public, allowed)
    app.add_error_handler(errors.CoreError, faults.core_error)
    app.add_error_handler(ProblemException, faults.problem)
    app.add_error_handler(HTTPException, faults.http_error)
    app.add_error_handler(UnicodeDecodeError, faults.bad_encoding)
    app.add_error_handler(Exception, faults.unexpected)
    versioned = compute_versions.VERSIONS.middleware(app, ["/compute/v2.1"])
    # Block Storage: /volume/v3/{project_id}/... routed as /volume/v3/..., and
    # its own microversions (OpenStack-API-Version: volume 3.X)
    volume_versioned = volume_versions.VERSIONS.middleware(
        ProjectIdPaths(versioned, "/volume/v3"), ["/volume/v3"])
    # The operator's endpoints: no authentication, no spec.
    health = Health(settings.healthcheck_disable_file, settings.drain_delay)
    metrics = ApiMetrics()
    operator = PathRoutes(JsonSuffix(volume_versioned, "/networking"), {
        "/healthcheck": HealthcheckEndpoint(health),
        "/metrics": MetricsEndpoint(services.metrics.registry, metrics.registry)})
    edge = EdgeMiddleware(operator, tuple(s.mount_path for s in SERVED_APIS), metrics,
                          empty_id_paths=frozenset({"/image/v2/images/"}))
    edge.services = services  # type: ignore[attr-defined]  # for tests and tools
    edge.health = health  # type: ignore[attr-defined]  # the worker drains it (gateway/worker.py)
    return edge


def _no_swagger():
    from connexion.options import SwaggerUIOptions

    return SwaggerUIOptions(swagger_ui=False, serve_spec=False)
