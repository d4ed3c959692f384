"""Fixtures of the compute service tests: every core service on a SQLite
database of the test's own, a bus that records casts (no conductor runs), the
default flavors and one public image."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.services import CoreServices
from tests.support.core_services import RecordingBus, add_image, make_core


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
def core(tmp_path, bus) -> Iterator[CoreServices]:
    services = make_core(tmp_path, bus, fixed_range="10.9.0.0/28")
    add_image(services.db)
    yield services
    services.db.dispose()
