"""Image pre-caching on an aggregate's hosts (``POST /os-aggregates/{id}/images``,
compute microversion 2.81).

As in Nova, every image must exist (and be visible to the caller) before any host
is bothered; then each host of the aggregate is asked, by a cast to its agent, to
fetch the images into its local cache. Nova's conductor fans the request out and
reports progress in ``aggregate.cache_images.*`` notifications; here the API casts
to each agent itself (a cast is cheap and an aggregate has tens of hosts, not
thousands) and each agent logs what it cached.
"""

from __future__ import annotations

from core import errors
from core.compute.aggregates import AggregateService
from core.compute.rpcapi import AgentClient
from core.context import RequestContext
from core.image.service import ImageService
from core.policy import PolicyEnforcer


class AggregateImageCache:
    def __init__(self, policy: PolicyEnforcer, aggregates: AggregateService,
                 images: ImageService, agents: AgentClient) -> None:
        self.policy = policy
        self.aggregates = aggregates
        self.images = images
        self.agents = agents

    def cache_images(self, ctx: RequestContext, aggregate_id: int | str,
                     image_ids: list[str]) -> list[str]:
        """Ask every host of the aggregate to cache ``image_ids``; the hosts asked.
        InvalidInput for a repeated or unknown image, NotFound for the aggregate."""
        self.policy.enforce("os_compute_api:os-aggregates:images", {}, ctx)
        if len(set(image_ids)) != len(image_ids):
            raise errors.InvalidInput("Duplicate images in request")
        aggregate = self.aggregates.get_unchecked(aggregate_id)
        for image_id in image_ids:
            try:
                self.images.show(ctx, image_id)
            except errors.NotFound:
                raise errors.InvalidInput(f"Image {image_id} could not be found.",
                                          param="cache") from None
        for host in aggregate.hosts:
            self.agents.cache_images(host, image_ids)
        return list(aggregate.hosts)
