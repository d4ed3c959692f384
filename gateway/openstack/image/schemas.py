"""The JSON schemas Glance serves under /v2/schemas (python-glanceclient builds
its model from the image schema)."""

from __future__ import annotations

from core.image.patch import CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES

_STR_OR_NULL = {"type": ["null", "string"], "readOnly": True}

IMAGE = {
    "name": "image",
    "additionalProperties": {"type": "string"},
    "links": [{"href": "{self}", "rel": "self"}, {"href": "{file}", "rel": "enclosure"},
              {"href": "{schema}", "rel": "describedby"}],
    "properties": {
        "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F])"
                                            "{4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
        "name": {"type": ["null", "string"], "maxLength": 255},
        "status": {"type": "string", "readOnly": True,
                   "enum": ["queued", "saving", "active", "killed", "deleted", "uploading",
                            "importing", "pending_delete", "deactivated"]},
        "visibility": {"type": "string", "enum": list(VISIBILITIES)},
        "protected": {"type": "boolean"},
        "os_hidden": {"type": "boolean"},
        "checksum": {**_STR_OR_NULL, "maxLength": 32},
        "os_hash_algo": {**_STR_OR_NULL, "maxLength": 64},
        "os_hash_value": {**_STR_OR_NULL, "maxLength": 128},
        "owner": {"type": ["null", "string"], "maxLength": 255},
        "size": {"type": ["null", "integer"], "readOnly": True},
        "virtual_size": {"type": ["null", "integer"], "readOnly": True},
        "container_format": {"type": ["null", "string"],
                             "enum": [None, *CONTAINER_FORMATS]},
        "disk_format": {"type": ["null", "string"], "enum": [None, *DISK_FORMATS]},
        "created_at": {"type": "string", "readOnly": True},
        "updated_at": {"type": "string", "readOnly": True},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
        "min_ram": {"type": "integer"},
        "min_disk": {"type": "integer"},
        "self": {"type": "string", "readOnly": True},
        "file": {"type": "string", "readOnly": True},
        "schema": {"type": "string", "readOnly": True},
        "stores": {"type": "string", "readOnly": True},
    },
}

IMAGES = {
    "name": "images",
    "links": [{"href": "{first}", "rel": "first"}, {"href": "{next}", "rel": "next"},
              {"href": "{schema}", "rel": "describedby"}],
    "properties": {
        "images": {"type": "array", "items": IMAGE},
        "first": {"type": "string"}, "next": {"type": "string"}, "schema": {"type": "string"},
    },
}

MEMBER = {
    "name": "member",
    "properties": {
        "image_id": {"type": "string"}, "member_id": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "accepted", "rejected"]},
        "created_at": {"type": "string"}, "updated_at": {"type": "string"},
        "schema": {"type": "string", "readOnly": True},
    },
}

MEMBERS = {"name": "members", "links": [{"href": "{schema}", "rel": "describedby"}],
           "properties": {"members": {"type": "array", "items": MEMBER},
                          "schema": {"type": "string"}}}
