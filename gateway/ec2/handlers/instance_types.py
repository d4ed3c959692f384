"""DescribeInstanceTypes: the flavors the caller may boot, by name.

A flavor's name is its instance type (``t3.micro``, ``m1.small``): the
default flavors include the common EC2 names, so ``RunInstances`` and
``openstack server create --flavor`` name the same shapes.
"""

from __future__ import annotations

from typing import Any

from core.compute.flavors import FlavorQuery
from core.compute.models import Flavor
from gateway.ec2.api import Call, action
from gateway.ec2.errors import Ec2Error
from gateway.ec2.filters import Filters
from gateway.ec2.handlers.base import Handler
from gateway.ec2.paging import page

ALL_FLAVORS = 100_000
BURSTABLE_FAMILIES = ("t2.", "t3.", "t3a.", "t4g.")

FILTERS: Filters[dict[str, Any]] = Filters({
    "instance-type": lambda t: t["InstanceType"],
    "current-generation": lambda t: t["CurrentGeneration"],
    "free-tier-eligible": lambda t: t["FreeTierEligible"],
    "bare-metal": lambda t: t["BareMetal"],
    "burstable-performance-supported": lambda t: t["BurstablePerformanceSupported"],
    "hibernation-supported": lambda t: t["HibernationSupported"],
    "instance-storage-supported": lambda t: t["InstanceStorageSupported"],
    "instance-storage-info.total-size-in-gb":
        lambda t: (t.get("InstanceStorageInfo") or {}).get("TotalSizeInGB"),
    "instance-storage-info.disk.type":
        lambda t: [d["Type"] for d in (t.get("InstanceStorageInfo") or {}).get("Disks", [])],
    "memory-info.size-in-mib": lambda t: t["MemoryInfo"]["SizeInMiB"],
    "processor-info.supported-architecture":
        lambda t: t["ProcessorInfo"]["SupportedArchitectures"],
    "supported-boot-mode": lambda t: t["SupportedBootModes"],
    "supported-root-device-type": lambda t: t["SupportedRootDeviceTypes"],
    "supported-usage-class": lambda t: t["SupportedUsageClasses"],
    "supported-virtualization-type": lambda t: t["SupportedVirtualizationTypes"],
    "vcpu-info.default-cores": lambda t: t["VCpuInfo"]["DefaultCores"],
    "vcpu-info.default-threads-per-core": lambda t: t["VCpuInfo"]["DefaultThreadsPerCore"],
    "vcpu-info.default-vcpus": lambda t: t["VCpuInfo"]["DefaultVCpus"],
})


def instance_type_info(flavor: Flavor) -> dict[str, Any]:
    """A flavor as EC2's InstanceTypeInfo: vCPUs, memory and local disks."""
    sizes = [size for size in (flavor.root_gb, flavor.ephemeral_gb) if size]
    disks = [{"SizeInGB": size, "Count": 1, "Type": "ssd"} for size in sizes]
    total = sum(sizes)
    return {
        "InstanceType": flavor.name,
        "CurrentGeneration": True,
        "FreeTierEligible": False,
        "SupportedUsageClasses": ["on-demand"],
        # The root disk is the hypervisor's local disk, made from the image.
        "SupportedRootDeviceTypes": ["instance-store"],
        "SupportedVirtualizationTypes": ["hvm"],
        "BareMetal": False,
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "VCpuInfo": {"DefaultVCpus": flavor.vcpus, "DefaultCores": flavor.vcpus,
                     "DefaultThreadsPerCore": 1},
        "MemoryInfo": {"SizeInMiB": flavor.memory_mb},
        "InstanceStorageSupported": bool(disks),
        "InstanceStorageInfo": {"TotalSizeInGB": total, "Disks": disks} if disks else None,
        "EbsInfo": {"EbsOptimizedSupport": "unsupported", "EncryptionSupport": "unsupported"},
        "HibernationSupported": False,
        "BurstablePerformanceSupported": flavor.name.startswith(BURSTABLE_FAMILIES),
        "DedicatedHostsSupported": False,
        "AutoRecoverySupported": False,
        "SupportedBootModes": ["legacy-bios"],
        "SupportedInRegion": True,
    }


class InstanceTypes(Handler):
    # Nova has no policy on listing flavors; neither does this.
    @action("DescribeInstanceTypes")
    def describe_instance_types(self, call: Call) -> dict[str, Any]:
        flavors = self.deps.flavors.list_flavors(
            call.ctx, FlavorQuery(is_public=True, sort_key="name", limit=ALL_FLAVORS))
        # Sorted here, not by the database: page tokens compare names as Python does.
        types = sorted((instance_type_info(f) for f in flavors if not f.disabled),
                       key=lambda t: t["InstanceType"])
        wanted = call.get("InstanceTypes", [])
        if wanted:
            unknown = sorted(set(wanted) - {t["InstanceType"] for t in types})
            if unknown:
                raise Ec2Error("InvalidInstanceType", "The following supplied instance types "
                                                      f"do not exist: [{', '.join(unknown)}]")
            types = [t for t in types if t["InstanceType"] in wanted]
        types = FILTERS.apply(types, call.get("Filters"))
        chunk, token = page(types, lambda t: t["InstanceType"], call.get("MaxResults"),
                            call.get("NextToken"))
        return {"InstanceTypes": chunk, "NextToken": token}
