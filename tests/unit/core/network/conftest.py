"""Fixtures of the network service tests: the core services on a SQLite
database of the test's own, with small address ranges (five usable fixed and
five floating addresses) so that exhaustion is quick to reach."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.services import CoreServices
from tests.support.core_services import RecordingBus, make_core

FIXED_RANGE = "10.9.0.0/29"  # .2 to .6: the network, gateway and broadcast are not handed out
FLOATING_RANGE = "203.0.113.0/29"  # .2 to .6: the first host is the range's gateway


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
def core(tmp_path, bus) -> Iterator[CoreServices]:
    services = make_core(tmp_path, bus, fixed_range=FIXED_RANGE,
                         floating_range=FLOATING_RANGE, network_name="private")
    yield services
    services.db.dispose()
