"""Identity API rules with Keystone's current default check strings.

Paths are relative to ``/v3`` (except version discovery). Keystone's
``system_scope:all`` clauses are kept as written; a project ``admin`` passes
everything through ``rule:admin_required``.

Targets are flat dicts with Keystone's dotted keys (``target.project.id``,
``target.user.domain_id``, ``user_id`` for the user in the path, ...). Omit a key
rather than set it to ``None``: ``None`` interpolates as the text ``"None"``,
which equals the unset ``domain_id`` of a project-scoped token, so
``{"target.domain_id": None}`` would let any project reader list users.
"""

from __future__ import annotations

from core.policy.defaults import RuleDefault

ADMIN = "rule:admin_required"
ADMIN_OR_SYSTEM_READER = "rule:admin_required or (role:reader and system_scope:all)"
ANYONE = ""  # the empty rule always passes; the gateway still requires a token

DOMAIN_READER_OF_LIST = (
    "(rule:admin_required) or (role:reader and system_scope:all)"
    " or (role:reader and domain_id:%(target.domain_id)s)"
)
PROJECT_MANAGER = (
    "(rule:admin_required) or (role:manager and domain_id:%(target.project.domain_id)s"
    " and not None:%(target.project.domain_id)s)"
)
USER_MANAGER = "(rule:admin_required) or (role:manager and token.domain.id:%(target.user.domain_id)s)"
GROUP_READER = (
    "(rule:admin_required) or (role:reader and system_scope:all)"
    " or (role:reader and domain_id:%(target.group.domain_id)s)"
)
GROUP_MANAGER = "(rule:admin_required) or (role:manager and domain_id:%(target.group.domain_id)s)"
GROUP_MEMBERSHIP_MANAGER = (
    "(rule:admin_required) or (role:manager and domain_id:%(target.group.domain_id)s"
    " and domain_id:%(target.user.domain_id)s)"
)
CRED_OWNER_MEMBER = "(rule:admin_required) or (role:member and user_id:%(target.credential.user_id)s)"
APP_CRED_READER = "(rule:admin_required) or (role:reader and system_scope:all) or rule:owner"

# Grants: the actor (user or group) and the scope (project or domain) must both
# be in the caller's domain; the role must be global or of that domain.
_GRANT_SCOPES = (
    "domain_id:%(target.user.domain_id)s and domain_id:%(target.project.domain_id)s",
    "domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s",
    "domain_id:%(target.group.domain_id)s and domain_id:%(target.project.domain_id)s",
    "domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s",
)


def _in_own_domain(role: str) -> str:
    return " or ".join(f"(role:{role} and {scope})" for scope in _GRANT_SCOPES)


ROLE_OF_DOMAIN = "(domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s)"
GRANT_READER = f"(rule:admin_required) or ((role:reader and system_scope:all) or {_in_own_domain('reader')})"
GRANT_CHECKER = (
    f"(rule:admin_required) or ((role:reader and system_scope:all)"
    f" or ({_in_own_domain('reader')}) and {ROLE_OF_DOMAIN})"
)
GRANT_MANAGER = (
    f"(rule:admin_required) or ({_in_own_domain('admin')}) and {ROLE_OF_DOMAIN}"
    f" or ({_in_own_domain('manager')}) and rule:domain_managed_target_role"
)


def _rule(name: str, check_str: str, description: str, *operations: str) -> RuleDefault:
    """``operations`` are ``"METHOD /path"``; ``"GET|HEAD /path"`` gives both."""
    pairs: list[tuple[str, str]] = []
    for operation in operations:
        methods, path = operation.split(" ", 1)
        pairs.extend((method, path) for method in methods.split("|"))
    return RuleDefault(f"identity:{name}", check_str, description, tuple(pairs))


