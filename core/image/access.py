"""The check every image operation starts with: load the image if the caller
may see it (Glance's visibility, else not found) and enforce the operation's
rule on it (Glance's target: owner, visibility, the caller as member)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.image.models import Image, ImageMember
from core.image.visibility import ImageView, can_see
from core.policy import PolicyEnforcer


def image_target(image: Image, ctx: RequestContext, member: bool = False) -> dict[str, Any]:
    """Glance's policy target: owner, visibility, and the caller as member."""
    out: dict[str, Any] = {"visibility": image.visibility}
    if image.owner:
        out["project_id"] = image.owner
    if member and ctx.project_id:
        out["member_id"] = ctx.project_id
    return out


class ImageAccess:
    def __init__(self, policy: PolicyEnforcer) -> None:
        self.policy = policy

    def load(self, s: Session, ctx: RequestContext, image_id: str, rule: str) -> ImageView:
        """The image if the caller may see it (else NotFound), with ``rule`` enforced."""
        image = s.get(Image, image_id)
        status = _member_status(s, image_id, ctx.project_id) if image else None
        if image is None or not can_see(ctx, image, status):
            raise errors.NotFound(f"No image found with ID {image_id}", kind="image",
                                  id=image_id)
        self.policy.enforce(rule, image_target(image, ctx, status is not None), ctx)
        return ImageView(image, status)


def _member_status(s: Session, image_id: str, project_id: str | None) -> str | None:
    if not project_id:
        return None
    m = s.get(ImageMember, (image_id, project_id))
    return m.status if m else None
