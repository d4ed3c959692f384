"""Compute API microversions: one place that parses, checks and echoes them.

Clients ask for a version with ``OpenStack-API-Version: compute 2.19`` or the
legacy ``X-OpenStack-Nova-API-Version: 2.19`` (keystoneauth sends both; the
new header wins). No header means 2.1; ``latest`` means :data:`MAX_VERSION`.
A malformed version is a 400, one outside ``[MIN_VERSION, MAX_VERSION]`` a 406
with Nova's message, both as Nova fault bodies.

:data:`VERSIONS` (gateway/openstack/microversion.py) wraps the application. For every request
under the versioned prefix (``/compute/v2.1``) it parses the headers, makes the
version the request's current one, and adds ``OpenStack-API-Version``,
``X-OpenStack-Nova-API-Version`` and ``Vary`` to the response, errors
included.

Handlers (flavors, key pairs, servers, ...) ask for the current request's
version and compare it with a tuple::

    from gateway.openstack.compute import microversions

    mv = microversions.current()          # an APIVersion, e.g. APIVersion(2, 19)
    if mv >= (2, 19):
        out["description"] = server.description

    microversions.require((2, 11))        # 404 below 2.11, as Nova answers for
                                          # a method the version does not have

:func:`current` works in async handlers and in sync handlers connexion runs in
its thread pool (the value lives in a context variable, which both inherit).
Outside a request it returns :data:`MIN_VERSION`.
"""

from __future__ import annotations

from gateway.openstack.faults import nova_fault_body
from gateway.openstack.microversion import APIVersion, InvalidVersion, Microversions

__all__ = ["APIVersion", "InvalidVersion", "MAX_VERSION", "MIN_VERSION", "VERSIONS",
           "current", "parse", "require", "require_proxy"]

MIN_VERSION = APIVersion(2, 1)
# The newest microversion whose behaviour every compute handler follows. Raise
# it only when every change up to the new value is implemented.
MAX_VERSION = APIVersion(2, 100)

VERSIONS = Microversions(("compute",), MIN_VERSION, MAX_VERSION, nova_fault_body,
                         legacy_header="X-OpenStack-Nova-API-Version")
current = VERSIONS.current
parse = VERSIONS.parse
require = VERSIONS.require


# The proxies to other services (networks, floating IPs, security groups, images,
# volumes ...) Nova deprecated at 2.36: a 404 from then on.
PROXY_API_END = APIVersion(2, 35)


def require_proxy() -> None:
    """NotFound (404) from 2.36 for an API that proxies another service."""
    require(MIN_VERSION, PROXY_API_END)
