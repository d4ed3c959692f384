"""Image metadata: create, list, show, update (JSON patch), delete, tags,
deactivate / reactivate. Data transfer lives in core.image.data, sharing in
core.image.members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.tag_table import forget_tags
from core.image import listing, patch
from core.image.access import ImageAccess, image_target
from core.image.data import ImageData
from core.image.members import MemberService
from core.image.models import Image, ImageMember, new_image_id
from core.image.stores import ImageStore, ObjectMissing, store_for_location
from core.image.visibility import ImageView
from core.policy import PolicyEnforcer


class ImageService:
    """Image records; their data (``data``) and sharing (``members``) are
    services of their own, built beside it and reached through it."""

    def __init__(self, db: Database, policy: PolicyEnforcer, access: ImageAccess,
                 data: ImageData, members: MemberService,
                 stores: dict[str, ImageStore]) -> None:
        self.db = db
        self.policy = policy
        self.access = access
        self.data = data
        self.members = members
        self.stores = stores

    @property
    def default_store(self) -> str:
        return self.data.default_store

    def load(self, s: Session, ctx: RequestContext, image_id: str, rule: str) -> ImageView:
        """The image if the caller may see it (else 404), with ``rule`` enforced."""
        return self.access.load(s, ctx, image_id, rule)

    # ---- create / show / list -----------------------------------------
    def create(self, ctx: RequestContext, values: dict[str, Any]) -> Image:
        values = dict(values)
        owner = values.pop("owner", None) or ctx.project_id
        self.policy.enforce("image:add_image", {"project_id": owner}, ctx)
        if owner != ctx.project_id and not ctx.is_admin:
            raise errors.Forbidden("You are not permitted to create images owned by "
                                   f"'{owner}'.")
        visibility = values.get("visibility", "shared")
        if visibility == "public":
            self.policy.enforce("image:publicize_image", {"project_id": owner}, ctx)
        if visibility == "community":
            self.policy.enforce("image:communitize_image", {"project_id": owner}, ctx)
        image = Image(id=values.pop("id", None) or new_image_id(), owner=owner,
                      status="queued", tags=[], properties={})
        patch.apply_create(image, values)
        with self.db.session() as s:
            if s.get(Image, image.id) is not None:
                raise errors.Conflict(f"An image with identifier {image.id} already exists")
            s.add(image)
            s.flush()
            # Its EC2 ID (ami-…), so that no EC2 describe has to write.
            mint_new(s, Kind.IMAGE, [(image.id, owner or "")])
        return image

    def show(self, ctx: RequestContext, image_id: str) -> ImageView:
        with self.db.session() as s:
            return self.load(s, ctx, image_id, "image:get_image")

    def list_images(self, ctx: RequestContext, query: listing.ImageQuery) -> tuple[list[ImageView], bool]:
        """A page of images and whether another page follows."""
        self.policy.enforce("image:get_images", {"project_id": ctx.project_id}, ctx)
        with self.db.session() as s:
            images, more = listing.page(s, ctx, query)
            statuses = {}
            if ctx.project_id and images:
                statuses = dict(s.execute(select(ImageMember.image_id, ImageMember.status).where(
                    ImageMember.member_id == ctx.project_id,
                    ImageMember.image_id.in_([i.id for i in images]))).all())
            return [ImageView(i, statuses.get(i.id)) for i in images], more

    # ---- update --------------------------------------------------------
    def update(self, ctx: RequestContext, image_id: str, ops: list[dict[str, Any]]) -> Image:
        with self.db.session() as s:
            view = self.load(s, ctx, image_id, "image:get_image")
            image = view.image
            self.policy.enforce("image:modify_image", image_target(image, ctx), ctx)
            before = image.visibility
            changes = patch.apply_patch(image, ops, is_admin=ctx.is_admin)
            if image.visibility != before:
                if image.visibility == "public":
                    self.policy.enforce("image:publicize_image", image_target(image, ctx), ctx)
                if image.visibility == "community":
                    self.policy.enforce("image:communitize_image", image_target(image, ctx),
                                        ctx)
            if changes.locations is not None:
                self.policy.enforce("image:set_image_location", image_target(image, ctx), ctx)
            image.updated_at = utcnow()
        if changes.locations is not None:
            return self.data.set_location(ctx, image_id, changes.locations)
        return image

    def add_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        if not 0 < len(tag) <= 255:
            raise errors.InvalidInput("Tags are 1 to 255 characters long.")
        with self.db.session() as s:
            image = self.load(s, ctx, image_id, "image:add_tag").image
            if tag not in image.tags:
                if len(image.tags) >= 128:
                    raise errors.PayloadTooLarge("Maximum number of tags exceeded (128).")
                image.tags = [*image.tags, tag]
                image.updated_at = utcnow()

    def delete_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        with self.db.session() as s:
            image = self.load(s, ctx, image_id, "image:delete_tag").image
            if tag not in image.tags:
                raise errors.NotFound(f"Tag {tag} not found")
            image.tags = [t for t in image.tags if t != tag]
            image.updated_at = utcnow()

    # ---- delete / (de)activate ----------------------------------------
    def delete(self, ctx: RequestContext, image_id: str) -> None:
        """Delete the data first, then the record: if the store fails, the image
        stays (and the delete can be retried) rather than leaving orphaned data."""
        with self.db.session() as s:
            image = self.load(s, ctx, image_id, "image:delete_image").image
            if image.protected:
                raise errors.Forbidden(f"Image {image_id} is protected and cannot be deleted.")
            if image.status in ("saving", "importing"):
                raise errors.Conflict(f"Image {image_id} is being uploaded; retry later.")
            location, store_id = image.location, image.store
        if location and store_id in self.stores and not self.stores[store_id].read_only:
            try:
                store_for_location(self.stores, location).delete(location)
            except ObjectMissing:
                pass  # already gone: nothing to clean up
        with self.db.session() as s:
            gone = s.get(Image, image_id)
            if gone is not None:
                forget(s, Kind.IMAGE, [image_id])
                forget_tags(s, Kind.IMAGE, [image_id])
                s.delete(gone)

    def _set_status(self, ctx: RequestContext, image_id: str, rule: str, frm: str,
                    to: str) -> None:
        with self.db.session() as s:
            image = self.load(s, ctx, image_id, rule).image
            if image.status == to:
                return
            if image.status != frm:
                raise errors.Forbidden(f"Not allowed to change image {image_id} to {to} in "
                                       f"status {image.status}.")
            image.status, image.updated_at = to, utcnow()

    def deactivate(self, ctx: RequestContext, image_id: str) -> None:
        self._set_status(ctx, image_id, "image:deactivate", "active", "deactivated")

    def reactivate(self, ctx: RequestContext, image_id: str) -> None:
        self._set_status(ctx, image_id, "image:reactivate", "deactivated", "active")
