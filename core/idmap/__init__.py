"""The EC2 dialect's names for OpenStack objects, kept apart from every domain.

- ``ids``: the stable EC2 ID of each object (``i-…``, ``ami-…``, ``key-…``),
  minted in the transaction that creates the object;
- ``accounts``: each project's twelve-digit AWS-style account id, EC2's
  ``OwnerId``, minted on first sight;
- ``tag_table``: the EC2 tags of kinds that keep no key/value store of their
  own, read by describe calls and dropped with their object.

This package imports only ``core.db`` and ``core.errors``, so that every
domain (compute, image, network, volume) may mint and forget IDs without
knowing each other. The tagging service, which reaches into those domains,
is :mod:`core.tagging`, above them.
"""
