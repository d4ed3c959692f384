"""Block Storage microversions: ``OpenStack-API-Version: volume 3.X``.

No header means 3.0; ``latest`` means :data:`MAX_VERSION`. A malformed version
is a 400, one outside ``[MIN_VERSION, MAX_VERSION]`` a 406, both as Cinder
faults. Every response under ``/volume/v3`` echoes the version with ``Vary``,
errors included (Tempest asserts the echo equals the version it asked for).

Handlers compare the current version with a tuple::

    from gateway.openstack.volume import microversions

    if microversions.current() >= (3, 13):
        out["group_id"] = None
    microversions.require((3, 27))   # 404 below 3.27
"""

from __future__ import annotations

from gateway.openstack.microversion import APIVersion, InvalidVersion, Microversions
from gateway.openstack.volume.faults import cinder_fault_body

__all__ = ["APIVersion", "InvalidVersion", "MAX_VERSION", "MIN_VERSION", "VERSIONS",
           "current", "parse", "require"]

MIN_VERSION = APIVersion(3, 0)
MAX_VERSION = APIVersion(3, 71)

# Cinder's name; keystoneauth's service type is accepted too.
VERSIONS = Microversions(("volume", "block-storage"), MIN_VERSION, MAX_VERSION,
                         cinder_fault_body)
current = VERSIONS.current
parse = VERSIONS.parse
require = VERSIONS.require
