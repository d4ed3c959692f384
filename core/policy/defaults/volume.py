"""Block Storage API rules with Cinder's current (secure RBAC) defaults and
Cinder's rule names (``volume:create``, ``volume_extension:...``).

The target of a volume, snapshot or attachment rule is its ``project_id``; for
create and list it is the caller's project (quota rules: the project named in
the URL). Paths are relative to ``/v3``.
"""

from __future__ import annotations

from core.policy.defaults import RuleDefault

ADMIN = "role:admin"
READER = "role:admin or (role:reader and project_id:%(project_id)s)"
MEMBER = "role:admin or (role:member and project_id:%(project_id)s)"
ANYONE = "@"
VOL = "/volumes/{volume_id}"
ACT = f"POST {VOL}/action"
SNAP = "/snapshots/{snapshot_id}"
TYPE = "/types/{type_id}"


def _r(name: str, check: str, description: str, *ops: str) -> RuleDefault:
    operations = tuple(tuple(op.split(" ", 1)) for op in ops)
    return RuleDefault(name, check, description, operations)  # type: ignore[arg-type]


RULES = [
    # ---- discovery (Cinder checks no rule: anyone, without a token) ----
    _r("volume:get_service", ANYONE, "Version discovery.", "GET /", "GET /v3/"),
    # ---- volumes ----
    _r("volume:create", MEMBER, "Create a volume.", "POST /volumes"),
    _r("volume:create_from_image", MEMBER, "Create a volume from an image.", "POST /volumes"),
    _r("volume:get", READER, "Show a volume.", f"GET {VOL}"),
    _r("volume:get_all", READER, "List volumes or their summary.", "GET /volumes",
       "GET /volumes/detail", "GET /volumes/summary"),
    _r("volume:update", MEMBER, "Update a volume (name, description, bootable).",
       f"PUT {VOL}", ACT),
    _r("volume:delete", MEMBER, "Delete a volume.", f"DELETE {VOL}"),
    _r("volume:force_delete", ADMIN, "Delete a volume whatever its status (3.23 ?force).",
       f"DELETE {VOL}"),
    _r("volume:extend", MEMBER, "Extend a volume.", ACT),
    _r("volume:extend_attached_volume", MEMBER, "Extend an attached volume (3.42).", ACT),
    _r("volume:update_readonly_flag", MEMBER, "Set a volume's read-only flag.", ACT),
    _r("volume:retype", MEMBER, "Change a volume's type.", ACT),
    _r("volume:multiattach", MEMBER, "Create a volume that may be attached more than once.",
       "POST /volumes"),
    _r("volume:get_volume_metadata", READER, "Show a volume's metadata.",
       f"GET {VOL}/metadata", f"GET {VOL}/metadata/{{key}}"),
    _r("volume:create_volume_metadata", MEMBER, "Add a volume's metadata.",
       f"POST {VOL}/metadata"),
    _r("volume:update_volume_metadata", MEMBER, "Replace a volume's metadata.",
       f"PUT {VOL}/metadata", f"PUT {VOL}/metadata/{{key}}"),
    _r("volume:delete_volume_metadata", MEMBER, "Delete a volume's metadata item.",
       f"DELETE {VOL}/metadata/{{key}}"),
    _r("volume_extension:volume_host_attribute", ADMIN,
       "Show a volume's host (os-vol-host-attr:host).", f"GET {VOL}"),
    _r("volume_extension:volume_tenant_attribute", READER,
       "Show a volume's project (os-vol-tenant-attr:tenant_id).", f"GET {VOL}"),
    _r("volume_extension:volume_mig_status_attribute", ADMIN,
       "Show a volume's migration status.", f"GET {VOL}"),
    _r("volume_extension:volume_image_metadata:show", READER,
       "Show a volume's image metadata.", f"GET {VOL}"),
    _r("volume_extension:volume_admin_actions:reset_status", ADMIN,
       "Reset a volume's status.", ACT),
    _r("volume_extension:volume_admin_actions:force_delete", ADMIN,
       "Delete a volume whatever its status.", ACT),
    _r("volume_extension:volume_admin_actions:force_detach", ADMIN,
       "Detach a volume by force.", ACT),
    _r("volume_extension:volume_actions:upload_image", MEMBER,
       "Upload a volume to an image.", ACT),
    _r("volume_extension:volume_actions:upload_public", ADMIN,
       "Upload a volume to a public image.", ACT),
    _r("volume_extension:volume_actions:initialize_connection", MEMBER,
       "Connect a volume (legacy attach).", ACT),
    _r("volume_extension:volume_actions:terminate_connection", MEMBER,
       "Disconnect a volume (legacy detach).", ACT),
    _r("volume_extension:volume_actions:roll_detaching", MEMBER,
       "Roll a detaching volume back to in-use.", ACT),
    _r("volume_extension:volume_actions:reserve", MEMBER, "Reserve a volume to attach.", ACT),
    _r("volume_extension:volume_actions:unreserve", MEMBER, "Unreserve a volume.", ACT),
    _r("volume_extension:volume_actions:begin_detaching", MEMBER,
       "Mark a volume detaching.", ACT),
    _r("volume_extension:volume_actions:attach", MEMBER, "Mark a volume attached.", ACT),
    _r("volume_extension:volume_actions:detach", MEMBER, "Mark a volume detached.", ACT),
    # ---- attachments (3.27) ----
    _r("volume:attachment_create", MEMBER, "Create an attachment.", "POST /attachments"),
    _r("volume:attachment_update", MEMBER, "Connect an attachment.",
       "PUT /attachments/{attachment_id}"),
    _r("volume:attachment_delete", MEMBER, "Delete an attachment.",
       "DELETE /attachments/{attachment_id}"),
    _r("volume:attachment_complete", MEMBER, "Mark an attachment attached (3.44).",
       "POST /attachments/{attachment_id}/action"),
    _r("volume:multiattach_bootable_volume", MEMBER,
       "Attach a bootable multiattach volume more than once.", "POST /attachments"),
    # ---- snapshots ----
    _r("volume:create_snapshot", MEMBER, "Create a snapshot.", "POST /snapshots"),
    _r("volume:get_snapshot", READER, "Show a snapshot.", f"GET {SNAP}"),
    _r("volume:get_all_snapshots", READER, "List snapshots.", "GET /snapshots",
       "GET /snapshots/detail"),
    _r("volume:update_snapshot", MEMBER, "Update a snapshot.", f"PUT {SNAP}"),
    _r("volume:delete_snapshot", MEMBER, "Delete a snapshot.", f"DELETE {SNAP}"),
    _r("volume:get_snapshot_metadata", READER, "Show a snapshot's metadata.",
       f"GET {SNAP}/metadata"),
    _r("volume:update_snapshot_metadata", MEMBER, "Set a snapshot's metadata.",
       f"POST {SNAP}/metadata", f"PUT {SNAP}/metadata"),
    _r("volume:delete_snapshot_metadata", MEMBER, "Delete a snapshot's metadata item.",
       f"DELETE {SNAP}/metadata/{{key}}"),
    _r("volume_extension:extended_snapshot_attributes", READER,
       "Show a snapshot's progress and project.", f"GET {SNAP}"),
    _r("volume_extension:snapshot_admin_actions:reset_status", ADMIN,
       "Reset a snapshot's status.", f"POST {SNAP}/action"),
    _r("volume_extension:snapshot_admin_actions:force_delete", ADMIN,
       "Delete a snapshot whatever its status.", f"POST {SNAP}/action"),
    # ---- volume types ----
    _r("volume_extension:type_get", ANYONE, "Show a volume type.", f"GET {TYPE}",
       "GET /types/default"),
    _r("volume_extension:type_get_all", ANYONE, "List volume types.", "GET /types"),
    _r("volume_extension:type_create", ADMIN, "Create a volume type.", "POST /types"),
    _r("volume_extension:type_update", ADMIN, "Update a volume type.", f"PUT {TYPE}"),
    _r("volume_extension:type_delete", ADMIN, "Delete a volume type.", f"DELETE {TYPE}"),
    _r("volume_extension:access_types_extra_specs", ANYONE,
       "Show the user-visible extra specs of volume types.", "GET /types"),
    _r("volume_extension:access_types_qos_specs_id", ADMIN,
       "Show volume types' QoS specs id.", "GET /types"),
    _r("volume_extension:types_extra_specs:index", ANYONE, "List a type's extra specs.",
       f"GET {TYPE}/extra_specs"),
    _r("volume_extension:types_extra_specs:show", ANYONE, "Show a type's extra spec.",
       f"GET {TYPE}/extra_specs/{{key}}"),
    _r("volume_extension:types_extra_specs:create", ADMIN, "Add a type's extra specs.",
       f"POST {TYPE}/extra_specs"),
    _r("volume_extension:types_extra_specs:update", ADMIN, "Update a type's extra spec.",
       f"PUT {TYPE}/extra_specs/{{key}}"),
    _r("volume_extension:types_extra_specs:delete", ADMIN, "Delete a type's extra spec.",
       f"DELETE {TYPE}/extra_specs/{{key}}"),
    _r("volume_extension:types_extra_specs:read_sensitive", ADMIN,
       "Show every extra spec of a type (not only the user-visible ones).", f"GET {TYPE}"),
    _r("volume_extension:volume_type_access", ADMIN,
       "List the projects a private type is shared with.",
       f"GET {TYPE}/os-volume-type-access"),
    _r("volume_extension:volume_type_access:addProjectAccess", ADMIN,
       "Share a private type with a project.", f"POST {TYPE}/action"),
    _r("volume_extension:volume_type_access:removeProjectAccess", ADMIN,
       "Stop sharing a private type with a project.", f"POST {TYPE}/action"),
    # ---- quotas, limits ----
    _r("volume_extension:quotas:show", READER, "Show a project's quotas.",
       "GET /os-quota-sets/{project_id}", "GET /os-quota-sets/{project_id}/defaults"),
    _r("volume_extension:quotas:update", ADMIN, "Update a project's quotas.",
       "PUT /os-quota-sets/{project_id}"),
    _r("volume_extension:quotas:delete", ADMIN, "Reset a project's quotas.",
       "DELETE /os-quota-sets/{project_id}"),
    _r("limits_extension:used_limits", READER, "Show limits with usage.", "GET /limits"),
    # ---- zones, services, pools ----
    _r("volume_extension:availability_zone_list", ANYONE, "List availability zones.",
       "GET /os-availability-zone"),
    _r("volume_extension:services:index", ADMIN, "List volume services.",
       "GET /os-services"),
    _r("volume_extension:services:update", ADMIN, "Enable or disable a volume service.",
       "PUT /os-services/{action}"),
    _r("volume_extension:capabilities", ADMIN, "Show a back end's capabilities.",
       "GET /capabilities/{host}"),
    _r("scheduler_extension:scheduler_stats:get_pools", ADMIN, "List storage pools.",
       "GET /scheduler-stats/get_pools"),
    _r("message:get_all", READER, "List user messages.", "GET /messages"),
    _r("message:get", READER, "Show a user message.", "GET /messages/{message_id}"),
    _r("message:delete", MEMBER, "Delete a user message.", "DELETE /messages/{message_id}"),
]
