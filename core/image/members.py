"""Image sharing: members of a ``shared`` image and their accept/reject status."""

from __future__ import annotations

from sqlalchemy import func, select

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.image.models import Image, ImageMember
from core.image.visibility import MEMBER_STATUSES
from core.policy import PolicyEnforcer

MAX_MEMBERS = 128


class MemberService:
    def __init__(self, db: Database, policy: PolicyEnforcer, load) -> None:
        self.db = db
        self.policy = policy
        self.load = load  # ImageAccess.load: visibility + policy

    def add(self, ctx: RequestContext, image_id: str, member_id: str,
            accepted: bool = False) -> ImageMember:
        """Share the image with ``member_id``, pending its acceptance; or, with
        ``accepted``, accepted already (EC2's launch permissions have no accept
        step: the owner's grant is the whole of it)."""
        with self.db.session() as s:
            image: Image = self.load(s, ctx, image_id, "image:add_member").image
            if image.owner != ctx.project_id and not ctx.is_admin:
                raise errors.Forbidden("Only the image owner can share it.")
            if image.visibility != "shared":
                raise errors.Forbidden(f"Only shared images have members; image {image_id} "
                                       f"is {image.visibility}.")
            if s.get(ImageMember, (image_id, member_id)) is not None:
                raise errors.Conflict(f"Member {member_id} already exists on image "
                                      f"{image_id}.")
            count = s.scalar(select(func.count()).select_from(ImageMember)
                             .where(ImageMember.image_id == image_id)) or 0
            if count >= MAX_MEMBERS:
                raise errors.PayloadTooLarge(f"Maximum number of members ({MAX_MEMBERS}) "
                                             "reached.")
            member = ImageMember(image_id=image_id, member_id=member_id,
                                 status="accepted" if accepted else "pending")
            s.add(member)
            return member

    def list(self, ctx: RequestContext, image_id: str) -> list[ImageMember]:
        """The owner (and admins) see every member; a member sees itself only."""
        with self.db.session() as s:
            image: Image = self.load(s, ctx, image_id, "image:get_members").image
            if image.visibility != "shared":
                raise errors.Forbidden(f"Only shared images have members; image {image_id} "
                                       f"is {image.visibility}.")
            q = select(ImageMember).where(ImageMember.image_id == image_id)
            if image.owner != ctx.project_id and not ctx.is_admin:
                q = q.where(ImageMember.member_id == ctx.project_id)
            return list(s.scalars(q.order_by(ImageMember.created_at)))

    def _visible_member(self, ctx: RequestContext, image: Image, member_id: str, s
                        ) -> ImageMember:
        member = s.get(ImageMember, (image.id, member_id))
        if member is None or (image.owner != ctx.project_id and not ctx.is_admin
                              and member_id != ctx.project_id):
            raise errors.NotFound(f"Member {member_id} not found on image {image.id}.")
        return member

    def get(self, ctx: RequestContext, image_id: str, member_id: str) -> ImageMember:
        with self.db.session() as s:
            image: Image = self.load(s, ctx, image_id, "image:get_member").image
            return self._visible_member(ctx, image, member_id, s)

    def update(self, ctx: RequestContext, image_id: str, member_id: str,
               status: str) -> ImageMember:
        if status not in MEMBER_STATUSES:
            raise errors.InvalidInput(f"Invalid status: {status}; expected one of "
                                      f"{', '.join(MEMBER_STATUSES)}.")
        with self.db.session() as s:
            image: Image = self.load(s, ctx, image_id, "image:get_image").image
            member = self._visible_member(ctx, image, member_id, s)
            self.policy.enforce("image:modify_member", {"member_id": member_id,
                                                        "project_id": image.owner or ""}, ctx)
            if member_id != ctx.project_id and not ctx.is_admin:
                raise errors.Forbidden("Only the member itself can accept or reject an image.")
            member.status, member.updated_at = status, utcnow()
            return member

    def delete(self, ctx: RequestContext, image_id: str, member_id: str) -> None:
        with self.db.session() as s:
            image: Image = self.load(s, ctx, image_id, "image:delete_member").image
            if image.owner != ctx.project_id and not ctx.is_admin:
                raise errors.Forbidden("Only the image owner can remove members.")
            s.delete(self._visible_member(ctx, image, member_id, s))
