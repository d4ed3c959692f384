"""Volume types (default, private, extra specs) and the Block Storage API's
quotas and limits; the bus clients' message shapes; the policy rule names."""

from __future__ import annotations

import pytest

from core import errors
from core.policy.defaults import all_defaults
from core.volume import rpcapi
from core.volume.errors import (
    InvalidInput,
    InvalidVolumeType,
    VolumeTypeExists,
    VolumeTypeNotFound,
)
from core.volume.models import DEFAULT_TYPE
from tests.support.core_services import ADMIN, MEMBER, OTHER, RecordingBus
from tests.unit.core.volume.conftest import place


# ---- types ----------------------------------------------------------------------------
def test_the_default_type_exists_and_cannot_go(vs):
    default = vs.types.default(MEMBER)
    assert default.name == DEFAULT_TYPE
    assert vs.types.get(MEMBER, "default").id == default.id
    with pytest.raises(InvalidVolumeType):
        vs.types.delete(ADMIN, default.id)


def test_types_are_made_by_admins(vs):
    with pytest.raises(errors.Forbidden):
        vs.types.create(MEMBER, "gold")
    gold = vs.types.create(ADMIN, "gold", description="fast",
                           extra_specs={"volume_backend_name": "lvm", "multiattach": "<is> True"})
    with pytest.raises(VolumeTypeExists):
        vs.types.create(ADMIN, "gold")
    assert {t.name for t in vs.types.list(MEMBER)} == {DEFAULT_TYPE, "gold"}
    assert vs.types.extra_specs(MEMBER, gold.id) == {"multiattach": "<is> True"}
    assert vs.types.extra_specs(ADMIN, gold.id)["volume_backend_name"] == "lvm"
    assert vs.types.set_extra_specs(ADMIN, gold.id, {"a": "b"})["a"] == "b"
    vs.types.unset_extra_spec(ADMIN, gold.id, "a")
    with pytest.raises(errors.NotFound):
        vs.types.unset_extra_spec(ADMIN, gold.id, "a")
    assert vs.types.update(ADMIN, gold.id, name="platinum").name == "platinum"
    with pytest.raises(InvalidInput):
        vs.types.create(ADMIN, "  ")


def test_private_types(vs):
    secret = vs.types.create(ADMIN, "secret", is_public=False)
    assert "secret" not in {t.name for t in vs.types.list(MEMBER)}
    with pytest.raises(VolumeTypeNotFound):
        vs.types.get(MEMBER, secret.id)
    vs.types.add_project_access(ADMIN, secret.id, "p1")
    assert vs.types.access(ADMIN, secret.id) == ["p1"]
    assert vs.types.get(MEMBER, secret.id).id == secret.id
    assert "secret" not in {t.name for t in vs.types.list(OTHER)}
    vs.types.remove_project_access(ADMIN, secret.id, "p1")
    with pytest.raises(VolumeTypeNotFound):
        vs.types.get(MEMBER, secret.id)
    assert {t.name for t in vs.types.list(ADMIN, is_public=False)} == {"secret"}


def test_a_type_in_use_cannot_be_deleted(vs, core):
    gold = vs.types.create(ADMIN, "gold")
    vol = vs.volumes.create(MEMBER, size=1, volume_type="gold")
    with pytest.raises(InvalidVolumeType):
        vs.types.delete(ADMIN, gold.id)
    vs.volumes.reset_status(ADMIN, vol.id, status="error")
    vs.volumes.delete(MEMBER, vol.id)
    vs.types.delete(ADMIN, gold.id)
    with pytest.raises(VolumeTypeNotFound):
        vs.types.get(ADMIN, gold.id)


# ---- quotas ---------------------------------------------------------------------------
def test_quota_show_has_cinders_keys(vs):
    shown = vs.quotas.show(MEMBER, "p1")
    assert {k: shown[k] for k in ("volumes", "gigabytes", "snapshots", "backups",
                                  "backup_gigabytes", "groups", "per_volume_gigabytes")} == \
        {"volumes": 10, "gigabytes": 1000, "snapshots": 10, "backups": 10,
         "backup_gigabytes": 1000, "groups": 10, "per_volume_gigabytes": -1}
    assert shown[f"volumes_{DEFAULT_TYPE}"] == -1
    assert vs.quotas.defaults(MEMBER, "p1") == shown
    with pytest.raises(errors.Forbidden):
        vs.quotas.show(MEMBER, "p2")


