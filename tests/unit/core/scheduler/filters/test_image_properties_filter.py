import pytest

from core.scheduler.filters.image_properties import ImagePropertiesFilter
from tests.unit.core.scheduler.factories import make_host, make_settings, make_spec

FILTER = ImagePropertiesFilter(make_settings())
KVM_X86 = make_host(cpu_arch="x86_64", hypervisor_type="qemu", hypervisor_version=6002000)


def image(**properties):
    return make_spec(image={"id": "img", "properties": properties})


def test_image_without_properties_fits_anywhere():
    spec = image()
    assert not FILTER.applies_to(spec)
    assert FILTER.host_passes(KVM_X86, spec)


@pytest.mark.parametrize("key", ["architecture", "hw_architecture"])
@pytest.mark.parametrize(("arch", "passes"), [("x86_64", True), ("amd64", True),
                                              ("X86_64", True), ("aarch64", False)])
def test_architecture(key, arch, passes):
    assert FILTER.host_passes(KVM_X86, image(**{key: arch})) is passes


@pytest.mark.parametrize("key", ["hypervisor_type", "img_hv_type"])
def test_hypervisor_type(key):
    assert FILTER.host_passes(KVM_X86, image(**{key: "QEMU"}))
    assert not FILTER.host_passes(KVM_X86, image(**{key: "xen"}))


def test_requested_hypervisor_version():
    assert FILTER.host_passes(KVM_X86, image(img_hv_requested_version=">= 6000000"))
    assert not FILTER.host_passes(KVM_X86, image(img_hv_requested_version=">= 7000000"))


def test_vm_mode_only_checked_against_hosts_that_list_theirs():
    assert FILTER.host_passes(KVM_X86, image(hw_vm_mode="xen"))
    hvm_only = make_host(capabilities={"vm_modes": ["hvm"]})
    assert FILTER.host_passes(hvm_only, image(hw_vm_mode="HVM"))
    assert not FILTER.host_passes(hvm_only, image(vm_mode="xen"))


def test_all_properties_must_match():
    spec = image(architecture="x86_64", img_hv_type="xen")
    assert not FILTER.host_passes(KVM_X86, spec)
