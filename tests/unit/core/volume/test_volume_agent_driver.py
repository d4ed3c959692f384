import pytest

from core.volume.agent.driver import PoolSpec, SimulatedStorage, StorageError, parse_pools


def test_pool_specs_parse():
    assert parse_pools("a:100:thin, b:50,c:10:thick:0.5") == [
        PoolSpec("a", 100, True), PoolSpec("b", 50, False), PoolSpec("c", 10, False, 0.5)]
    for bad in ("a", ":10", "a:x", "a:10:fat", "a:10:thin:2"):
        with pytest.raises(ValueError):
            PoolSpec.parse(bad)


def test_thick_pool_fills_and_thin_does_not():
    storage = SimulatedStorage([PoolSpec("thick", 10), PoolSpec("thin", 10, thin=True)])
    storage.create_volume("v1", "thick", 10)
    with pytest.raises(StorageError):
        storage.create_volume("v2", "thick", 1)
    storage.create_volume("v3", "thin", 100)
    stats = {p["pool_name"]: p for p in storage.pool_stats()}
    assert stats["thick"]["free_capacity_gb"] == 0
    assert stats["thin"]["free_capacity_gb"] == 10
    assert stats["thin"]["allocated_capacity_gb"] == 100
    assert stats["thin"]["thin_provisioning_support"] is True


def test_operations_are_idempotent_and_failures_follow_the_rate():
    storage = SimulatedStorage([PoolSpec("a", 10), PoolSpec("bad", 10, failure_rate=1.0)])
    storage.create_volume("v1", "a", 1)
    storage.create_volume("v1", "a", 1)
    with pytest.raises(StorageError, match="simulated failure"):
        storage.create_volume("v2", "bad", 1)
    with pytest.raises(StorageError):
        storage.create_volume("v3", "nowhere", 1)
    storage.create_snapshot("s1", "v1", 1)
    with pytest.raises(StorageError, match="snapshots"):
        storage.delete_volume("v1")
    storage.delete_snapshot("s1")
    storage.delete_volume("v1")
    storage.delete_volume("v1")
    assert storage.volumes == {}
