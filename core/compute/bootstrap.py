"""The flavors a new cloud starts with: Nova's classic m1.* set (ids "1".."5")
and EC2 instance types under their EC2 names (the id is the name), so that
``RunInstances --instance-type t3.micro`` and ``server create --flavor
t3.micro`` name the same shape."""

from __future__ import annotations

from sqlalchemy import or_, select

from core.compute.models import Flavor
from core.db import Database

# (flavorid, name, vcpus, memory_mb, root_gb)
CLASSIC = (("1", "m1.tiny", 1, 512, 1), ("2", "m1.small", 1, 2048, 20),
           ("3", "m1.medium", 2, 4096, 40), ("4", "m1.large", 4, 8192, 80),
           ("5", "m1.xlarge", 8, 16384, 160))
_BURSTABLE = (("nano", 1, 512), ("micro", 1, 1024), ("small", 1, 2048), ("medium", 2, 4096),
              ("large", 2, 8192))
EC2_TYPES = (*((f"{family}.{size}", vcpus, ram, 1 if size == "nano" else 8)
               for family in ("t2", "t3") for size, vcpus, ram in _BURSTABLE),
             ("m5.large", 2, 8192, 8))
DEFAULT_FLAVORS = (*CLASSIC, *((name, name, vcpus, ram, disk)
                               for name, vcpus, ram, disk in EC2_TYPES))


def ensure_default_flavors(db: Database) -> list[str]:
    """Create the default flavors that do not exist yet (by id or name);
    returns the ids created. Idempotent."""
    created = []
    with db.session() as s:
        for flavorid, name, vcpus, ram, disk in DEFAULT_FLAVORS:
            taken = s.scalar(select(Flavor.id).where(
                or_(Flavor.flavorid == flavorid, Flavor.name == name)))
            if taken is not None:
                continue
            s.add(Flavor(flavorid=flavorid, name=name, vcpus=vcpus, memory_mb=ram,
                         root_gb=disk, ephemeral_gb=0, swap=0, rxtx_factor=1.0,
                         is_public=True, disabled=False, extra_specs={}))
            s.flush()
            created.append(flavorid)
    return created
