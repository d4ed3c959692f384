"""The APIs this build serves. The gateway mounts each under its path; the
bootstrap lists each in the service catalog — only implemented ones, since
clients query every service the catalog names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiService:
    """A served API as the catalog lists it."""

    type: str
    name: str
    path: str  # appended to the public URL: the catalog's endpoint
    mount: str = ""  # where the gateway mounts the API, when that is not ``path``

    @property
    def mount_path(self) -> str:
        return self.mount or self.path


SERVED_APIS = (ApiService("identity", "keystone", "/identity"),
               ApiService("image", "glance", "/image"),
               # Nova's catalog entry names the version: clients discover from it
               # (GET /compute/v2.1) and call /compute/v2.1/...
               ApiService("compute", "nova", "/compute/v2.1", mount="/compute"),
               # Neutron's entry is unversioned: openstacksdk appends /v2.0 itself.
               ApiService("network", "neutron", "/networking"),
               # Cinder's entry names v3 (Nova requires it in the path); the API
               # is mounted at /volume, where GET / lists the versions.
               ApiService("block-storage", "cinder", "/volume/v3", mount="/volume"),
               # The EC2 Query API, typed "ec2" as devstack's ec2-api plugin registers it.
               ApiService("ec2", "ec2", "/ec2/", mount="/ec2"))
