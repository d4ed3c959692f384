"""Image API rules with Glance's current (secure RBAC) defaults.

The target is the image as Glance builds it: ``project_id`` (the owner),
``visibility``, ``member_id`` (the caller's project when it is a member) and,
for member operations, ``member_id`` of the member being changed. Paths are
relative to ``/v2``.
"""

from __future__ import annotations

from core.policy.defaults import RuleDefault

ADMIN = "role:admin"
ADMIN_OR_OWNER_MEMBER = "role:admin or (role:member and project_id:%(project_id)s)"
ADMIN_OR_READER_WITH_ACCESS = (
    "role:admin or (role:reader and (project_id:%(project_id)s"
    " or project_id:%(member_id)s or 'community':%(visibility)s"
    " or 'public':%(visibility)s or 'shared':%(visibility)s))"
)
IMG = "/images/{image_id}"


def _rule(name: str, check: str, description: str, *ops: str) -> RuleDefault:
    operations = tuple(tuple(op.split(" ", 1)) for op in ops)
    return RuleDefault(f"image:{name}", check, description, operations)  # type: ignore[arg-type]


RULES = [
    _rule("get_versions", "@", "Image API version discovery.", "GET /", "GET /v2"),
    _rule("get_schemas", "@", "Read the JSON schemas of images and members.",
          "GET /schemas/image", "GET /schemas/images", "GET /schemas/member",
          "GET /schemas/members"),
    _rule("get_info", "@", "List the stores and import methods.", "GET /info/stores",
          "GET /info/import"),
    _rule("get_images", "role:admin or (role:reader and project_id:%(project_id)s)",
          "List images (each one shown only where the caller may see it).", "GET /images"),
    _rule("get_image", ADMIN_OR_READER_WITH_ACCESS, "Show an image.", f"GET {IMG}"),
    _rule("add_image", ADMIN_OR_OWNER_MEMBER, "Create an image.", "POST /images"),
    _rule("modify_image", ADMIN_OR_OWNER_MEMBER, "Update an image.", f"PATCH {IMG}"),
    _rule("publicize_image", ADMIN, "Make an image public.", f"PATCH {IMG}"),
    _rule("communitize_image", ADMIN_OR_OWNER_MEMBER, "Make an image community.",
          f"PATCH {IMG}"),
    _rule("delete_image", ADMIN_OR_OWNER_MEMBER, "Delete an image.", f"DELETE {IMG}"),
    _rule("upload_image", ADMIN_OR_OWNER_MEMBER, "Upload image data.", f"PUT {IMG}/file"),
    _rule("download_image", ADMIN_OR_READER_WITH_ACCESS, "Download image data.",
          f"GET {IMG}/file"),
    _rule("deactivate", ADMIN_OR_OWNER_MEMBER, "Deactivate an image.",
          f"POST {IMG}/actions/deactivate"),
    _rule("reactivate", ADMIN_OR_OWNER_MEMBER, "Reactivate an image.",
          f"POST {IMG}/actions/reactivate"),
    _rule("import_image", ADMIN_OR_OWNER_MEMBER, "Import image data by a method.",
          f"POST {IMG}/import"),
    _rule("set_image_location", ADMIN, "Add or replace the locations of an image.",
          f"PATCH {IMG}"),
    _rule("get_image_location", ADMIN, "Show the locations of an image.", f"GET {IMG}"),
    _rule("delete_image_location", ADMIN, "Remove the location of an image.", f"PATCH {IMG}"),
    _rule("add_member", ADMIN_OR_OWNER_MEMBER, "Share an image with a project.",
          f"POST {IMG}/members"),
    _rule("get_members", ADMIN_OR_READER_WITH_ACCESS, "List an image's members.",
          f"GET {IMG}/members"),
    _rule("get_member", ADMIN_OR_READER_WITH_ACCESS, "Show an image member.",
          f"GET {IMG}/members/{{member_id}}"),
    _rule("modify_member", "role:admin or (role:member and project_id:%(member_id)s)",
          "Accept or reject an image shared with one's project.",
          f"PUT {IMG}/members/{{member_id}}"),
    _rule("delete_member", ADMIN_OR_OWNER_MEMBER, "Stop sharing an image with a project.",
          f"DELETE {IMG}/members/{{member_id}}"),
    _rule("add_tag", ADMIN_OR_OWNER_MEMBER, "Add a tag to an image.",
          f"PUT {IMG}/tags/{{tag}}"),
    _rule("delete_tag", ADMIN_OR_OWNER_MEMBER, "Remove a tag from an image.",
          f"DELETE {IMG}/tags/{{tag}}"),
]
