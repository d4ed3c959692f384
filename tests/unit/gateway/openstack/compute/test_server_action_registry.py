"""The server action registry: an action bounded by microversions (Nova removed
the multinic actions at 2.44) answers 404 outside its range, as Nova's
VersionNotFoundForAPIMethod; an action nobody registered is a 400."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core import errors
from gateway.openstack.compute import microversions, server_actions_move  # noqa: F401
from gateway.openstack.compute.server_actions import ACTIONS, dispatch

# dispatch looks the server up first; here every server is found
FOUND = SimpleNamespace(servers=SimpleNamespace(find=lambda ctx, server_id: None))


def test_move_actions_are_registered_with_their_bounds():
    assert ACTIONS["addFixedIp"].until == (2, 43)
    assert ACTIONS["removeFixedIp"].until == (2, 43)
    for name in ("shelve", "shelveOffload", "unshelve", "rebuild", "migrate",
                 "os-migrateLive", "evacuate", "createBackup"):
        assert ACTIONS[name].since is None and ACTIONS[name].until is None


def test_an_action_past_its_last_microversion_is_not_found():
    token = microversions.VERSIONS._current.set(microversions.APIVersion(2, 44))
    try:
        with pytest.raises(errors.NotFound):
            dispatch(FOUND, None, "id", {"addFixedIp": {"networkId": "n"}})  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidInput, match="no such action: hibernate"):
            dispatch(FOUND, None, "id", {"hibernate": None})  # type: ignore[arg-type]
    finally:
        microversions.VERSIONS._current.reset(token)
