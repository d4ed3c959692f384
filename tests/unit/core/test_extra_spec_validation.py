"""core/extra_spec_validation.py: the extra specs Nova accepts from 2.86."""

from __future__ import annotations

import pytest

from core import errors
from core.extra_spec_validation import namespace_of, validate, validate_all


@pytest.mark.parametrize(("key", "value"), [
    ("hw:cpu_policy", "mixed"), ("hw:cpu_thread_policy", "isolate"),
    ("hw:mem_page_size", "large"), ("hw:mem_page_size", "1GiB"), ("hw:mem_page_size", "2048"),
    ("hw:numa_nodes", "2"), ("hw:numa_cpus.1", "2-3,^3"), ("hw:numa_mem.1", "1024"),
    ("hw:cpu_sockets", "2"), ("hw:boot_menu", "yes"), ("hw:watchdog_action", "reset"),
    ("hw_rng:rate_bytes", "0"), ("hw_video:ram_max_mb", "64"), ("quota:vif_inbound_peak", "5"),
    ("quota:cpu_shares_level", "high"), ("resources:VCPU", "0"),
    ("resources1:CUSTOM_GPU", "2"), ("resources_gpu:VGPU", "1"), ("trait:CUSTOM_X", "forbidden"),
    ("trait_g:HW_NIC_SRIOV", "required"), ("os:secure_boot", "required"),
    ("accel:device_profile", "any-profile"), ("pci_passthrough:alias", "a:1,b:2"),
    ("aggregate_instance_extra_specs:whatever", "x"), ("capabilities:cpu_info:vendor", "v"),
    ("group_policy", "isolate"), ("color", "blue"), ("vmware:hw_version", "anything"),
    ("hw:boot_menu", True),
])
def test_valid(key, value):
    validate(key, value)


@pytest.mark.parametrize(("key", "value"), [
    ("hw:cpu_policy", "Dedicated"), ("hw:unknown", "1"), ("hw:numa_nodes", "0"),
    ("hw:numa_nodes", "two"), ("hw:numa_cpus.x", "0"), ("hw:numa_cpus.0", "zero"),
    ("hw:mem_page_size", "huge"), ("hw:boot_menu", "sometimes"), ("hw_rng:unknown", "1"),
    ("hw_video:ram_max_mb", "-1"), ("quota:cpu_shares_level", "max"), ("quota:what", "1"),
    ("resources:vcpu", "1"), ("resources:VCPU", "-1"), ("trait:CUSTOM_X", "preferred"),
    ("os:monitors", "0"), ("os:unknown", "x"), ("accel:other", "x"),
    ("pci_passthrough:alias", "a"), ("group_policy", "sometimes"),
])
def test_invalid(key, value):
    with pytest.raises(errors.InvalidInput) as caught:
        validate(key, value)
    assert str(caught.value).startswith("Validation failed; ")


def test_namespaces():
    assert namespace_of("hw:cpu_policy") == "hw"
    assert namespace_of("resources_g1:VCPU") == "resources"
    assert namespace_of("trait3:X") == "trait"
    assert namespace_of("resourcesX:VCPU") == "resourcesX"
    assert namespace_of("color") is None


def test_validate_all_stops_at_the_first_bad_one():
    with pytest.raises(errors.InvalidInput):
        validate_all({"color": "blue", "hw:cpu_policy": "no"})
    validate_all({"color": "blue", "hw:cpu_policy": "shared"})
