"""The query of ``GET /servers`` and ``/servers/detail`` as Nova reads it at each
microversion: its filters (which a non-admin may use, 2.83 adding many), sort
keys, paging, and from 2.75 a 400 for any parameter Nova's schema does not know.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from core import errors
from core.clock import parse_timestamp
from core.compute import states
from core.compute.server_listing import ADMIN_SORT_KEYS, SORT_KEYS, ServerQuery
from core.numbers import INT64_MIN, BadInteger, parse_int
from gateway.openstack.compute.base import parse_bool
from gateway.openstack.compute.microversions import APIVersion

# Nova's query_params_v275 (nova/api/openstack/compute/schemas/servers.py): every
# parameter the list takes; from 2.75 any other one is a 400.
KNOWN_PARAMS = frozenset((
    "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image",
    "kernel_id", "ramdisk_id", "hostname", "key_name", "power_state", "vm_state",
    "task_state", "host", "node", "flavor", "reservation_id", "launched_at",
    "terminated_at", "availability_zone", "name", "display_name", "description",
    "display_description", "locked_by", "uuid", "root_device_name", "config_drive",
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "progress", "sort_key",
    "sort_dir", "all_tenants", "soft_deleted", "deleted", "status", "changes-since",
    "ip", "ip6", "created_at", "block_device_mapping", "services", "metadata",
    "system_metadata", "info_cache", "security_groups", "pci_devices", "limit",
    "marker", "tags", "tags-any", "not-tags", "not-tags-any", "changes-before", "locked",
))
# Sort keys Nova's schema lists but ignores (SERVER_LIST_IGNORE_SORT_KEY): dropped
# before 2.75, a 400 from 2.75 ("locked" is a real key from 2.73).
IGNORED_SORT_KEYS = frozenset((
    "architecture", "cell_name", "cleaned", "default_ephemeral_device",
    "default_swap_device", "deleted", "deleted_at", "disable_terminate", "ephemeral_gb",
    "ephemeral_key_uuid", "id", "key_data", "launched_on", "locked", "memory_mb", "os_type",
    "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus", "vm_mode",
))
# Valid Nova sort keys with no column here: accepted and ignored.
NO_COLUMN_SORT_KEYS = frozenset(("auto_disk_config", "kernel_id", "ramdisk_id",
                                 "root_device_name"))
# Filters a non-admin may use from 2.83 (before, Nova dropped them).
FILTERS_2_83 = ("availability_zone", "config_drive", "key_name", "created_at",
                "launched_at", "terminated_at", "power_state", "task_state", "vm_state",
                "progress", "user_id")
# Filters matched as regular expressions on the column's text (Nova's
# _regex_instance_filter), keyed by the query parameter.
REGEX_FILTERS = {"key_name": "key_name", "config_drive": "config_drive",
                 "created_at": "created_at", "launched_at": "launched_at",
                 "terminated_at": "terminated_at", "power_state": "power_state",
                 "progress": "progress"}


def _time(name: str, text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except ValueError:
        raise errors.InvalidInput(f"Invalid filter field: {name}.") from None


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "t", "yes", "y", "on")


def regex(name: str, text: str) -> None:
    """A filter the database matches as a regular expression must compile: SQLite
    runs Python's ``re``, and a broken pattern there is an error mid-query."""
    try:
        re.compile(text)
    except re.error:
        raise errors.InvalidInput(f"Invalid input for query parameters {name}. Value: "
                                  f"{text}. '{text}' is not a 'regex'") from None


def _check_known(p: Any) -> None:
    for key in p:
        if key not in KNOWN_PARAMS:
            raise errors.InvalidInput(f"Invalid input for query parameters {key}. Value: "
                                      f"{p[key]}. Additional properties are not allowed "
                                      f"('{key}' was unexpected)", param=key)


