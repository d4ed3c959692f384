"""The Amazon EC2 Query API (``/ec2/``), for unmodified boto3 and aws CLI.

- ``transport``: takes the raw request before connexion parses the body;
- ``protocol``: Query parameters typed by botocore's EC2 service model;
- ``auth``: SigV4 against Keystone EC2 credentials → RequestContext;
- ``api``: Action dispatch, DryRun, errors serialised once (``errors``);
- ``xml``: answers rendered from the model's output shapes;
- ``filters`` / ``paging``: ``Filter.N`` and ``MaxResults`` / ``NextToken``;
- ``handlers``: one module per resource kind, one method per Action.

Core services know nothing of any of this.
"""

from __future__ import annotations

import botocore.session
from botocore.model import ServiceModel

from core.services import CoreServices
from core.settings import Settings
from gateway.ec2.api import Ec2Api
from gateway.ec2.auth import Ec2Authenticator
from gateway.ec2.endpoint import Query
from gateway.ec2.errors import id_map_naming
from gateway.ec2.handlers import HANDLERS
from gateway.ec2.handlers.base import Ec2Deps
from gateway.ec2.transport import Ec2Transport

__all__ = ["Ec2Transport", "build_api", "build_handlers", "service_model"]
SERVICE_MODEL_VERSION = "2016-11-15"


def service_model() -> ServiceModel:
    """botocore's EC2 model: the wire contract for parameters and answers."""
    return botocore.session.get_session().get_service_model(
        "ec2", api_version=SERVICE_MODEL_VERSION)


def build_api(settings: Settings, services: CoreServices) -> Ec2Api:
    deps = Ec2Deps.from_core(services, f"{settings.effective_public_url}/ec2/")
    auth = Ec2Authenticator(services.identity.ec2, services.policy, settings.ec2_auth_ttl,
                            settings.region)
    return Ec2Api(service_model(), [cls(deps) for cls in HANDLERS], auth, services.policy,
                  id_map_naming(services.ids))


def build_handlers(settings: Settings, services: CoreServices) -> dict[str, object]:
    """The spec's operation handlers (openapi/ec2.yaml), by operationId prefix."""
    return {"query": Query(build_api(settings, services))}
