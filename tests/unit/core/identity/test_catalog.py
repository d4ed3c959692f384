"""core/identity/catalog.py: the catalog tokens carry (enabled services and
endpoints, project ids substituted into URLs), regions, services and endpoints
managed by admins, and the bootstrap's idempotent registration."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core import errors
from core.identity.catalog import CatalogService
from core.identity.models import Endpoint


@pytest.fixture
def catalog(identity) -> CatalogService:
    return identity.catalog


def by_type(entries: list[dict]) -> dict[str, dict]:
    return {e["type"]: e for e in entries}


def test_the_bootstrapped_catalog(catalog, settings, boot):
    entries = by_type(catalog.catalog("p1"))
    assert set(entries) == {"block-storage", "compute", "ec2", "identity", "image", "network"}
    # Cinder's keeps v3 in the path: Nova refuses an endpoint without it.
    assert {e["url"] for e in entries["block-storage"]["endpoints"]} == \
        {settings.effective_public_url + "/volume/v3"}
    # Neutron's entry is unversioned: openstacksdk appends /v2.0 itself.
    assert {e["url"] for e in entries["network"]["endpoints"]} == \
        {settings.effective_public_url + "/networking"}
    compute = entries["compute"]
    assert compute["name"] == "nova"
    assert [e["interface"] for e in compute["endpoints"]] == ["admin", "internal", "public"]
    assert {e["url"] for e in compute["endpoints"]} == \
        {settings.effective_public_url + "/compute/v2.1"}
    assert {e["region_id"] for e in compute["endpoints"]} == {settings.region}


def test_project_ids_are_substituted_or_the_endpoint_left_out(catalog, admin):
    svc = catalog.create_service(admin, "volumev3", name="cinder")
    catalog.create_endpoint(admin, svc.id, "public", "http://h/volume/v3/$(project_id)s",
                            region_id="RegionOne")
    catalog.create_endpoint(admin, svc.id, "internal", "http://h/volume/v3/%(tenant_id)s")
    urls = [e["url"] for e in by_type(catalog.catalog("p1"))["volumev3"]["endpoints"]]
    assert urls == ["http://h/volume/v3/p1", "http://h/volume/v3/p1"]
    assert by_type(catalog.catalog(None))["volumev3"]["endpoints"] == []


def test_an_endpoint_in_a_new_region_makes_the_region(catalog, admin):
    svc = catalog.create_service(admin, "volumev3", name="cinder")
    catalog.create_endpoint(admin, svc.id, "public", "http://h/volume", region_id="RegionTwo")
    assert catalog.get_region(admin, "RegionTwo").id == "RegionTwo"  # as keystone does


def test_disabled_services_and_endpoints_are_left_out(catalog, admin, boot):
    image = catalog.list_services(admin, type="image")[0]
    catalog.update_service(admin, image.id, {"enabled": False})
    assert "image" not in by_type(catalog.catalog("p1"))
    compute = catalog.list_services(admin, type="compute")[0]
    public = catalog.list_endpoints(admin, service_id=compute.id, interface="public")[0]
    catalog.update_endpoint(admin, public.id, {"enabled": False})
    assert [e["interface"] for e in by_type(catalog.catalog("p1"))["compute"]["endpoints"]] \
        == ["admin", "internal"]


def test_the_catalog_read_at_a_revision_serves_until_the_revision_moves(catalog, identity,
                                                                        admin, boot, db):
    revisions = identity.tokens.revisions

    def now() -> dict[str, dict]:  # as a token's validation gives the revision
        return by_type(catalog.catalog("p1", revisions.current()))

    compute = now()["compute"]
    with db.engine.begin() as conn:  # behind the services' back: the revision stays
        conn.execute(update(Endpoint).values(url="http://stale"))
    assert now()["compute"] == compute
    assert {e["url"] for e in by_type(catalog.catalog("p1"))["compute"]["endpoints"]} == \
        {"http://stale"}  # without a revision: read now
    image = catalog.list_services(admin, type="image")[0]
    catalog.update_service(admin, image.id, {"enabled": False})
    assert "image" not in now() and now()["compute"]["endpoints"][0]["url"] == "http://stale"
    catalog.update_endpoint(admin, compute["endpoints"][0]["id"], {"url": "http://new"})
    assert now()["compute"]["endpoints"][0]["url"] == "http://new"
    catalog.delete_service(admin, catalog.list_services(admin, type="compute")[0].id)
    assert "compute" not in now()


def test_regions(catalog, admin):
    catalog.create_region(admin, "east", description="East")
    child = catalog.create_region(admin, None, parent_region_id="east")
    assert len(child.id) == 32 and child.parent_region_id == "east"
    with pytest.raises(errors.Conflict, match="^Duplicate ID, east.$"):
        catalog.create_region(admin, "east")
    with pytest.raises(errors.NotFound, match="^Could not find region: ghost.$"):
        catalog.create_region(admin, "west", parent_region_id="ghost")
    catalog.update_region(admin, child.id, {"description": "child"})
    assert catalog.get_region(admin, child.id).description == "child"
    svc = catalog.create_service(admin, "dns")
    catalog.create_endpoint(admin, svc.id, "public", "http://dns", region_id="east")
    with pytest.raises(errors.Forbidden, match="^Region east still has endpoints.$"):
        catalog.delete_region(admin, "east")
    catalog.delete_region(admin, child.id)
    assert child.id not in [r.id for r in catalog.list_regions(admin)]


def test_deleting_a_service_deletes_its_endpoints(catalog, admin):
    svc = catalog.create_service(admin, "dns", name="designate")
    endpoint = catalog.create_endpoint(admin, svc.id, "public", "http://dns")
    catalog.delete_service(admin, svc.id)
    with pytest.raises(errors.NotFound, match=f"^Could not find endpoint: {endpoint.id}.$"):
        catalog.get_endpoint(admin, endpoint.id)
    with pytest.raises(errors.NotFound, match=f"^Could not find service: {svc.id}.$"):
        catalog.get_service(admin, svc.id)
    with pytest.raises(errors.NotFound):
        catalog.create_endpoint(admin, svc.id, "public", "http://dns")


def test_endpoint_updates_check_their_references(catalog, admin):
    svc = catalog.create_service(admin, "dns")
    endpoint = catalog.create_endpoint(admin, svc.id, "public", "http://dns")
    assert catalog.update_endpoint(admin, endpoint.id, {"url": "http://dns2"}).url == \
        "http://dns2"
    with pytest.raises(errors.NotFound):
        catalog.update_endpoint(admin, endpoint.id, {"service_id": "ghost"})
    with pytest.raises(errors.NotFound):
        catalog.update_endpoint(admin, endpoint.id, {"region_id": "ghost"})
    catalog.delete_endpoint(admin, endpoint.id)
    assert catalog.list_endpoints(admin, service_id=svc.id) == []


def test_ensure_service_is_idempotent_and_repoints(catalog, admin, boot):
    catalog.ensure_service("image", "glance", "http://new/image", "RegionOne")
    catalog.ensure_service("image", "glance", "http://new/image", "RegionOne")
    image = catalog.list_services(admin, type="image")
    assert len(image) == 1
    endpoints = catalog.list_endpoints(admin, service_id=image[0].id)
    assert sorted(e.interface for e in endpoints) == ["admin", "internal", "public"]
    assert {e.url for e in endpoints} == {"http://new/image"}


def test_members_do_not_manage_the_catalog(catalog, demo):
    with pytest.raises(errors.Forbidden):
        catalog.create_service(demo, "dns")
    with pytest.raises(errors.Forbidden):
        catalog.list_endpoints(demo)
