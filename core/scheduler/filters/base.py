"""The contract every host filter meets."""

from __future__ import annotations

from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec
from core.settings import Settings


class HostFilter:
    """Decides whether one host may take one instance of a request.

    Filters are built once per scheduler from the settings (they read what they
    need in ``__init__``, never global configuration) and must not keep state
    between calls.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def applies_to(self, spec: RequestSpec) -> bool:
        """False when the filter passes every host for ``spec`` and may be skipped."""
        return True

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        """True when ``host_state`` may take one instance of ``spec``."""
        raise NotImplementedError
