"""core/compute/flavors.py: who sees which flavor (private ones only with
access), listing filters, sorting and markers, flavor management, extra specs
and the access list."""

from __future__ import annotations

import pytest

from core import errors
from core.compute.bootstrap import DEFAULT_FLAVORS
from core.compute.flavors import FlavorQuery, FlavorService
from core.identity.models import Domain, Project
from core.services import CoreServices
from tests.support.core_services import ADMIN, MEMBER, OTHER


@pytest.fixture
def flavors(core: CoreServices) -> FlavorService:
    with core.db.session() as s:  # the projects access is given to must exist
        s.add(Domain(id="default", name="Default"))
        s.flush()
        s.add_all([Project(id=p, name=p, domain_id="default") for p in ("p1", "p2")])
    return core.flavors


@pytest.fixture
def private(flavors: FlavorService) -> str:
    return flavors.create(ADMIN, "secret", 1024, 2, 10, flavor_id="priv",
                          is_public=False).flavorid


def ids(rows) -> list[str]:
    return [f.flavorid for f in rows]


# ---------------------------------------------------------------- visibility

def test_a_private_flavor_is_seen_with_access_only(flavors, private):
    with pytest.raises(errors.NotFound, match="^Flavor priv could not be found.$"):
        flavors.get(MEMBER, private)
    assert private not in ids(flavors.list_flavors(MEMBER, FlavorQuery()))
    assert flavors.get(ADMIN, private).name == "secret"
    flavors.add_access(ADMIN, private, "p1")
    assert flavors.get(MEMBER, private).name == "secret"
    assert flavors.get_for_project(MEMBER, private).name == "secret"
    assert private in ids(flavors.list_flavors(MEMBER, FlavorQuery()))
    with pytest.raises(errors.NotFound):
        flavors.get_for_project(OTHER, private)


def test_admin_chooses_public_private_or_all(flavors, private):
    assert private not in ids(flavors.list_flavors(ADMIN, FlavorQuery()))
    assert ids(flavors.list_flavors(ADMIN, FlavorQuery(is_public=False))) == [private]
    everything = ids(flavors.list_flavors(ADMIN, FlavorQuery(is_public=None)))
    assert private in everything and "1" in everything


# ---------------------------------------------------------------- listing

def test_list_filters_and_sorts(flavors):
    query = FlavorQuery(min_ram=4096, min_disk=40, sort_key="memory_mb", sort_dir="desc")
    assert ids(flavors.list_flavors(MEMBER, query)) == ["5", "4", "3"]
    assert ids(flavors.list_flavors(MEMBER, FlavorQuery(limit=3))) == ["1", "2", "3"]


def test_list_pages_with_a_marker(flavors):
    first = ids(flavors.list_flavors(MEMBER, FlavorQuery(sort_key="name", limit=2)))
    rest = ids(flavors.list_flavors(MEMBER, FlavorQuery(sort_key="name", marker=first[-1])))
    everything = ids(flavors.list_flavors(MEMBER, FlavorQuery(sort_key="name")))
    assert first + rest == everything and len(everything) == len(DEFAULT_FLAVORS)
    with pytest.raises(errors.InvalidInput, match=r"^marker \[nope\] not found$"):
        flavors.list_flavors(MEMBER, FlavorQuery(marker="nope"))


def test_a_private_flavor_is_no_marker_for_others(flavors, private):
    with pytest.raises(errors.InvalidInput, match="not found"):
        flavors.list_flavors(MEMBER, FlavorQuery(marker=private))


@pytest.mark.parametrize(("query", "message"), [
    (FlavorQuery(sort_key="password"), "^Invalid sort key password.$"),
    (FlavorQuery(sort_dir="up"), "^Invalid sort direction up.$")])
def test_list_refuses_bad_sorting(flavors, query, message):
    with pytest.raises(errors.InvalidInput, match=message):
        flavors.list_flavors(MEMBER, query)


# ---------------------------------------------------------------- manage

