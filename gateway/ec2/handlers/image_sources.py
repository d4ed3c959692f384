"""What RegisterImage and CreateImage accept: AMI names as AWS allows them,
an image location the image service can import from, the properties of a
registered image (EBS-backed AMIs' block device mappings: ``ebs_images``)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from core import errors
from core.image.service import ImageService
from gateway.ec2.api import Call
from gateway.ec2.errors import Ec2Error

# AWS's AMI names: 3-128 letters, digits and ( ) [ ] space . / - ' @ _
AMI_NAME = re.compile(r"[A-Za-z0-9()\[\] ./\-'@_]{3,128}")
# EC2 architectures → Glance's ``architecture`` values (libosinfo names).
GLANCE_ARCHITECTURES = {"x86_64": "x86_64", "i386": "i686", "arm64": "aarch64"}
# A registered image's disk format, from its location's file name.
DISK_FORMATS = {".qcow2": "qcow2", ".img": "raw", ".raw": "raw", ".vmdk": "vmdk",
                ".vhd": "vhd", ".vhdx": "vhdx", ".vdi": "vdi", ".iso": "iso"}


def check_name(name: str | None) -> str:
    if not name:
        raise Ec2Error("MissingParameter", "The request must contain the parameter name")
    if not AMI_NAME.fullmatch(name):
        raise Ec2Error("InvalidAMIName.Malformed",
                       f"AMI name {name} is invalid: AMI names are 3 to 128 characters: "
                       "letters, digits, spaces and ( ) [ ] . / - ' @ _")
    return name


def disk_format_of(url: str) -> str:
    path = urlsplit(url).path.lower()
    return next((fmt for ext, fmt in DISK_FORMATS.items() if path.endswith(ext)), "raw")


def check_location(images: ImageService, location: str) -> None:
    """InvalidParameterValue unless ``location`` is an http(s) URL the image
    service may import from (the ports Glance's web-download allows) and
    that answers now: a dead link fails the call, not the image later."""
    store = next((st for st in images.stores.values()
                  if st.read_only and st.owns(location)), None)
    parts = urlsplit(location)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        port = -1
    if store is None or not parts.hostname or port < 0:
        raise Ec2Error("InvalidParameterValue",
                       f"ImageLocation {location} is not an http:// or https:// URL the "
                       "image service can read.")
    allowed = images.data.import_ports
    if allowed and port not in allowed:
        raise Ec2Error("InvalidParameterValue",
                       f"ImageLocation {location}: imports are not allowed to port {port}.")
    try:
        size = store.size(location)
    except errors.CoreError as exc:
        raise Ec2Error("InvalidParameterValue",
                       f"ImageLocation {location} cannot be read: {exc.message}") from None
    if size > images.data.size_cap:
        raise Ec2Error("InvalidParameterValue",
                       f"The image at {location} is larger than this cloud accepts.")


def register_values(call: Call, name: str, location: str) -> dict[str, Any]:
    """The image service's fields of an image RegisterImage registers."""
    values: dict[str, Any] = {"name": name, "disk_format": disk_format_of(location),
                              "container_format": "bare", "visibility": "private"}
    arch = call.get("Architecture", "x86_64")
    if arch not in GLANCE_ARCHITECTURES:
        raise Ec2Error("InvalidParameterValue",
                       f"Value ({arch}) for parameter architecture is invalid. Valid "
                       f"values: {', '.join(GLANCE_ARCHITECTURES)}.")
    values["architecture"] = GLANCE_ARCHITECTURES[arch]
    if call.get("VirtualizationType", "hvm") != "hvm":
        raise Ec2Error("InvalidParameterValue", "Only hvm images are supported by this cloud.")
    for param in ("KernelId", "RamdiskId", "BillingProducts", "UefiData"):
        if call.get(param):
            raise Ec2Error("InvalidParameterValue", f"{param} is not supported by this cloud.")
    if call.get("Description") is not None:
        values["description"] = call.get("Description")
    root = call.get("RootDeviceName")
    if root is not None:
        if not re.fullmatch(r"/dev/[a-z0-9]+", root):
            raise Ec2Error("InvalidParameterValue",
                           f"Value ({root}) for parameter rootDeviceName is invalid.")
        values["root_device_name"] = root
    return values
