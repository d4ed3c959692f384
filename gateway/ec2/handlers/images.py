"""RegisterImage, CreateImage, DescribeImages, DeregisterImage and Describe /
Modify / ResetImageAttribute over the image service: an AMI is a Glance image,
under an ``ami-…`` ID minted when the image is created.

RegisterImage takes an ``ImageLocation`` that is an http(s) URL and imports it
as Glance's ``web-download`` does (the image is ``pending`` until the copy is
in the default store, then ``available``); with a ``BlockDeviceMapping`` whose
root device names an EBS snapshot it registers an EBS-backed AMI
(``ebs_images``), which boots from a volume made from the snapshot.
CreateImage is Nova's createImage: a snapshot of the server, ``pending`` until
its data is uploaded. Nova never reboots a server to snapshot it, so
``NoReboot`` changes nothing. An AMI's tags are the caller's project's own
(``core.tagging``).

Launch permissions are the image's visibility and members: ``Group=all`` is
``public``; a ``UserId`` (a project's account id, or its project id) is a
member, accepted on its behalf, since EC2 has no accept step. An image without launch permissions is
``private``; one with members is ``shared``. The core service enforces the
image API's policy; another project's private image is not found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, canonical_id
from core.image.listing import MAX_LIMIT, ImageQuery
from core.image.models import Image
from core.image.visibility import ImageView
from core.tagging.rules import Resource, check_tags
from core.tagging.service import TagService
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers import ebs_images
from gateway.ec2.handlers.base import Ec2Deps, Handler
from gateway.ec2.handlers.image_sources import (
    check_location,
    check_name,
    register_values,
)
from gateway.ec2.handlers.tags import tag_specifications
from gateway.ec2.paging import page, reject_ids_with_max_results

GET_IMAGES = "image:get_images"
GET_IMAGE = "image:get_image"
DELETE_IMAGE = "image:delete_image"
MODIFY_IMAGE = "image:modify_image"
ADD_MEMBER = "image:add_member"
DELETE_MEMBER = "image:delete_member"
GET_MEMBERS = "image:get_members"
ADD_IMAGE = "image:add_image"
IMPORT_IMAGE = "image:import_image"
CREATE_IMAGE = "os_compute_api:servers:create_image"
# Glance statuses → EC2 image states.
STATES = {"queued": "pending", "saving": "pending", "uploading": "pending",
          "importing": "pending", "active": "available", "killed": "failed",
          "deleted": "deregistered", "pending_delete": "deregistered",
          "deactivated": "disabled"}
# Glance's ``architecture`` values (libosinfo names) → EC2's.
ARCHITECTURES = {"aarch64": "arm64", "i686": "i386", "amd64": "x86_64"}
# Attributes without a counterpart here: described as empty, as AWS does for
# an image that has none.
EMPTY_ATTRIBUTES = {"kernel": "KernelId", "ramdisk": "RamdiskId",
                    "sriovNetSupport": "SriovNetSupport", "productCodes": "ProductCodes",
                    "blockDeviceMapping": "BlockDeviceMappings"}

FILTERS: Filters[dict[str, Any]] = Filters({
    "image-id": lambda i: i["ImageId"],
    "name": lambda i: i["Name"],
    "description": lambda i: i["Description"],
    "state": lambda i: i["State"],
    "is-public": lambda i: i["Public"],
    "owner-id": lambda i: i["OwnerId"],
    "image-type": lambda i: i["ImageType"],
    "architecture": lambda i: i["Architecture"],
    "hypervisor": lambda i: i["Hypervisor"],
    "virtualization-type": lambda i: i["VirtualizationType"],
    "root-device-type": lambda i: i["RootDeviceType"],
    "root-device-name": lambda i: i["RootDeviceName"],
    "platform-details": lambda i: i["PlatformDetails"],
    "manifest-location": lambda i: i["ImageLocation"],
}, tags=lambda i: {t["Key"]: t["Value"] for t in i["Tags"]})


def creation_date(image: Image) -> str:
    when = image.created_at
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def image_view(image: Image, ami: str, owner: str,
               tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """An image as DescribeImages writes it (the ``Image`` shape), owned by
    account ``owner`` (its owner project's), with the caller's ``tags`` on it."""
    props = image.properties or {}
    arch = str(props.get("architecture") or "x86_64")
    return {"ImageId": ami, "ImageLocation": f"{owner}/{image.name or image.id}",
            "State": STATES.get(image.status, "pending"), "OwnerId": owner,
            "CreationDate": creation_date(image),
            "Public": image.visibility in ("public", "community"),
            "Architecture": ARCHITECTURES.get(arch, arch), "ImageType": "machine",
            "Name": image.name, "Description": props.get("description"),
            "RootDeviceType": "instance-store",
            "RootDeviceName": str(props.get("root_device_name") or "/dev/sda1"),
            "VirtualizationType": "hvm", "Hypervisor": "xen",
            "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances",
            "BlockDeviceMappings": [], "Tags": list(tags or []),
            "StateReason": ({"Code": "Client.ImageFailed", "Message": "The upload failed."}
                            if image.status == "killed" else None)}


class Images(Handler):
    def __init__(self, deps: Ec2Deps) -> None:
        super().__init__(deps)
        self.tags: TagService = deps.tags

    # ---- lookups -------------------------------------------------------
    def _visible(self, ctx: RequestContext) -> list[ImageView]:
        """Every image the caller may launch: public and community ones, its
        own, and those shared with its project (unless it rejected them)."""
        views: list[ImageView] = []
        marker: str | None = None
        while True:
            query = ImageQuery(visibility="all", member_status="all", limit=MAX_LIMIT,
                               sort=[("id", "asc")], marker=marker)
            chunk, more = self.deps.images.list_images(ctx, query)
            views.extend(v for v in chunk if v.member_status != "rejected")
            if not more or not chunk:
                return views
            marker = chunk[-1].image.id

    def _by_ami(self, ctx: RequestContext, amis: Sequence[str]) -> list[tuple[str, ImageView]]:
        """The images named by ``amis`` (all of them, or MalformedId / NotFound)."""
        wanted = [canonical_id(Kind.IMAGE, v) for v in amis]
        uuids = self.deps.ids.os_uuids_for(Kind.IMAGE, wanted)
        out: list[tuple[str, ImageView]] = []
        missing: list[str] = []
        for ami in dict.fromkeys(wanted):
            uuid = uuids.get(ami)
            try:
                if uuid is None:
                    raise errors.NotFound(kind="image", id=ami)
                out.append((ami, self.deps.images.show(ctx, uuid)))
            except errors.NotFound:
                missing.append(ami)
        if missing:
            raise errors.NotFound(f"{', '.join(missing)} not found", kind="image",
                                  ids=missing)
        return out

    def _one(self, ctx: RequestContext, value: str | None) -> tuple[str, Image]:
        if not value:
            raise Ec2Error("MissingParameter", "The request must contain the parameter ImageId")
        ami, view = self._by_ami(ctx, [value])[0]
        return ami, view.image

    def _members(self, ctx: RequestContext, image: Image) -> list[str]:
        """Project ids the image is shared with (an owner's or admin's view)."""
        if image.visibility != "shared":
            return []
        return [m.member_id for m in self.deps.images.members.list(ctx, image.id)
                if m.status != "rejected"]

    # ---- DescribeImages -----------------------------------------------
    @action("DescribeImages", rules=(GET_IMAGES,))
    def describe_images(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        image_ids = call.get("ImageIds", [])
        max_results = call.get("MaxResults")
        reject_ids_with_max_results(image_ids, max_results, "imageIds")
        if max_results is not None and not 1 <= max_results <= 1000:
            raise Ec2Error("InvalidParameterValue",
                           f"Value ( {max_results} ) for parameter maxResults is invalid. "
                           "Expecting a value between 1 and 1000.")
        if image_ids:
            pairs = self._by_ami(ctx, image_ids)
        else:
            views = self._visible(ctx)
            ids = self.deps.ids.ec2_ids_for(
                Kind.IMAGE, [(v.image.id, v.image.owner or "") for v in views])
            pairs = [(ids[v.image.id], v) for v in views]
        if not image_ids and not call.get("IncludeDisabled"):
            # Deactivated images, as AWS's disabled AMIs, are listed on request.
            pairs = [(a, v) for a, v in pairs if v.image.status != "deactivated"]
        owners = self.accounts(v.image.owner or "" for _, v in pairs)
        pairs = self._by_owner(ctx, pairs, call.get("Owners", []), owners)
        pairs = self._by_executable(ctx, pairs, call.get("ExecutableUsers", []))
        tags = self.tags.tags_of(ctx, Kind.IMAGE, [v.image.id for _, v in pairs])
        views_out = FILTERS.apply([ebs_images.describe(self, ctx, v.image, image_view(
            v.image, ami, owners[v.image.owner or ""], tags[v.image.id])) for ami, v in pairs],
                                  self.owner_filters(call.get("Filters")))
        views_out.sort(key=lambda i: i["ImageId"])
        chunk, token = page(views_out, lambda i: i["ImageId"], max_results,
                            call.get("NextToken"))
        return {"Images": chunk, "NextToken": token}

    @staticmethod
    def _by_owner(ctx: RequestContext, pairs: list[tuple[str, ImageView]],
                  owners: Iterable[str], accounts: Mapping[str, str]
                  ) -> list[tuple[str, ImageView]]:
        """Images owned by one of ``owners``: ``self``, account ids or project
        ids (``accounts``: the owners' account ids by project id)."""
        wanted = {ctx.project_id if o == "self" else o for o in owners}
        if not wanted:
            return pairs
        return [(a, v) for a, v in pairs if v.image.owner in wanted
                or accounts.get(v.image.owner or "") in wanted]

    def _by_executable(self, ctx: RequestContext, pairs: list[tuple[str, ImageView]],
                       users: Iterable[str]) -> list[tuple[str, ImageView]]:
        """``all``: public images; ``self`` (or the caller's account or project
        id): images shared with the caller; another account or project id:
        images shared with it (the caller knows the members of its own images
        only)."""
        named = self.deps.ids.accounts.project_ids_named(
            ctx.project_id or "" if u == "self" else u for u in users)
        wanted = set(named.values())
        if not wanted:
            return pairs
        out = []
        for ami, view in pairs:
            image = view.image
            if "all" in wanted and image.visibility in ("public", "community"):
                out.append((ami, view))
            elif ctx.project_id in wanted and view.member_status is not None \
                    and image.owner != ctx.project_id:
                out.append((ami, view))
            elif image.owner == ctx.project_id and image.visibility == "shared" \
                    and wanted & set(self._members(ctx, image)):
                out.append((ami, view))
        return out

    # ---- RegisterImage / CreateImage ----------------------------------
    def _check_unused(self, ctx: RequestContext, name: str) -> None:
        """InvalidAMIName.Duplicate if the project has an image of that name."""
        query = ImageQuery(filters={"name": name, "owner": ctx.project_id or ""},
                           visibility="all", member_status="all", os_hidden=True, limit=1)
        found, _ = self.deps.images.list_images(ctx, query)
        if found:
            ami = self.deps.ids.existing(Kind.IMAGE, [found[0].image.id]).get(
                found[0].image.id, found[0].image.id)
            raise Ec2Error("InvalidAMIName.Duplicate",
                           f"AMI name {name} is already in use by AMI {ami}")

    def _tag_new(self, ctx: RequestContext, image: Image, tags: dict[str, str]) -> str:
        """The new image's AMI ID (minted with the image), after tagging it."""
        ami = self.deps.ids.ec2_id_for(Kind.IMAGE, image.id, image.owner or "")
        if tags:
            self.tags.create(ctx, [Resource(Kind.IMAGE, ami, image.id)], tags)
        return ami

    @action("RegisterImage", rules=(ADD_IMAGE, IMPORT_IMAGE))
    def register_image(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        name = check_name(call.get("Name"))
        location = call.get("ImageLocation")
        if location and call.get("BlockDeviceMappings"):
            raise Ec2Error("InvalidParameterCombination",
                           "ImageLocation and BlockDeviceMapping cannot be used together.")
        if call.get("BlockDeviceMappings"):
            return self._register_ebs(call, name)
        if not location:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter ImageLocation or a "
                           "BlockDeviceMapping with a SnapshotId")
        check_location(self.deps.images, location)
        values = register_values(call, name, location)
        tags = tag_specifications(call, "image")
        check_tags(tags)
        self._check_unused(ctx, name)
        image = self.deps.images.create(ctx, values)
        try:
            self.deps.images.data.import_image(
                ctx, image.id, {"name": "web-download", "uri": location})
            ami = self._tag_new(ctx, image, tags)
        except BaseException:
            self.deps.images.delete(ctx, image.id)  # no half-registered AMI
            raise
        return {"ImageId": ami}

    def _register_ebs(self, call: Call, name: str) -> dict[str, Any]:
        """An EBS-backed AMI (``ebs_images``): no data, its mappings as Nova's."""
        ctx = call.ctx
        values = register_values(call, name, "")
        root = values.get("root_device_name")
        mappings = ebs_images.ebs_mappings(self, ctx, call.get("BlockDeviceMappings"), root)
        values.update(ebs_images.register_properties(mappings, root))
        tags = tag_specifications(call, "image")
        check_tags(tags)
        self._check_unused(ctx, name)
        image = self.deps.images.create(ctx, values)
        try:
            self.deps.images.data.upload(ctx, image.id, iter([b""]), declared_size=0)
            ami = self._tag_new(ctx, image, tags)
        except BaseException:
            self.deps.images.delete(ctx, image.id)  # no half-registered AMI
            raise
        return {"ImageId": ami}

    @action("CreateImage", rules=(CREATE_IMAGE,))
    def create_image(self, call: Call) -> dict[str, Any]:
        ctx = call.ctx
        value = call.get("InstanceId")
        if not value:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter instanceId")
        instance_id = canonical_id(Kind.INSTANCE, value)
        name = check_name(call.get("Name"))
        if call.get("BlockDeviceMappings"):
            raise Ec2Error("InvalidParameterValue",
                           "Block device mappings are not supported by this cloud.")
        tags = tag_specifications(call, "image")
        check_tags(tags)
        inst = self.deps.servers.get(ctx, self.os_id(Kind.INSTANCE, instance_id),
                                     "os_compute_api:servers:show")
        if inst.project_id != ctx.project_id:  # an admin's view of another project's
            raise errors.NotFound(kind="instance", id=instance_id)
        self._check_unused(ctx, name)
        metadata = {}
        if call.get("Description") is not None:
            metadata["description"] = call.get("Description")
        image_id = self.deps.server_actions.create_image(ctx, inst.uuid, name, metadata)
        image = self.deps.images.show(ctx, image_id).image
        return {"ImageId": self._tag_new(ctx, image, tags)}

    # ---- DeregisterImage ----------------------------------------------
    @action("DeregisterImage", rules=(DELETE_IMAGE,))
    def deregister_image(self, call: Call) -> dict[str, Any]:
        _, image = self._one(call.ctx, call.get("ImageId"))
        self.deps.images.delete(call.ctx, image.id)
        return {"Return": True}

    # ---- image attributes ---------------------------------------------
    def _owned(self, ctx: RequestContext, value: str | None) -> tuple[str, Image]:
        """An image whose attributes the caller may read or change: its own
        (or any, for an admin); another's visible image is AuthFailure."""
        ami, image = self._one(ctx, value)
        if image.owner != ctx.project_id and not ctx.is_admin:
            raise Ec2Error("AuthFailure", f"Not authorized for image:{ami}")
        return ami, image

    def _launch_permissions(self, ctx: RequestContext, image: Image) -> list[dict[str, str]]:
        """``Group=all``, or the members' account ids."""
        if image.visibility in ("public", "community"):
            return [{"Group": "all"}]
        members = self._members(ctx, image)
        accounts = self.accounts(members)
        return [{"UserId": accounts[m]} for m in members]

    @action("DescribeImageAttribute", rules=(GET_IMAGE,))
    def describe_image_attribute(self, call: Call) -> dict[str, Any]:
        attribute = call.get("Attribute")
        if not attribute:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter Attribute")
        ami, image = self._owned(call.ctx, call.get("ImageId"))
        out: dict[str, Any] = {"ImageId": ami}
        if attribute == "launchPermission":
            out["LaunchPermissions"] = self._launch_permissions(call.ctx, image)
        elif attribute == "description":
            out["Description"] = {"Value": (image.properties or {}).get("description")}
        elif attribute in EMPTY_ATTRIBUTES:
            member = EMPTY_ATTRIBUTES[attribute]
            out[member] = [] if member in ("ProductCodes", "BlockDeviceMappings") else {}
        else:
            raise Ec2Error("InvalidParameterValue",
                           f"Value ({attribute}) for parameter attribute is invalid. "
                           "Unknown attribute.")
        return out

    @action("ModifyImageAttribute", rules=(MODIFY_IMAGE,))
    def modify_image_attribute(self, call: Call) -> None:
        ctx = call.ctx
        ami, image = self._owned(ctx, call.get("ImageId"))
        description = (call.get("Description") or {}).get("Value")
        attribute = call.get("Attribute")
        if description is None and attribute == "description":
            description = call.get("Value")
        if description is not None:
            self.deps.images.update(ctx, image.id, [
                {"op": "add", "path": "/description", "value": description}])
            return None
        add, remove = self._permission_changes(call)
        if not add and not remove:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter LaunchPermission or "
                           "Description")
        self._change_permissions(ctx, ami, image, add, remove)
        return None

    @staticmethod
    def _permission_changes(call: Call) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """(added, removed) launch permissions, from ``LaunchPermission.Add/Remove``
        or the older ``OperationType`` + ``UserId.N`` / ``UserGroup.N``."""
        changes = call.get("LaunchPermission") or {}
        add = list(changes.get("Add") or [])
        remove = list(changes.get("Remove") or [])
        attribute = call.get("Attribute")
        legacy = [{"UserId": u} for u in call.get("UserIds", [])] + \
                 [{"Group": g} for g in call.get("UserGroups", [])]
        if legacy or call.get("OperationType"):
            if attribute not in (None, "launchPermission"):
                raise Ec2Error("InvalidParameterCombination",
                               f"UserId and UserGroup apply to launchPermission, not "
                               f"{attribute}.")
            operation = call.get("OperationType")
            if operation not in ("add", "remove"):
                raise Ec2Error("InvalidParameterValue" if operation else "MissingParameter",
                               "OperationType must be add or remove.")
            (add if operation == "add" else remove).extend(legacy)
        for item in add + remove:
            if item.get("OrganizationArn") or item.get("OrganizationalUnitArn"):
                raise Ec2Error("InvalidParameterValue",
                               "Organizations are not supported by this cloud.")
            if item.get("Group") not in (None, "all"):
                raise Ec2Error("InvalidParameterValue",
                               f"Invalid launch permission group: {item['Group']}; "
                               "only 'all' is known.")
            if not item.get("Group") and not item.get("UserId"):
                raise Ec2Error("InvalidParameterValue",
                               "A launch permission needs a Group or a UserId.")
        return add, remove

    def _change_permissions(self, ctx: RequestContext, ami: str, image: Image,
                            add: list[dict[str, str]], remove: list[dict[str, str]]) -> None:
        images = self.deps.images
        projects = self.deps.ids.accounts.project_ids_named(
            p["UserId"] for p in add + remove if p.get("UserId"))
        add_users = [projects[p["UserId"]] for p in add if p.get("UserId")]
        remove_users = [projects[p["UserId"]] for p in remove if p.get("UserId")]
        visibility = image.visibility
        if any(p.get("Group") == "all" for p in remove) and visibility in ("public",
                                                                          "community"):
            visibility = "shared"
        if add_users and visibility == "private":
            visibility = "shared"
        if any(p.get("Group") == "all" for p in add):
            visibility = "public"
        if add_users and visibility != "shared":
            raise Ec2Error("InvalidParameterCombination",
                           f"Image {ami} is public: everyone may launch it already; "
                           "remove Group=all before granting it to accounts.")
        if visibility != image.visibility:
            image = images.update(ctx, image.id, [{"op": "replace", "path": "/visibility",
                                                   "value": visibility}])
        current = set(self._members(ctx, image))
        for user in dict.fromkeys(add_users):
            if user in current:
                continue
            try:
                images.members.add(ctx, image.id, user, accepted=True)
            except errors.Conflict:  # a membership the project had rejected
                images.members.delete(ctx, image.id, user)
                images.members.add(ctx, image.id, user, accepted=True)
        for user in dict.fromkeys(remove_users):
            try:
                images.members.delete(ctx, image.id, user)
            except errors.NotFound:
                pass  # not a member: the outcome asked for
        if image.visibility == "shared" and not self._members(ctx, image):
            images.update(ctx, image.id, [{"op": "replace", "path": "/visibility",
                                           "value": "private"}])

    @action("ResetImageAttribute", rules=(MODIFY_IMAGE,))
    def reset_image_attribute(self, call: Call) -> None:
        """``launchPermission`` back to its default: private, no members."""
        if call.get("Attribute") != "launchPermission":
            raise Ec2Error("InvalidParameterValue",
                           f"Value ({call.get('Attribute')}) for parameter attribute is "
                           "invalid. Only launchPermission can be reset.")
        ami, image = self._owned(call.ctx, call.get("ImageId"))
        users = [p["UserId"] for p in self._launch_permissions(call.ctx, image)
                 if p.get("UserId")]
        self._change_permissions(call.ctx, ami, image, [],
                                 [{"Group": "all"}] + [{"UserId": u} for u in users])
        return None
