import pytest

from core.scheduler.filters.compute_capabilities import ComputeCapabilitiesFilter
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec

FILTER = ComputeCapabilitiesFilter(make_settings())
HOST = make_host(hypervisor_type="qemu", cpu_arch="x86_64", vcpus_total=16,
                 capabilities={"ssd": "true", "gpus": 2, "cpu_info": {"vendor": "Intel",
                                                                     "features": ["sse4", "avx"]}})


def passes(**extra_specs):
    return FILTER.host_passes(HOST, make_spec(flavor={"extra_specs": extra_specs}))


def test_no_extra_specs_passes_and_skips():
    spec = make_spec()
    assert not FILTER.applies_to(spec)
    assert FILTER.host_passes(HOST, spec)


@pytest.mark.parametrize(("key", "requirement", "expected"), [
    ("capabilities:ssd", "true", True),
    ("capabilities:ssd", "false", False),
    ("capabilities:gpus", ">= 2", True),
    ("capabilities:gpus", ">= 3", False),
    ("capabilities:gpus", "<= 1", False),
    ("capabilities:gpus", "== 2", True),
    ("capabilities:gpus", "= 1", True),  # Nova's "=" means at least
    ("capabilities:hypervisor_type", "s== qemu", True),
    ("capabilities:hypervisor_type", "s== QEMU", False),
    ("capabilities:cpu_arch", "<or> aarch64 <or> x86_64", True),
    ("capabilities:cpu_info:vendor", "Intel", True),
    ("capabilities:cpu_info:features", "<in> avx", True),
    ("capabilities:cpu_info:features", "<in> avx512", False),
    ("capabilities:vcpus_total", ">= 16", True),
    ("capabilities:missing", "anything", False),
])
def test_capabilities_scope(key, requirement, expected):
    assert passes(**{key: requirement}) is expected


def test_other_scopes_are_ignored():
    assert passes(**{"hw:cpu_policy": "dedicated", "quota:cpu_shares": "1024",
                     "aggregate_instance_extra_specs:ssd": "false"})


def test_unscoped_key_matches_host_fields_and_capabilities():
    assert passes(hypervisor_type="qemu", ssd="true")
    assert not passes(cpu_arch="aarch64")


def test_unscoped_key_the_host_does_not_know_is_ignored():
    assert passes(some_unknown_key="x")


def test_every_spec_must_hold():
    assert not passes(**{"capabilities:ssd": "true", "capabilities:gpus": ">= 4"})
