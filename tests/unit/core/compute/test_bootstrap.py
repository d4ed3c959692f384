"""The default flavors: Nova's m1.* and EC2 instance types, created once."""

from __future__ import annotations

from sqlalchemy import select

from core.compute.bootstrap import ensure_default_flavors
from core.compute.models import Flavor
from core.db import Database
from core.db.migrate import upgrade


def test_default_flavors_are_created_once(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'nimbus.db'}")
    upgrade(db)
    created = ensure_default_flavors(db)
    assert created[:5] == ["1", "2", "3", "4", "5"]
    assert ensure_default_flavors(db) == []
    with db.session() as s:
        flavors = {f.flavorid: f for f in s.scalars(select(Flavor))}
    shapes = {fid: (f.name, f.vcpus, f.memory_mb, f.root_gb) for fid, f in flavors.items()}
    assert shapes["1"] == ("m1.tiny", 1, 512, 1)
    assert shapes["2"] == ("m1.small", 1, 2048, 20)
    assert shapes["5"] == ("m1.xlarge", 8, 16384, 160)
    assert shapes["t2.nano"] == ("t2.nano", 1, 512, 1)
    assert shapes["t3.micro"] == ("t3.micro", 1, 1024, 8)
    assert shapes["t3.large"] == ("t3.large", 2, 8192, 8)
    assert shapes["m5.large"] == ("m5.large", 2, 8192, 8)
    assert len(flavors) == 16 and all(f.is_public for f in flavors.values())
    db.dispose()


def test_an_existing_name_or_id_is_left_alone(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'nimbus.db'}")
    upgrade(db)
    with db.session() as s:
        s.add(Flavor(flavorid="custom", name="m1.tiny", vcpus=4, memory_mb=1, root_gb=0,
                     extra_specs={}))
    created = ensure_default_flavors(db)
    assert "1" not in created and len(created) == 15
    db.dispose()
