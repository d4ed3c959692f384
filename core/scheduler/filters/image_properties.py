"""ImagePropertiesFilter: hosts able to run the image's architecture and hypervisor."""

from __future__ import annotations

from core import extra_specs
from core.scheduler.filters.base import HostFilter
from core.scheduler.host_state import HostState
from core.scheduler.request_spec import RequestSpec

# Names Nova canonicalises (nova/objects/fields.py Architecture / HVType).
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "i386": "i686", "x86": "i686",
                 "arm64": "aarch64", "ppc64el": "ppc64le"}
_HV_ALIASES = {"xapi": "xen"}


def canonical_arch(name: str) -> str:
    name = name.lower()
    return _ARCH_ALIASES.get(name, name)


def canonical_hv_type(name: str) -> str:
    name = name.lower()
    return _HV_ALIASES.get(name, name)


class ImagePropertiesFilter(HostFilter):
    """Checks the image's ``hw_architecture`` (or ``architecture``), ``img_hv_type``
    (or ``hypervisor_type``), ``img_hv_requested_version`` (an operator expression
    such as ``>= 6000``) and ``hw_vm_mode`` (or ``vm_mode``; only against hosts that
    list their ``vm_modes`` capability). Images without these properties fit anywhere."""

    def applies_to(self, spec: RequestSpec) -> bool:
        return bool(spec.image.properties)

    def traits_only(self, spec: RequestSpec) -> bool:
        return True

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        props = spec.image.properties
        arch = props.get("hw_architecture") or props.get("architecture")
        if arch and canonical_arch(str(arch)) != canonical_arch(host_state.cpu_arch):
            return False
        hv_type = props.get("img_hv_type") or props.get("hypervisor_type")
        if hv_type and canonical_hv_type(str(hv_type)) != canonical_hv_type(
                host_state.hypervisor_type):
            return False
        version = props.get("img_hv_requested_version")
        if version and not extra_specs.match(str(host_state.hypervisor_version), str(version)):
            return False
        vm_mode = props.get("hw_vm_mode") or props.get("vm_mode")
        modes = host_state.capabilities.get("vm_modes")
        if vm_mode and isinstance(modes, list):
            return str(vm_mode).lower() in {str(m).lower() for m in modes}
        return True
