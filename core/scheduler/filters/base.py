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

    def traits_only(self, spec: RequestSpec) -> bool:
        """True when, for ``spec``, the filter reads only the host's traits
        (``host_state.TRAIT_FIELDS``): hosts with equal ``traits`` get the same
        answer, so the scheduler asks once per traits."""
        return False

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        """True when ``host_state`` may take one instance of ``spec``."""
        raise NotImplementedError

    def filter_all(self, hosts: list[HostState], spec: RequestSpec) -> list[HostState]:
        """The hosts that pass, in order (as Nova's ``filter_all``). A filter
        checked on every host of a large cloud says the same in one expression."""
        return [h for h in hosts if self.host_passes(h, spec)]