def _sort(p: Any, mv: APIVersion, admin: bool) -> list[tuple[str, str]]:
    keys, dirs = p.getlist("sort_key"), p.getlist("sort_dir")
    for direction in dirs:  # a sort_dir without a sort_key applies to created_at
        if direction not in ("asc", "desc"):
            raise errors.InvalidInput(f"Invalid sort direction: {direction}")
    if not keys and not dirs:
        return []
    sort = []
    for i, key in enumerate(keys or ["created_at"]):
        direction = dirs[i] if i < len(dirs) else (dirs[0] if dirs else "desc")
        ignored = key in IGNORED_SORT_KEYS and not (key == "locked" and mv >= (2, 73))
        if ignored and mv >= (2, 75) or key not in SORT_KEYS and not ignored \
                and key not in NO_COLUMN_SORT_KEYS:
            raise errors.InvalidInput(f"Invalid sort key: {key}")
        if key in ADMIN_SORT_KEYS and not admin:
            raise errors.Forbidden(f"Only administrators can sort servers by {key}")
        if ignored or key in NO_COLUMN_SORT_KEYS:
            continue
        sort.append((key, direction))
    return sort


def _filters(q: ServerQuery, p: Any, mv: APIVersion, all_filters: bool) -> None:
    for key in ("name", "status", "image", "flavor", "ip", "reservation_id"):
        if p.get(key):
            setattr(q, key, p[key])
    for key in ("name", "ip"):  # regular expressions (Nova's schema: format regex)
        if p.get(key):
            regex(key, p[key])
    if q.status and mv >= (2, 38) and states.states_for_status(q.status) is None:
        raise errors.InvalidInput("Invalid status value")
    # Nova drops the filters a caller may not use rather than refusing them.
    if all_filters:
        q.host = p.get("host") or None
        if p.get("ip6") and mv >= (2, 5):
            regex("ip6", p["ip6"])
            q.ip6 = p["ip6"]
        if "deleted" in p:
            q.deleted = _bool(p["deleted"])
    if all_filters or mv >= (2, 83):
        q.availability_zone = p.get("availability_zone") or None
        q.user_id = p.get("user_id") or None
        q.vm_states = [v for v in p.getlist("vm_state") if v]
        q.task_states = [v for v in p.getlist("task_state") if v]
        for key, column in REGEX_FILTERS.items():
            if p.get(key):
                regex(key, p[key])
                q.matches[column] = p[key]
    if p.get("changes-since"):
        q.changes_since = _time("changes-since", p["changes-since"])
    if mv >= (2, 66) and p.get("changes-before"):
        q.changes_before = _time("changes-before", p["changes-before"])
        if q.changes_since is not None and q.changes_since > q.changes_before:
            raise errors.InvalidInput("The value of changes-since must be less than or "
                                      "equal to changes-before.")
    if mv >= (2, 73) and "locked" in p:
        q.locked = parse_bool(p["locked"], "locked")
    if mv >= (2, 26):
        for key, attr in (("tags", "tags"), ("tags-any", "tags_any"),
                          ("not-tags", "not_tags"), ("not-tags-any", "not_tags_any")):
            if p.get(key):
                setattr(q, attr, [t for t in p[key].split(",") if t])


def server_query(p: Any, mv: APIVersion, *, project_id: str | None, admin: bool,
                 all_tenants: bool, all_filters: bool, max_limit: int) -> ServerQuery:
    """The list query of parameters ``p`` (a multi-dict). ``all_tenants``: the
    caller asked for every project and policy allowed it; ``all_filters``: policy
    lets the caller filter by any field."""
    if mv >= (2, 75):
        _check_known(p)
    q = ServerQuery(project_id=project_id)
    if all_tenants:
        q.project_id = p.get("project_id") or p.get("tenant_id") or None
    elif admin and (p.get("project_id") or p.get("tenant_id")):
        q.project_id = p.get("project_id") or p.get("tenant_id")
    _filters(q, p, mv, all_filters)
    q.sort = _sort(p, mv, admin)
    if "limit" in p:
        try:
            limit = parse_int(p["limit"], INT64_MIN, max_limit, cap=True)
        except BadInteger:
            raise errors.InvalidInput("limit param must be an integer") from None
        if limit < 0:
            raise errors.InvalidInput("limit param must be positive")
        q.limit = limit
    else:
        q.limit = max_limit
    q.marker = p.get("marker") or None
    return q
