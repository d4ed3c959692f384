"""What a boot request asks for (:class:`BootRequest`, the values the edges parse
a create body or a RunInstances call into), the errors of an idempotent replay,
and the names a new server gets."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from core import errors
from core.compute.boot_volumes import BlockDevice
from core.compute.models import Instance


@dataclass
class BootRequest:
    """What a create request asks for, as plain values (the edge parses the body)."""

    name: str
    image_ref: str | None
    flavor_ref: str  # its id (or a link to it); its name with flavor_by_name
    key_name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    user_data: str | None = None
    availability_zone: str | None = None
    min_count: int = 1
    max_count: int = 1
    description: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    security_groups: list[str] = field(default_factory=lambda: ["default"])
    # Nova's ``networks``: a list of {uuid, fixed_ip} / {port}, "auto", "none", or
    # None (Nova's choice); EC2 asks for "default" (its default subnet).
    networks: Any = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    config_drive: bool = False
    # The server's hostname as asked for (Nova 2.90+, already checked by the edge);
    # None: made from its name (hostname_for).
    hostname: str | None = None
    # Nova 2.63: the ids of the certificates the image's signing certificate must
    # chain to; kept in the instance's system_metadata["trusted_image_certificates"].
    trusted_certs: list[str] | None = None
    # Nova 2.74: the host and/or node (hypervisor_hostname) asked for; the
    # scheduler still runs its filters on it (unlike availability_zone's forced host).
    requested_host: str | None = None
    requested_node: str | None = None
    # EC2 RunInstances: its idempotency token and a digest of the request, so a
    # retry returns the first reservation; ``ec2_names``: every instance gets
    # ``name`` as it is (no "-N"), or its EC2 instance ID when there is none.
    client_token: str | None = None
    request_hash: str | None = None
    ec2_names: bool = False
    flavor_by_name: bool = False  # EC2 names instance types
    block_devices: list[BlockDevice] = field(default_factory=list)  # boot_volumes.parse


class IdempotentMismatch(errors.Conflict):
    """A client token used again with a different request."""

    default_message = ("Arguments on this idempotent request are inconsistent with "
                       "arguments used in previous request(s).")


class IdempotentTerminated(errors.Conflict):
    """A client token whose instances are all deleted (AWS answers so since 2025)."""

    default_message = ("The client token you have provided is associated with a "
                       "terminated instance. Please use a different client token.")


def target_of(inst: Instance) -> dict[str, str]:
    return {"project_id": inst.project_id, "user_id": inst.user_id}


def hostname_for(name: str) -> str:
    """Nova's sanitised hostname: lower case, letters/digits/hyphens, ≤ 63 chars."""
    text = re.sub(r"[^\w.-]+", "-", name.lower().replace("_", "-"))
    text = re.sub(r"[.-]+$", "", re.sub(r"^[.-]+", "", text))
    return text[:63] or "server"


def new_reservation_id() -> str:
    return "r-" + "".join(secrets.choice(string.ascii_lowercase + string.digits)
                          for _ in range(8))
