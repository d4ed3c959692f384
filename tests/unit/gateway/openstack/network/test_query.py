"""gateway/openstack/network/query.py: Neutron's list conventions read from the
raw query string into core.network.query.ListQuery."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.datastructures import QueryParams

from core import errors
from gateway.openstack.network.query import page_links, parse_list


def parse(qs: str):
    return parse_list(QueryParams(qs))


def test_filters_repeat_and_keep_colons():
    listing = parse("id=a&id=b&router:external=True&name=")
    assert {k: list(v) for k, v in listing.query.filters.items()} == {
        "id": ["a", "b"], "router:external": ["True"], "name": [""]}


def test_tenant_id_filters_by_project():
    listing = parse("tenant_id=p1&project_id=p2")
    assert sorted(listing.query.filters["project_id"]) == ["p1", "p2"]
    assert "tenant_id" not in listing.query.filters


def test_fixed_ips_filters_pass_through():
    listing = parse("fixed_ips=ip_address%3D10.0.0.5&fixed_ips=subnet_id%3Ds")
    assert list(listing.query.filters["fixed_ips"]) == ["ip_address=10.0.0.5",
                                                        "subnet_id=s"]


def test_fields_sort_paging_and_tags_are_not_filters():
    listing = parse("fields=id&fields=name&sort_key=name&sort_dir=desc&sort_key=id"
                    "&sort_dir=asc&limit=2&marker=m&page_reverse=True&tags=a%2Cb"
                    "&tags-any=c&not-tags=d,e&not-tags-any=f")
    q = listing.query
    assert listing.fields == ("id", "name")
    assert dict(q.filters) == {}
    assert list(q.sort) == [("name", False), ("id", True)]
    assert (q.limit, q.marker, q.page_reverse) == (2, "m", True)
    assert (list(q.tags), list(q.tags_any), list(q.not_tags), list(q.not_tags_any)) == (
        ["a", "b"], ["c"], ["d", "e"], ["f"])


def test_sort_keys_default_to_ascending():
    assert list(parse("sort_key=name").query.sort) == [("name", True)]


@pytest.mark.parametrize("qs", ["limit=x", "limit=-1", "sort_key=a&sort_key=b&sort_dir=asc",
                                "sort_key=a&sort_dir=up", "page_reverse=maybe"])
def test_malformed_paging_and_sorting_are_400s(qs):
    with pytest.raises(errors.InvalidInput):
        parse(qs)


def test_limit_zero_is_no_limit():
    assert parse("limit=0").query.limit is None


def _params(href: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(href).query, keep_blank_values=True)


def test_a_full_page_links_to_the_next():
    params = QueryParams("name=x&limit=2")
    links = page_links("http://h/networking/v2.0/networks", params, parse_list(params).query,
                       [{"id": "a"}, {"id": "b"}])
    assert [link["rel"] for link in links] == ["next"]
    assert links[0]["href"].startswith("http://h/networking/v2.0/networks?")
    assert _params(links[0]["href"]) == [("name", "x"), ("limit", "2"), ("marker", "b")]


def test_a_page_after_a_marker_links_back():
    params = QueryParams("limit=2&marker=z")
    links = page_links("http://h/n", params, parse_list(params).query, [{"id": "a"}])
    assert [link["rel"] for link in links] == ["previous"]
    assert _params(links[0]["href"]) == [("limit", "2"), ("marker", "a"),
                                         ("page_reverse", "True")]


def test_no_links_without_a_limit_or_items():
    params = QueryParams("")
    assert page_links("http://h/n", params, parse_list(params).query, [{"id": "a"}]) == []
    params = QueryParams("limit=1")
    assert page_links("http://h/n", params, parse_list(params).query, []) == []
