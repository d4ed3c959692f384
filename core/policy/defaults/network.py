"""Network API rules with Neutron's current (secure RBAC) defaults, named
``network:<Neutron's rule name>``.

The target is the resource as stored: ``project_id`` (its owner), and for
networks ``shared`` and ``external`` (``router:external``) as the strings
``True``/``False``; a port's, subnet's or floating IP's target also carries
``network_owner`` (the project owning its network) and the network's
``shared``. Attributes only an admin may set have rules of their own
(``network:create_network:shared``...), checked when the request sets them.
"""

from __future__ import annotations

from core.policy.defaults import RuleDefault

ADMIN = "role:admin"
READER = "role:admin or (role:reader and project_id:%(project_id)s)"
MEMBER = "role:admin or (role:member and project_id:%(project_id)s)"
NET_OWNER_MEMBER = ("role:admin or (role:member and (project_id:%(project_id)s "
                    "or project_id:%(network_owner)s))")
SHARED = "'True':%(shared)s"
EXTERNAL = "'True':%(external)s"


def _r(name: str, check: str, description: str, *ops: str) -> RuleDefault:
    operations = tuple(tuple(op.split(" ", 1)) for op in ops)
    return RuleDefault(f"network:{name}", check, description, operations)  # type: ignore[arg-type]


def _crud(resource: str, collection: str, get: str = READER, create: str = MEMBER,
          update: str | None = MEMBER, delete: str = MEMBER) -> list[RuleDefault]:
    item = f"/v2.0/{collection}/{{id}}"
    rules = [_r(f"get_{resource}", get, f"List or show {resource}s.",
                f"GET /v2.0/{collection}", f"GET {item}"),
             _r(f"create_{resource}", create, f"Create a {resource}.",
                f"POST /v2.0/{collection}"),
             _r(f"delete_{resource}", delete, f"Delete a {resource}.", f"DELETE {item}")]
    if update is not None:
        rules.append(_r(f"update_{resource}", update, f"Update a {resource}.", f"PUT {item}"))
    return rules


RULES = [
    _r("get_service", "@", "Version and extension discovery.", "GET /", "GET /v2.0/",
       "GET /v2.0/extensions"),
    *_crud("network", "networks", get=f"{READER} or {SHARED} or {EXTERNAL}"),
    _r("create_network:shared", ADMIN, "Create a shared network.", "POST /v2.0/networks"),
    _r("create_network:router:external", ADMIN, "Create an external network.",
       "POST /v2.0/networks"),
    _r("update_network:shared", ADMIN, "Share or unshare a network.",
       "PUT /v2.0/networks/{id}"),
    _r("update_network:router:external", ADMIN, "Make a network external or not.",
       "PUT /v2.0/networks/{id}"),
    *_crud("subnet", "subnets", get=f"{READER} or {SHARED}", create=NET_OWNER_MEMBER),
    *_crud("port", "ports", get=f"{READER} or role:admin", create=f"{MEMBER} or "
           f"(role:member and {SHARED})"),
    _r("create_port:device_owner", f"{ADMIN} or project_id:%(network_owner)s",
       "Create a port for a network device (device_owner network:*).", "POST /v2.0/ports"),
    _r("create_port:binding:host_id", ADMIN, "Bind a port to a host.", "POST /v2.0/ports"),
    _r("update_port:binding:host_id", ADMIN, "Bind a port to a host.",
       "PUT /v2.0/ports/{id}"),
    _r("create_port:mac_address", f"{ADMIN} or project_id:%(network_owner)s",
       "Choose a port's MAC address.", "POST /v2.0/ports"),
    *_crud("router", "routers"),
    _r("create_router:external_gateway_info:enable_snat", ADMIN,
       "Turn a new router's SNAT off.", "POST /v2.0/routers"),
    _r("create_router:external_gateway_info:external_fixed_ips", ADMIN,
       "Choose a router's gateway address.", "POST /v2.0/routers"),
    _r("update_router:external_gateway_info:enable_snat", ADMIN,
       "Turn a router's SNAT off.", "PUT /v2.0/routers/{id}"),
    _r("update_router:external_gateway_info:external_fixed_ips", ADMIN,
       "Choose a router's gateway address.", "PUT /v2.0/routers/{id}"),
    _r("add_router_interface", MEMBER, "Attach a subnet or port to a router.",
       "PUT /v2.0/routers/{id}/add_router_interface"),
    _r("remove_router_interface", MEMBER, "Detach a subnet or port from a router.",
       "PUT /v2.0/routers/{id}/remove_router_interface"),
    _r("add_extraroutes", MEMBER, "Add static routes to a router.",
       "PUT /v2.0/routers/{id}/add_extraroutes"),
    _r("remove_extraroutes", MEMBER, "Remove static routes from a router.",
       "PUT /v2.0/routers/{id}/remove_extraroutes"),
    *_crud("floatingip", "floatingips"),
    _r("create_floatingip:floating_ip_address", ADMIN,
       "Choose the address of a new floating IP.", "POST /v2.0/floatingips"),
    *_crud("security_group", "security-groups"),
    *_crud("security_group_rule", "security-group-rules", update=None),
    _r("get_quota", READER, "Show a project's network quotas and usage.",
       "GET /v2.0/quotas/{project_id}", "GET /v2.0/quotas/{project_id}/details",
       "GET /v2.0/quotas/{project_id}/default"),
    _r("get_quotas", ADMIN, "List every project's network quotas.", "GET /v2.0/quotas"),
    _r("update_quota", ADMIN, "Set a project's network quotas.",
       "PUT /v2.0/quotas/{project_id}"),
    _r("delete_quota", ADMIN, "Reset a project's network quotas to the defaults.",
       "DELETE /v2.0/quotas/{project_id}"),
]
