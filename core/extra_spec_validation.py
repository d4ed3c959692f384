"""Which flavor extra specs are valid: Nova's checks from compute microversion
2.86 (``nova/api/validation/extra_specs``), for the namespaces this controller
knows.

A key in a namespace of :data:`NAMESPACES` must be one that namespace defines,
with a value of the right kind; a key in no namespace, or in one not listed
here, is anybody's business and passes (Nova lets them through too). The rules:

================================  =========================================================
key                               value
================================  =========================================================
``hw:cpu_policy``                 dedicated, shared, mixed
``hw:cpu_thread_policy``          prefer, isolate, require
``hw:emulator_threads_policy``    share, isolate
``hw:cpu_sockets|cores|threads``  integer >= 1 (also the ``hw:cpu_max_*`` ones)
``hw:numa_nodes``                 integer >= 1
``hw:numa_cpus.N``                a CPU set (``0-3,^2,6``)
``hw:numa_mem.N``                 integer >= 0 (MiB)
``hw:mem_page_size``              small, large, any, or a size (``2048``, ``2MB``, ``1GiB``)
``hw:serial_port_count``          integer >= 0
``hw:watchdog_action``            disabled, pause, poweroff, reset, none
``hw:tpm_version`` / ``_model``   1.2, 2.0 / tpm-tis, tpm-crb
``hw:pci_numa_affinity_policy``   required, legacy, preferred, socket
``hw:`` booleans                  cpu_realtime, hide_hypervisor_id, boot_menu, pmu,
                                  vif_multiqueue_enabled, mem_encryption, locked_memory,
                                  virtio_packed_ring, ephemeral_encryption
``hw:`` others                    cpu_realtime_mask, cpu_dedicated_mask (text),
                                  maxphysaddr_mode (emulate, passthrough),
                                  maxphysaddr_bits (>= 1), viommu_model,
                                  ephemeral_encryption_format (luks, plain)
``hw_rng:allowed``                boolean
``hw_rng:rate_bytes|rate_period`` integer >= 0
``hw_video:ram_max_mb``           integer >= 0
``quota:cpu_*``                   shares, period, quota, limit, reservation: integers;
                                  cpu_shares_level: custom, high, low, normal
``quota:memory_*`` / ``disk_io_*`` limit, reservation, shares: integers; shares_level
``quota:disk_*``                  {read,write,total}_{bytes,iops}_sec[_max], size_iops_sec:
                                  integer >= 0
``quota:vif_*``                   {inbound,outbound}_{average,peak,burst}: integer >= 0
``resources[GROUP]:CLASS``        integer >= 0 (CLASS in ``[A-Z0-9_]+``)
``trait[GROUP]:TRAIT``            required, forbidden
``os:secure_boot``                required, disabled, optional
``os:monitors``                   integer 1-8; ``os:resolution``, ``os:vram`` text
``accel:device_profile``          text
``pci_passthrough:alias``         ``name:count[,name:count...]``
``aggregate_instance_extra_specs:*``  any key, any value (matched against aggregates)
``capabilities:*``                any key, any value (hosts here carry custom
                                  capabilities, e.g. ``ssd``, that the filter matches)
``group_policy`` (no namespace)   none, isolate
================================  =========================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from core import errors

_TRUE_FALSE = frozenset({"1", "0", "t", "f", "true", "false", "on", "off", "y", "n",
                         "yes", "no"})
_GROUP = r"(_[a-zA-Z0-9_-]{1,64}|[0-9]+)?"
NAMESPACES = frozenset({"hw", "hw_rng", "hw_video", "quota", "resources", "trait", "os",
                        "accel", "pci_passthrough", "aggregate_instance_extra_specs",
                        "capabilities"})


@dataclass(frozen=True)
class Rule:
    """What a value must be: ``kind`` is int, bool, enum, pattern or any."""

    kind: str
    minimum: int | None = None
    maximum: int | None = None
    options: tuple[str, ...] = ()
    pattern: str = ""


ANY = Rule("any")
BOOL = Rule("bool")


def _int(minimum: int | None = None, maximum: int | None = None) -> Rule:
    return Rule("int", minimum, maximum)


def _enum(*options: str) -> Rule:
    return Rule("enum", options=options)


def _pattern(pattern: str) -> Rule:
    return Rule("pattern", pattern=pattern)


_HW: dict[str, Rule] = {
    "cpu_policy": _enum("dedicated", "shared", "mixed"),
    "cpu_thread_policy": _enum("prefer", "isolate", "require"),
    "emulator_threads_policy": _enum("share", "isolate"),
    "cpu_realtime_mask": ANY, "cpu_dedicated_mask": ANY,
    "numa_nodes": _int(1),
    "mem_page_size": _pattern(r"(large|small|any|[0-9]+([kKMGT]i?)?(b|bit|B)?)"),
    "serial_port_count": _int(0),
    "watchdog_action": _enum("disabled", "pause", "poweroff", "reset", "none"),
    "tpm_version": _enum("1.2", "2.0"), "tpm_model": _enum("tpm-tis", "tpm-crb"),
    "pci_numa_affinity_policy": _enum("required", "legacy", "preferred", "socket"),
    "maxphysaddr_mode": _enum("emulate", "passthrough"), "maxphysaddr_bits": _int(1),
    "viommu_model": _enum("intel", "smmuv3", "virtio", "auto"),
    "ephemeral_encryption_format": _enum("luks", "plain"),
    **{f"cpu_{part}": _int(1) for part in ("sockets", "cores", "threads", "max_sockets",
                                           "max_cores", "max_threads")},
    **dict.fromkeys(("cpu_realtime", "hide_hypervisor_id", "boot_menu", "pmu",
                     "vif_multiqueue_enabled", "mem_encryption", "locked_memory",
                     "virtio_packed_ring", "ephemeral_encryption"), BOOL),
}
_SHARES = ("limit", "reservation", "shares")
_QUOTA: dict[str, Rule] = {
    "cpu_period": _int(0), "cpu_quota": _int(), "cpu_shares": _int(0),
    "cpu_limit": _int(0), "cpu_reservation": _int(0),
    **{f"{what}_{part}": _int(0) for what in ("memory", "disk_io") for part in _SHARES},
    **{f"{what}_shares_level": _enum("custom", "high", "low", "normal")
       for what in ("cpu", "memory", "disk_io")},
    **{f"disk_{op}_{unit}_sec{suffix}": _int(0) for op in ("read", "write", "total")
       for unit in ("bytes", "iops") for suffix in ("", "_max")},
    "disk_size_iops_sec": _int(0),
    **{f"vif_{way}_{what}": _int(0) for way in ("inbound", "outbound")
       for what in ("average", "peak", "burst")},
}
_EXACT: dict[str, Rule] = {
    **{f"hw:{k}": v for k, v in _HW.items()},
    **{f"quota:{k}": v for k, v in _QUOTA.items()},
    "hw_rng:allowed": BOOL, "hw_rng:rate_bytes": _int(0), "hw_rng:rate_period": _int(0),
    "hw_video:ram_max_mb": _int(0),
    "os:secure_boot": _enum("required", "disabled", "optional"),
    "os:monitors": _int(1, 8), "os:resolution": ANY, "os:vram": ANY,
    "accel:device_profile": ANY,
    "pci_passthrough:alias": _pattern(r"[^:,]+:[0-9]+(,[^:,]+:[0-9]+)*"),
    "group_policy": _enum("none", "isolate"),
}
_PATTERNS: tuple[tuple[re.Pattern[str], Rule], ...] = (
    (re.compile(r"hw:numa_cpus\.[0-9]+"), _pattern(r"\^?[0-9]+(-[0-9]+)?(,\^?[0-9]+(-[0-9]+)?)*")),
    (re.compile(r"hw:numa_mem\.[0-9]+"), _int(0)),
    (re.compile(rf"resources{_GROUP}:[A-Z0-9_]+"), _int(0)),
    (re.compile(rf"trait{_GROUP}:[A-Za-z0-9_]+"), _enum("required", "forbidden")),
    (re.compile(r"aggregate_instance_extra_specs:.+"), ANY),
    (re.compile(r"capabilities:.+"), ANY),
)
_NAMESPACE = re.compile(rf"^(resources|trait){_GROUP}:|^([^:]+):")


def namespace_of(key: str) -> str | None:
    """``hw`` of ``hw:cpu_policy``, ``resources`` of ``resources_g1:VCPU``, None
    for a key without one."""
    m = _NAMESPACE.match(key)
    if m is None:
        return None
    return m.group(1) or m.group(3)


def rule_for(key: str) -> Rule | None:
    """The rule of a known key; None for one no rule covers."""
    if key in _EXACT:
        return _EXACT[key]
    for pattern, rule in _PATTERNS:
        if pattern.fullmatch(key):
            return rule
    return None


def _fail(message: str, key: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Validation failed; {message}", param=key)


def _check_int(key: str, value: str, rule: Rule) -> None:
    try:
        number = int(value.strip())
    except ValueError:
        raise _fail(f"'{value}' is not a valid integer value.", key) from None
    if rule.minimum is not None and number < rule.minimum:
        raise _fail(f"'{key}' value must be greater than or equal to {rule.minimum}.", key)
    if rule.maximum is not None and number > rule.maximum:
        raise _fail(f"'{key}' value must be less than or equal to {rule.maximum}.", key)


def validate(key: str, value: object) -> None:
    """InvalidInput (Nova's 400) unless ``key`` = ``value`` is a valid extra spec."""
    rule = rule_for(key)
    if rule is None:
        if namespace_of(key) in NAMESPACES:
            raise _fail(f"extra spec '{key}' does not appear to be a valid extra spec.", key)
        return
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if rule.kind == "int":
        _check_int(key, text, rule)
    elif rule.kind == "bool" and text.strip().lower() not in _TRUE_FALSE:
        raise _fail(f"'{value}' is not a valid boolean-like value.", key)
    elif rule.kind == "enum" and text not in rule.options:
        raise _fail(f"'{key}' value must be one of {list(rule.options)}; got '{value}'.",
                    key)
    elif rule.kind == "pattern" and not re.fullmatch(rule.pattern, text):
        raise _fail(f"'{value}' does not match the pattern of '{key}' ({rule.pattern}).",
                    key)


def validate_all(specs: Mapping[str, object]) -> None:
    for key, value in specs.items():
        validate(key, value)
