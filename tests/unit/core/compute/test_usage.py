"""core/compute/usage.py: what a flavor counts against quota, what a resize adds
and a confirmed downsize frees, and the resize's placement consumer."""

from __future__ import annotations

import uuid

from core.compute.usage import grown, migration_consumer, quota_deltas, shrunk

TINY = {"vcpus": 1, "memory_mb": 512}
LARGE = {"vcpus": "4", "memory_mb": "8192"}  # snapshots may hold strings


def test_quota_deltas():
    assert quota_deltas(TINY) == {"instances": 1, "cores": 1, "ram": 512}
    assert quota_deltas(LARGE, 3) == {"instances": 3, "cores": 12, "ram": 24576}


def test_grown_and_shrunk_are_never_negative():
    assert grown(TINY, LARGE) == {"cores": 3, "ram": 7680}
    assert grown(LARGE, TINY) == {"cores": 0, "ram": 0}
    assert shrunk(LARGE, TINY) == {"cores": 3, "ram": 7680}
    assert shrunk(TINY, LARGE) == {"cores": 0, "ram": 0}
    mixed = {"vcpus": 8, "memory_mb": 256}
    assert grown(TINY, mixed) == {"cores": 7, "ram": 0}
    assert shrunk(TINY, mixed) == {"cores": 0, "ram": 256}


def test_migration_consumer_is_stable_and_distinct():
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    assert migration_consumer(a) == migration_consumer(a)
    assert migration_consumer(a) != migration_consumer(b)
    assert migration_consumer(a) != a and uuid.UUID(migration_consumer(a)).version == 5