def test_quota_usage_and_limits(vs, core):
    vol = vs.volumes.create(MEMBER, size=2)
    place(core, vol.id)
    vs.snapshots.create(MEMBER, vol.id)
    detail = vs.quotas.show(MEMBER, "p1", usage=True)
    assert detail["volumes"] == {"limit": 10, "in_use": 1, "reserved": 0}
    assert detail["gigabytes"]["in_use"] == 4 and detail["snapshots"]["in_use"] == 1
    assert vs.quotas.limits(MEMBER) == {
        "maxTotalVolumes": 10, "maxTotalSnapshots": 10, "maxTotalVolumeGigabytes": 1000,
        "maxTotalBackups": 10, "maxTotalBackupGigabytes": 1000, "totalVolumesUsed": 1,
        "totalGigabytesUsed": 4, "totalSnapshotsUsed": 1, "totalBackupsUsed": 0,
        "totalBackupGigabytesUsed": 0}
    with pytest.raises(errors.Forbidden):
        vs.quotas.limits(MEMBER, "p2")
    assert vs.quotas.limits(ADMIN, "p1")["totalVolumesUsed"] == 1


def test_quota_update_and_reset(vs, core):
    with pytest.raises(errors.Forbidden):
        vs.quotas.update(MEMBER, "p1", {"volumes": 5})
    out = vs.quotas.update(ADMIN, "p1", {"volumes": 5, "backups": 3, "gigabytes": "20",
                                         f"gigabytes_{DEFAULT_TYPE}": 7})
    assert (out["volumes"], out["backups"], out["gigabytes"]) == (5, 3, 20)
    assert out[f"gigabytes_{DEFAULT_TYPE}"] == 7
    assert core.quotas.limits_for("p1")["volumes"] == 5
    for bad in ({"bogus": 1}, {"volumes": -2}, {"volumes": "x"}, {}):
        with pytest.raises(InvalidInput):
            vs.quotas.update(ADMIN, "p1", bad)
    vs.volumes.create(MEMBER, size=2)
    with pytest.raises(InvalidInput):
        vs.quotas.update(ADMIN, "p1", {"volumes": 0}, skip_validation=False)
    assert vs.quotas.update(ADMIN, "p1", {"volumes": 0})["volumes"] == 0
    vs.quotas.delete(ADMIN, "p1")
    assert vs.quotas.show(ADMIN, "p1")["volumes"] == 10
    assert vs.quotas.show(ADMIN, "p1")["backups"] == 10


# ---- the bus clients ------------------------------------------------------------------
def test_the_clients_message_shapes():
    bus = RecordingBus()
    rpcapi.VolumeSchedulerClient(bus).create_volume("v1")
    rpcapi.VolumeSchedulerClient(bus).extend_volume("v1", 5)
    agents = rpcapi.VolumeAgentClient(bus)
    agents.delete_volume("n1@lvm", "v1")
    agents.create_snapshot("n1@lvm", "s1", "v1", 2)
    assert bus.casts == [
        ("volume-scheduler", "create_volume", {"volume_id": "v1"}, None),
        ("volume-scheduler", "extend_volume", {"volume_id": "v1", "new_size": 5}, None),
        ("volume-agent", "delete_volume", {"volume_id": "v1"}, "n1@lvm"),
        ("volume-agent", "create_snapshot", {"snapshot_id": "s1", "volume_id": "v1",
                                             "size": 2}, "n1@lvm")]
    assert rpcapi.backend_of("n1@lvm#p") == "n1@lvm" and rpcapi.pool_of("n1@lvm#p") == "p"
    assert rpcapi.backend_of(None) is None and rpcapi.pool_of("n1@lvm") is None
    bus.replies["volume_created"] = {"ok": True}
    assert rpcapi.VolumeManagerClient(bus).volume_created("v1", "n1@lvm#p") == {"ok": True}


def test_rpcapi_imports_no_database_code():
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(rpcapi))
    names = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [n for n in names if n and ("sqlalchemy" in n or n.startswith("core.db")
                                          or n.endswith("models"))]


def test_the_policy_names_other_modules_use_exist():
    names = {r.name for r in all_defaults()}
    assert len(names) == len(all_defaults())
    for name in ("volume:create", "volume:get", "volume:get_all", "volume:update",
                 "volume:delete", "volume:extend", "volume:attachment_create",
                 "volume_extension:volume_admin_actions:reset_status",
                 "volume_extension:quotas:show", "limits_extension:used_limits",
                 "scheduler_extension:scheduler_stats:get_pools",
                 "volume_extension:services:index"):
        assert name in names
