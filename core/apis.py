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
    path: str  # appended to the public URL


SERVED_APIS = (ApiService("identity", "keystone", "/identity"),
               ApiService("image", "glance", "/image"))