_USER = "/users/{user_id}"
_GROUP_USER = "/groups/{group_id}/users/{user_id}"
_GRANT_PATHS = (
    "/projects/{project_id}/users/{user_id}/roles",
    "/projects/{project_id}/groups/{group_id}/roles",
    "/domains/{domain_id}/users/{user_id}/roles",
    "/domains/{domain_id}/groups/{group_id}/roles",
)


def _grant_ops(methods: str, suffix: str) -> tuple[str, ...]:
    return tuple(f"{methods} {path}{suffix}" for path in _GRANT_PATHS)


RULES: tuple[RuleDefault, ...] = (
    # ---- discovery, authentication and tokens
    _rule("get_versions", "@", "Identity API version discovery.", "GET /", "GET /v3"),
    _rule("authenticate", "@", "Authenticate and issue a token (needs no token).",
          "POST /auth/tokens"),
    _rule("ec2tokens_validate", "rule:service_or_admin",
          "Validate EC2 credentials and create a Keystone token.", "POST /ec2tokens"),
    _rule("validate_token",
          "rule:admin_required or (role:reader and system_scope:all)"
          " or rule:service_role or rule:token_subject",
          "Validate a token.", "GET /auth/tokens"),
    _rule("check_token",
          "rule:admin_required or (role:reader and system_scope:all) or rule:token_subject",
          "Check a token.", "HEAD /auth/tokens"),
    _rule("revoke_token", "rule:admin_required or rule:token_subject", "Revoke a token.",
          "DELETE /auth/tokens"),
    _rule("get_auth_catalog", ANYONE, "Get service catalog.", "GET|HEAD /auth/catalog"),
    _rule("get_auth_projects", ANYONE,
          "List all projects a user has access to via role assignments.",
          "GET|HEAD /auth/projects"),
    _rule("get_auth_domains", ANYONE,
          "List all domains a user has access to via role assignments.",
          "GET|HEAD /auth/domains"),
    # ---- domains
    _rule("get_domain",
          "rule:admin_required or (role:reader and system_scope:all)"
          " or token.domain.id:%(target.domain.id)s"
          " or token.project.domain.id:%(target.domain.id)s",
          "Show domain details.", "GET /domains/{domain_id}"),
    _rule("list_domains",
          "rule:admin_required or (role:reader and system_scope:all)"
          " or (role:reader and domain_id:%(target.domain.id)s)",
          "List domains.", "GET /domains"),
    _rule("create_domain", ADMIN, "Create domain.", "POST /domains"),
    _rule("update_domain", ADMIN, "Update domain.", "PATCH /domains/{domain_id}"),
    _rule("delete_domain", ADMIN, "Delete domain.", "DELETE /domains/{domain_id}"),
    # ---- projects
    _rule("get_project",
          "(rule:admin_required) or (role:reader and system_scope:all)"
          " or (role:reader and domain_id:%(target.project.domain_id)s"
          " and not None:%(target.project.domain_id)s) or project_id:%(target.project.id)s",
          "Show project details.", "GET /projects/{project_id}"),
    _rule("list_projects", DOMAIN_READER_OF_LIST, "List projects.", "GET /projects"),
    _rule("create_project", PROJECT_MANAGER, "Create project.", "POST /projects"),
    _rule("update_project", PROJECT_MANAGER, "Update project.", "PATCH /projects/{project_id}"),
    _rule("delete_project", PROJECT_MANAGER, "Delete project.", "DELETE /projects/{project_id}"),
    _rule("list_user_projects",
          "(rule:admin_required) or (role:reader and system_scope:all)"
          " or (role:reader and domain_id:%(target.user.domain_id)s) or user_id:%(target.user.id)s",
          "List projects for user.", f"GET {_USER}/projects"),
    # ---- users
    _rule("get_user",
          "(rule:admin_required) or (role:reader and system_scope:all)"
          " or (role:reader and token.domain.id:%(target.user.domain_id)s)"
          " or user_id:%(target.user.id)s",
          "Show user details.", f"GET|HEAD {_USER}"),
    _rule("list_users", DOMAIN_READER_OF_LIST, "List users.", "GET|HEAD /users"),
    _rule("create_user", USER_MANAGER, "Create a user.", "POST /users"),
    _rule("update_user", USER_MANAGER,
          "Update a user, including administrative password resets.", f"PATCH {_USER}"),
    _rule("delete_user", USER_MANAGER, "Delete a user.", f"DELETE {_USER}"),
    _rule("change_password", "user_id:%(target.user.id)s",
          "Change one's own password (the request proves the old one).",
          f"POST {_USER}/password"),
    # ---- groups
    _rule("get_group", GROUP_READER, "Show group details.", "GET|HEAD /groups/{group_id}"),
    _rule("list_groups", GROUP_READER, "List groups.", "GET|HEAD /groups"),
    _rule("create_group", GROUP_MANAGER, "Create group.", "POST /groups"),
    _rule("update_group", GROUP_MANAGER, "Update group.", "PATCH /groups/{group_id}"),
    _rule("delete_group", GROUP_MANAGER, "Delete group.", "DELETE /groups/{group_id}"),
    _rule("list_users_in_group", GROUP_READER, "List members of a specific group.",
          "GET|HEAD /groups/{group_id}/users"),
    _rule("add_user_to_group", GROUP_MEMBERSHIP_MANAGER, "Add user to group.",
          f"PUT {_GROUP_USER}"),
    _rule("remove_user_from_group", GROUP_MEMBERSHIP_MANAGER, "Remove user from group.",
          f"DELETE {_GROUP_USER}"),
    _rule("check_user_in_group",
          "(rule:admin_required) or (role:reader and system_scope:all)"
          " or (role:reader and domain_id:%(target.group.domain_id)s"
          " and domain_id:%(target.user.domain_id)s)",
          "Check whether a user is a member of a group.", f"GET|HEAD {_GROUP_USER}"),
    _rule("list_groups_for_user",
          "(rule:admin_required) or (role:reader and system_scope:all)"
          " or (role:reader and domain_id:%(target.user.domain_id)s) or user_id:%(user_id)s",
          "List groups to which a user belongs.", f"GET|HEAD {_USER}/groups"),
    # ---- roles and implied roles
    _rule("get_role",
          "(rule:admin_required or (role:reader and system_scope:all))"
          " or (role:manager and rule:domain_managed_target_role)",
          "Show role details.", "GET|HEAD /roles/{role_id}"),
    _rule("list_roles",
          "(rule:admin_required or (role:reader and system_scope:all))"
          " or (role:manager and not domain_id:None)",
          "List roles.", "GET|HEAD /roles"),
    _rule("create_role", ADMIN, "Create role.", "POST /roles"),
    _rule("update_role", ADMIN, "Update role.", "PATCH /roles/{role_id}"),
    _rule("delete_role", ADMIN, "Delete role.", "DELETE /roles/{role_id}"),
    _rule("get_implied_role", ADMIN_OR_SYSTEM_READER,
          "Get information about an association between two roles.",
          "GET /roles/{prior_role_id}/implies/{implied_role_id}"),
    _rule("list_implied_roles", ADMIN_OR_SYSTEM_READER,
          "List the roles implied by a prior role.", "GET|HEAD /roles/{prior_role_id}/implies"),
    _rule("create_implied_role", ADMIN, "Create an association between two roles.",
          "PUT /roles/{prior_role_id}/implies/{implied_role_id}"),
    _rule("delete_implied_role", ADMIN, "Delete the association between two roles.",
          "DELETE /roles/{prior_role_id}/implies/{implied_role_id}"),
    _rule("check_implied_role", ADMIN_OR_SYSTEM_READER,
          "Check an association between two roles.",
          "HEAD /roles/{prior_role_id}/implies/{implied_role_id}"),
    _rule("list_role_inference_rules", ADMIN_OR_SYSTEM_READER,
          "List all associations between two roles in the system.",
          "GET|HEAD /role_inferences"),
    # ---- grants and role assignments
    _rule("check_grant", GRANT_CHECKER,
          "Check a role grant between a target (project or domain) and an actor.",
          *_grant_ops("GET|HEAD", "/{role_id}")),
    _rule("list_grants", GRANT_READER, "List roles granted to an actor on a target.",
          *_grant_ops("GET|HEAD", "")),
    _rule("create_grant", GRANT_MANAGER, "Grant a role to an actor on a target.",
          *_grant_ops("PUT", "/{role_id}")),
    _rule("revoke_grant", GRANT_MANAGER, "Revoke a role grant from an actor on a target.",
          *_grant_ops("DELETE", "/{role_id}")),
    _rule("list_role_assignments", DOMAIN_READER_OF_LIST, "List role assignments.",
          "GET|HEAD /role_assignments"),
    # ---- catalog: regions, services, endpoints
    _rule("get_region", ANYONE, "Show region details.", "GET|HEAD /regions/{region_id}"),
    _rule("list_regions", ANYONE, "List regions.", "GET|HEAD /regions"),
    _rule("create_region", ADMIN, "Create region.", "POST /regions", "PUT /regions/{region_id}"),
    _rule("update_region", ADMIN, "Update region.", "PATCH /regions/{region_id}"),
    _rule("delete_region", ADMIN, "Delete region.", "DELETE /regions/{region_id}"),
    _rule("get_service", ADMIN_OR_SYSTEM_READER, "Show service details.",
          "GET /services/{service_id}"),
    _rule("list_services", ADMIN_OR_SYSTEM_READER, "List services.", "GET /services"),
    _rule("create_service", ADMIN, "Create service.", "POST /services"),
    _rule("update_service", ADMIN, "Update service.", "PATCH /services/{service_id}"),
    _rule("delete_service", ADMIN, "Delete service.", "DELETE /services/{service_id}"),
    _rule("get_endpoint", ADMIN_OR_SYSTEM_READER, "Show endpoint details.",
          "GET /endpoints/{endpoint_id}"),
    _rule("list_endpoints", ADMIN_OR_SYSTEM_READER, "List endpoints.", "GET /endpoints"),
    _rule("create_endpoint", ADMIN, "Create endpoint.", "POST /endpoints"),
    _rule("update_endpoint", ADMIN, "Update endpoint.", "PATCH /endpoints/{endpoint_id}"),
    _rule("delete_endpoint", ADMIN, "Delete endpoint.", "DELETE /endpoints/{endpoint_id}"),
    # ---- EC2 and application credentials
    _rule("ec2_get_credential",
          "(rule:admin_required) or (role:reader and system_scope:all)"
          " or user_id:%(target.credential.user_id)s",
          "Show ec2 credential details.", f"GET {_USER}/credentials/OS-EC2/{{credential_id}}"),
    _rule("ec2_list_credentials",
          "(rule:admin_required) or (role:reader and system_scope:all) or rule:owner",
          "List ec2 credentials.", f"GET {_USER}/credentials/OS-EC2"),
    _rule("ec2_create_credential", CRED_OWNER_MEMBER, "Create ec2 credential.",
          f"POST {_USER}/credentials/OS-EC2"),
    _rule("ec2_delete_credential", CRED_OWNER_MEMBER, "Delete ec2 credential.",
          f"DELETE {_USER}/credentials/OS-EC2/{{credential_id}}"),
    _rule("get_application_credential", APP_CRED_READER,
          "Show application credential details.",
          f"GET|HEAD {_USER}/application_credentials/{{application_credential_id}}"),
    _rule("list_application_credentials", APP_CRED_READER,
          "List application credentials for a user.",
          f"GET|HEAD {_USER}/application_credentials"),
    _rule("create_application_credential", "user_id:%(user_id)s",
          "Create an application credential.", f"POST {_USER}/application_credentials"),
    _rule("delete_application_credential", "rule:admin_or_owner",
          "Delete an application credential.",
          f"DELETE {_USER}/application_credentials/{{application_credential_id}}"),
)
