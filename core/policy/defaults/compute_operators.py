"""Compute API rules for operators' resources and a server's consoles, with
Nova's current defaults (nova/policies/aggregates.py, simple_tenant_usage.py,
remote_consoles.py, console_auth_tokens.py, servers.py (topology), server_password.py, server_diagnostics.py,
server_external_events.py). Paths are relative to ``/v2.1``."""

from __future__ import annotations

from core.policy.defaults import RuleDefault
from core.policy.defaults.compute import ACT, ADMIN, MEMBER, READER, SRV

AGG = "/os-aggregates/{aggregate_id}"
SERVICE_OR_ADMIN = "role:service or rule:context_is_admin"


def _rule(name: str, check: str, description: str, *ops: str) -> RuleDefault:
    operations = tuple(tuple(op.split(" ", 1)) for op in ops)
    return RuleDefault(f"os_compute_api:{name}", check, description,
                       operations)  # type: ignore[arg-type]


RULES = [
    # ---- host aggregates ----
    _rule("os-aggregates:index", ADMIN, "List host aggregates.", "GET /os-aggregates"),
    _rule("os-aggregates:create", ADMIN, "Create a host aggregate.", "POST /os-aggregates"),
    _rule("os-aggregates:show", ADMIN, "Show a host aggregate.", f"GET {AGG}"),
    _rule("os-aggregates:update", ADMIN, "Rename or re-zone a host aggregate.", f"PUT {AGG}"),
    _rule("os-aggregates:delete", ADMIN, "Delete a host aggregate.", f"DELETE {AGG}"),
    _rule("os-aggregates:add_host", ADMIN, "Add a host to an aggregate.",
          f"POST {AGG}/action"),
    _rule("os-aggregates:remove_host", ADMIN, "Remove a host from an aggregate.",
          f"POST {AGG}/action"),
    _rule("os-aggregates:set_metadata", ADMIN, "Set an aggregate's metadata.",
          f"POST {AGG}/action"),
    _rule("os-aggregates:images", ADMIN, "Ask an aggregate's hosts to cache images (2.81).",
          f"POST {AGG}/images"),
    # ---- quota classes ----
    _rule("os-quota-class-sets:show", ADMIN, "Show a quota class (only 'default').",
          "GET /os-quota-class-sets/{id}"),
    _rule("os-quota-class-sets:update", ADMIN, "Set a quota class's limits (the defaults).",
          "PUT /os-quota-class-sets/{id}"),
    # ---- usage ----
    _rule("os-simple-tenant-usage:list", ADMIN, "Show every project's usage.",
          "GET /os-simple-tenant-usage"),
    _rule("os-simple-tenant-usage:show", READER, "Show a project's usage.",
          "GET /os-simple-tenant-usage/{tenant_id}"),
    # ---- a server's consoles, password, diagnostics; events from other services ----
    _rule("os-remote-consoles", MEMBER, "Open a server's remote console.",
          f"POST {SRV}/remote-consoles", ACT),
    _rule("os-remote-consoles:connect", "@", "Open the console a console URL names (its "
          "token is the credential).", "GET /console"),
    _rule("os-console-auth-tokens", ADMIN, "Show what a console token connects to "
          "(any console type from 2.31).", "GET /os-console-auth-tokens/{console_token}"),
    # Nova names these two without the os_compute_api prefix
    RuleDefault("compute:server:topology:index", READER,
                "Show a server's NUMA topology (2.78).",
                (("GET", f"{SRV}/topology"),)),  # type: ignore[arg-type]
    RuleDefault("compute:server:topology:host:index", ADMIN,
                "See the host NUMA fields (host_node, cpu_pinning) in a server's topology.",
                (("GET", f"{SRV}/topology"),)),  # type: ignore[arg-type]
    _rule("os-server-password:show", READER, "Show a server's encrypted password.",
          f"GET {SRV}/os-server-password"),
    _rule("os-server-password:clear", MEMBER, "Clear a server's encrypted password.",
          f"DELETE {SRV}/os-server-password"),
    _rule("os-server-diagnostics", ADMIN, "Show a server's diagnostics.",
          f"GET {SRV}/diagnostics"),
    _rule("os-server-external-events:create", SERVICE_OR_ADMIN,
          "Tell servers of events in other services (network-vif-plugged, ...).",
          "POST /os-server-external-events"),
]
