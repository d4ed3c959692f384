"""Compute resources as Nova's JSON shows them, per microversion.

Each view takes the version to render for (``microversions.current()`` in a
handler) so that the rules of every microversion stay in one place.
"""

from __future__ import annotations

from typing import Any

from core.compute.hosts import ServiceView
from core.compute.models import Flavor, KeyPair
from core.compute.server_groups import GroupView
from gateway.jsonutil import isotime
from gateway.openstack.compute.microversions import APIVersion

Links = list[dict[str, str]]


def _time(value: Any) -> str | None:
    """Nova's ``2013-09-23T13:37:00.000000`` (no zone suffix)."""
    text = isotime(value)
    return text[:-1] if text else None


# ---- flavors -------------------------------------------------------------

def flavor_brief(f: Flavor, links: Links, mv: APIVersion) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f.flavorid, "name": f.name, "links": links}
    if mv >= (2, 55):
        out["description"] = f.description
    return out


def flavor(f: Flavor, links: Links, mv: APIVersion,
           with_specs: bool = False) -> dict[str, Any]:
    """The full view; ``with_specs`` (2.61+, when the caller may list extra specs)
    adds ``extra_specs``."""
    out = {"id": f.flavorid, "name": f.name, "ram": f.memory_mb, "vcpus": f.vcpus,
           "disk": f.root_gb, "OS-FLV-EXT-DATA:ephemeral": f.ephemeral_gb,
           # "" for no swap until 2.75
           "swap": f.swap if f.swap or mv >= (2, 75) else "",
           "rxtx_factor": f.rxtx_factor, "os-flavor-access:is_public": f.is_public,
           "OS-FLV-DISABLED:disabled": f.disabled, "links": links}
    if mv >= (2, 55):
        out["description"] = f.description
    if with_specs and mv >= (2, 61):
        out["extra_specs"] = dict(f.extra_specs or {})
    return out


def flavor_access(flavor_id: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor_id, "tenant_id": p} for p in projects]}


# ---- key pairs -----------------------------------------------------------

def keypair(k: KeyPair, mv: APIVersion, *, full: bool = False, user: bool = False,
            private_key: str | None = None) -> dict[str, Any]:
    """A key pair as listed; ``user`` adds user_id (create), ``full`` the record
    fields (show)."""
    out: dict[str, Any] = {"name": k.name, "public_key": k.public_key,
                           "fingerprint": k.fingerprint}
    if mv >= (2, 2):
        out["type"] = k.type
    if user or full:
        out["user_id"] = k.user_id
    if full:
        out.update({"id": k.id, "created_at": _time(k.created_at), "updated_at": None,
                    "deleted": False, "deleted_at": None})
    if private_key is not None:
        out["private_key"] = private_key
    return out


# ---- quotas and limits ---------------------------------------------------

NETWORK_QUOTAS = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
FILE_QUOTAS = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
VOLUME_QUOTAS = ("volumes", "gigabytes", "snapshots")  # the Block Storage API's


def quotas_gone(mv: APIVersion) -> tuple[str, ...]:
    """Quota keys a version neither shows nor takes: the network ones from 2.36,
    the injected-file ones (personality is gone) from 2.57."""
    return ((NETWORK_QUOTAS if mv >= (2, 36) else ())
            + (FILE_QUOTAS if mv >= (2, 57) else ()) + VOLUME_QUOTAS)


def quota_set(values: dict[str, Any], mv: APIVersion,
              project_id: str | None = None) -> dict[str, Any]:
    gone = quotas_gone(mv)
    out = {k: v for k, v in values.items() if k not in gone}
    if project_id is not None:
        out["id"] = project_id
    return {"quota_set": out}


def absolute_limits(limits: dict[str, int], used: dict[str, int],
                    mv: APIVersion) -> dict[str, Any]:
    out = {"maxServerMeta": limits["metadata_items"],
           "maxTotalCores": limits["cores"], "maxTotalInstances": limits["instances"],
           "maxTotalRAMSize": limits["ram"], "maxTotalKeypairs": limits["key_pairs"],
           "maxServerGroups": limits["server_groups"],
           "maxServerGroupMembers": limits["server_group_members"],
           "totalCoresUsed": used["cores"], "totalInstancesUsed": used["instances"],
           "totalRAMUsed": used["ram"], "totalServerGroupsUsed": used["server_groups"]}
    if mv < (2, 39):  # the image-metadata proxy is gone from 2.39
        out["maxImageMeta"] = limits["metadata_items"]
    if mv < (2, 36):
        out.update({"maxSecurityGroups": limits["security_groups"],
                    "maxSecurityGroupRules": limits["security_group_rules"],
                    "maxTotalFloatingIps": limits["floating_ips"],
                    "totalSecurityGroupsUsed": 0, "totalFloatingIpsUsed": 0})
    if mv < (2, 57):
        out.update({"maxPersonality": limits["injected_files"],
                    "maxPersonalitySize": limits["injected_file_content_bytes"]})
    return {"limits": {"rate": [], "absolute": out}}


# ---- hosts ---------------------------------------------------------------

def service(v: ServiceView, mv: APIVersion) -> dict[str, Any]:
    s = v.service
    out: dict[str, Any] = {"id": s.uuid if mv >= (2, 53) else s.id, "binary": s.binary, "host": s.host, "zone": v.zone,
                           "status": "disabled" if s.disabled else "enabled",
                           "state": "up" if v.up else "down",
                           "updated_at": _time(s.last_seen_up or s.updated_at),
                           "disabled_reason": s.disabled_reason}
    if mv >= (2, 11):
        out["forced_down"] = s.forced_down
    return out


def zone(z: Any, detail: bool) -> dict[str, Any]:
    hosts = None
    if detail:
        hosts = {host: {binary: {"available": v.up, "active": not v.service.disabled,
                                 "updated_at": _time(v.service.last_seen_up
                                                     or v.service.updated_at)}
                        for binary, v in services.items()}
                 for host, services in sorted(z.hosts.items())}
    return {"zoneName": z.name, "zoneState": {"available": z.available}, "hosts": hosts}


# ---- server groups -------------------------------------------------------

def server_group(v: GroupView, mv: APIVersion) -> dict[str, Any]:
    g = v.group
    out: dict[str, Any] = {"id": g.uuid, "name": g.name}
    if mv >= (2, 64):
        out.update({"policy": g.policy, "rules": dict(g.rules or {})})
    else:
        out.update({"policies": [g.policy], "metadata": {}})
    out["members"] = list(v.members)
    if mv >= (2, 13):
        out.update({"project_id": g.project_id, "user_id": g.user_id})
    return out
