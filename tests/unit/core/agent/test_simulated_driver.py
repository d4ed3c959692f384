"""The simulated hypervisor: the virt-driver contract, console logs, failure injection."""

import pytest

from core.agent.virt import DriverError, build_driver
from core.compute import states

FLAVOR = {"name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1}


def instance(uuid="u1"):
    return {"uuid": uuid, "name": "vm1", "hostname": "vm1", "flavor": FLAVOR}


def test_lifecycle_and_console():
    d = build_driver("simulated", host="h1")
    d.spawn(instance(), {"name": "cirros"})
    d.spawn(instance(), {"name": "cirros"})  # a duplicate request is harmless
    assert d.power_state("u1") == states.RUNNING
    d.power_off(instance())
    assert d.power_state("u1") == states.SHUTDOWN
    d.power_on(instance())
    d.reboot(instance(), hard=True)
    assert d.power_state("u1") == states.RUNNING
    log = d.console_output(instance())
    assert "Booting cirros on h1" in log and "vm1 login:" in log and "Hard reset" in log
    assert d.console_output(instance(), length=1).count("\n") == 1
    assert d.snapshot(instance()).startswith(b"NIMBUS-SIMULATED-DISK")
    d.resize(instance(), {"name": "m1.small", "vcpus": 2, "memory_mb": 2048, "root_gb": 20})
    assert d.list_instances()[0].vcpus == 2
    d.destroy(instance())
    d.destroy(instance())
    assert d.power_state("u1") == states.NOSTATE
    with pytest.raises(DriverError):
        d.power_on(instance())


def test_failure_injection():
    d = build_driver("simulated", host="h1", fail_next=1)
    with pytest.raises(DriverError):
        d.spawn(instance("a"), {})
    d.spawn(instance("b"), {})
    always = build_driver("simulated", host="h2", failure_rate=1.0)
    with pytest.raises(DriverError):
        always.spawn(instance("c"), {})


def test_unknown_driver():
    with pytest.raises(ValueError):
        build_driver("xen")


def test_guests_survive_a_restart_powered_off(tmp_path):
    """A host with a state file keeps its guests' definitions; after a restart the
    guests are there, powered off, as after a host reboot."""
    state = tmp_path / "h1.json"
    d = build_driver("simulated", host="h1", state_file=state)
    d.spawn(instance("u1"), {"name": "cirros"})
    d.spawn(instance("u2"), {"name": "cirros"})
    d.power_off(instance("u2"))
    d.spawn(instance("u3"), {"name": "cirros"})
    d.destroy(instance("u3"))
    again = build_driver("simulated", host="h1", state_file=state)
    assert {i.uuid: i.power_state for i in again.list_instances()} == {
        "u1": states.SHUTDOWN, "u2": states.SHUTDOWN}
    assert "Host restarted: powered off" in again.console_output(instance("u1"))
    again.power_on(instance("u1"))  # and they start again
    assert again.power_state("u1") == states.RUNNING


def test_resume_guests_state_on_host_boot(tmp_path):
    state = tmp_path / "h1.json"
    d = build_driver("simulated", host="h1", state_file=state)
    d.spawn(instance("u1"), {})
    d.spawn(instance("u2"), {})
    d.power_off(instance("u2"))
    again = build_driver("simulated", host="h1", state_file=state, resume_guests=True)
    assert again.power_state("u1") == states.RUNNING
    assert again.power_state("u2") == states.SHUTDOWN


def test_an_unreadable_state_file_starts_empty(tmp_path):
    state = tmp_path / "h1.json"
    state.write_text("{not json")
    assert build_driver("simulated", host="h1", state_file=state).list_instances() == []


def test_without_a_state_file_nothing_is_written(tmp_path):
    d = build_driver("simulated", host="h1")
    d.spawn(instance(), {})
    assert list(tmp_path.iterdir()) == []


def test_volumes_attach_and_detach_once(tmp_path):
    state = tmp_path / "h1.json"
    d = build_driver("simulated", host="h1", state_file=state)
    d.spawn(instance(), {"name": "cirros"})
    d.attach_volume(instance(), "vol-1", "/dev/vdb")
    d.attach_volume(instance(), "vol-1", "/dev/vdb")  # delivered twice
    assert d.list_instances()[0].volumes == {"vol-1": "/dev/vdb"}
    assert d.console_output(instance()).count("attached volume vol-1") == 1
    # the guest's volumes survive a restart of the host, as its definition does
    again = build_driver("simulated", host="h1", state_file=state)
    assert again.list_instances()[0].volumes == {"vol-1": "/dev/vdb"}
    d.detach_volume(instance(), "vol-1")
    d.detach_volume(instance(), "vol-1")
    d.detach_volume({"uuid": "gone"}, "vol-1")
    assert d.list_instances()[0].volumes == {}
    with pytest.raises(DriverError):
        d.attach_volume({"uuid": "gone"}, "vol-1", "/dev/vdb")


def test_pause_suspend_rescue_and_soft_delete(tmp_path):
    d = build_driver("simulated", host="h1", state_file=tmp_path / "h1.json")
    d.spawn(instance(), {"name": "cirros"})
    d.pause(instance())
    d.pause(instance())  # delivered twice: nothing more happens
    assert d.power_state("u1") == states.PAUSED
    with pytest.raises(DriverError, match="is paused: cannot go suspended"):
        d.suspend(instance())
    d.unpause(instance())
    d.suspend(instance())
    assert d.power_state("u1") == states.SUSPENDED
    with pytest.raises(DriverError, match="cannot set the password"):
        d.set_admin_password(instance(), "pw")
    d.resume(instance())
    d.set_admin_password(instance(), "pw")
    (info,) = d.list_instances()
    assert info.admin_password_sha256 and "pw" not in (tmp_path / "h1.json").read_text()
    d.rescue(instance(), {"id": "img-2", "name": "rescue-img"}, "rescue-pw")
    assert d.list_instances()[0].rescue_image == "img-2"
    assert "Booting rescue image rescue-img" in d.console_output(instance())
    d.unrescue(instance())
    assert d.list_instances()[0].rescue_image is None
    assert d.console_output(instance(), length=1).strip().endswith("] vm1 login:")
    d.soft_delete(instance())
    assert d.power_state("u1") == states.SHUTDOWN
    d.restore(instance())
    assert d.power_state("u1") == states.RUNNING
    log = d.console_output(instance())
    for line in ("Guest paused", "Guest unpaused", "memory saved", "memory restored",
                 "the administrator password was changed", "soft delete",
                 "Booting after restore"):
        assert line in log


def test_a_suspended_guest_stays_suspended_across_a_restart(tmp_path):
    d = build_driver("simulated", host="h1", state_file=tmp_path / "h1.json")
    d.spawn(instance("a"), {})
    d.spawn(instance("b"), {})
    d.suspend(instance("a"))
    d.pause(instance("b"))
    again = build_driver("simulated", host="h1", state_file=tmp_path / "h1.json")
    assert again.power_state("a") == states.SUSPENDED
    assert again.power_state("b") == states.SHUTDOWN  # a paused guest's memory is lost


def test_diagnostics_of_a_guest():
    d = build_driver("simulated", host="h1")
    inst = instance()
    d.spawn(inst, {})
    d.attach_volume(inst, "vol-1", "/dev/vdb")
    found = d.diagnostics(inst)
    assert found["state"] == "running"
    assert [c["id"] for c in found["cpus"]] == [0]
    assert [disk["device"] for disk in found["disks"]] == ["vda", "vdb"]
    assert found == d.diagnostics(inst)  # steady counters
    with pytest.raises(DriverError):
        d.diagnostics({**inst, "uuid": "missing"})


def test_cache_image_is_idempotent():
    d = build_driver("simulated", host="h1")
    assert d.cache_image("img-1") is True
    assert d.cache_image("img-1") is False  # a repeated request fetches nothing
    assert d.cache_image("img-2") is True
