"""Glance's rules for who sees which image, as SQL conditions and checks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.sql import ColumnElement

from core.context import RequestContext
from core.image.models import Image, ImageMember

VISIBILITIES = ("public", "private", "shared", "community")


@dataclass
class ImageView:
    """An image as the caller may see it (with the caller's member status)."""

    image: Image
    member_status: str | None = None
MEMBER_STATUSES = ("pending", "accepted", "rejected")


def _shared_with(project_id: str | None, statuses: tuple[str, ...]) -> ColumnElement[bool]:
    members = select(ImageMember.image_id).where(ImageMember.member_id == project_id,
                                                 ImageMember.status.in_(statuses))
    return and_(Image.visibility == "shared", Image.id.in_(members))


def listed(ctx: RequestContext, visibility: str | None, member_status: str) -> ColumnElement[bool]:
    """What ``GET /v2/images`` lists for the caller, given the filters.

    Without a visibility filter: public images, the caller's own, and images
    shared with the caller's project whose membership has ``member_status``
    (accepted by default). Community images are listed only when asked for,
    or to their owner. Admins see every image.
    """
    statuses = MEMBER_STATUSES if member_status == "all" else (member_status,)
    project = ctx.project_id
    if ctx.is_admin:
        if visibility in (None, "all"):
            return Image.id.is_not(None)
        return Image.visibility == visibility
    own = Image.owner == project
    if visibility == "public":
        return Image.visibility == "public"
    if visibility == "private":
        return and_(own, Image.visibility == "private")
    if visibility == "community":
        return Image.visibility == "community"
    if visibility == "shared":
        return or_(and_(own, Image.visibility == "shared"), _shared_with(project, statuses))
    base = or_(Image.visibility == "public", own, _shared_with(project, statuses))
    if visibility == "all":
        return or_(base, Image.visibility == "community")
    return base


def can_see(ctx: RequestContext, image: Image, member_status: str | None) -> bool:
    """Whether the caller may see one image by id (any membership status will do)."""
    if ctx.is_admin or image.owner == ctx.project_id:
        return True
    if image.visibility in ("public", "community"):
        return True
    return image.visibility == "shared" and member_status is not None