def test_create_and_delete(flavors):
    flavor = flavors.create(ADMIN, "  big  ", 65536, 32, 500, ephemeral=10, swap=1024,
                            description="d")
    assert flavor.name == "big" and len(flavor.flavorid) == 36  # a uuid when none is given
    snapshot = flavors.to_snapshot(flavors.get(MEMBER, flavor.flavorid))
    assert snapshot == {"flavorid": flavor.flavorid, "name": "big", "vcpus": 32,
                        "memory_mb": 65536, "root_gb": 500, "ephemeral_gb": 10, "swap": 1024,
                        "rxtx_factor": 1.0, "extra_specs": {}}
    flavors.delete(ADMIN, flavor.flavorid)
    with pytest.raises(errors.NotFound):
        flavors.get(ADMIN, flavor.flavorid)
    with pytest.raises(errors.NotFound):
        flavors.delete(ADMIN, flavor.flavorid)


def test_create_refuses_duplicates_and_blank_names(flavors):
    with pytest.raises(errors.Conflict, match="^Flavor with name m1.tiny already exists.$"):
        flavors.create(ADMIN, "m1.tiny", 512, 1, 1)
    with pytest.raises(errors.Conflict, match="^Flavor with ID 1 already exists.$"):
        flavors.create(ADMIN, "other", 512, 1, 1, flavor_id="1")
    with pytest.raises(errors.InvalidInput, match="^Flavor name must not be empty.$"):
        flavors.create(ADMIN, "   ", 512, 1, 1)


def test_only_admins_manage_flavors(flavors):
    with pytest.raises(errors.Forbidden):
        flavors.create(MEMBER, "mine", 512, 1, 1)
    with pytest.raises(errors.Forbidden):
        flavors.delete(MEMBER, "1")
    with pytest.raises(errors.Forbidden):
        flavors.set_extra_specs(MEMBER, "1", {"a": "b"})


# ---------------------------------------------------------------- extra specs

def test_extra_specs(flavors):
    assert flavors.set_extra_specs(ADMIN, "1", {"hw:cpu_policy": "dedicated"}) == \
        {"hw:cpu_policy": "dedicated"}
    assert flavors.set_extra_specs(ADMIN, "1", {"quota:disk": "1"}) == \
        {"hw:cpu_policy": "dedicated", "quota:disk": "1"}
    assert flavors.extra_specs(MEMBER, "1")["quota:disk"] == "1"
    assert flavors.extra_spec(MEMBER, "1", "hw:cpu_policy") == "dedicated"
    flavors.delete_extra_spec(ADMIN, "1", "quota:disk")
    assert flavors.extra_specs(MEMBER, "1") == {"hw:cpu_policy": "dedicated"}
    for call in (lambda: flavors.extra_spec(MEMBER, "1", "quota:disk"),
                 lambda: flavors.delete_extra_spec(ADMIN, "1", "quota:disk")):
        with pytest.raises(errors.NotFound,
                           match="^Flavor 1 has no extra specs with key quota:disk.$"):
            call()


# ---------------------------------------------------------------- access

def test_access_list(flavors, private):
    assert flavors.add_access(ADMIN, private, "p2") == ["p2"]
    assert flavors.add_access(ADMIN, private, "p1") == ["p1", "p2"]
    assert flavors.access_list(ADMIN, private) == ["p1", "p2"]
    with pytest.raises(errors.Conflict, match="^Flavor access already exists for flavor priv "
                                              "and project p1 combination.$"):
        flavors.add_access(ADMIN, private, "p1")
    assert flavors.remove_access(ADMIN, private, "p2") == ["p1"]
    with pytest.raises(errors.NotFound, match="^Flavor access not found for priv / p2 "
                                              "combination.$"):
        flavors.remove_access(ADMIN, private, "p2")


def test_access_needs_a_known_project_and_a_private_flavor(flavors, private):
    with pytest.raises(errors.InvalidInput, match="^Project ID p9 is not a valid project.$"):
        flavors.add_access(ADMIN, private, "p9")
    with pytest.raises(errors.Conflict, match="^Can not add access to a public flavor.$"):
        flavors.add_access(ADMIN, "1", "p1")
    assert flavors.add_access(ADMIN, "1", "p1", refuse_public=False) == ["p1"]  # before 2.7
    with pytest.raises(errors.NotFound, match="^Access list not available for public "
                                              "flavors.$"):
        flavors.access_list(ADMIN, "1")
    with pytest.raises(errors.Forbidden):
        flavors.add_access(MEMBER, private, "p1")
