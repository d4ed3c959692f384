"""gateway/openstack/network/views.py: tenant_id beside project_id, Neutron's
timestamps, fields=."""

from __future__ import annotations

import datetime

from gateway.openstack.network.views import render

WHEN = datetime.datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=datetime.UTC)


def test_tenant_id_and_timestamps():
    out = render({"id": "n", "project_id": "p", "created_at": WHEN, "updated_at": WHEN,
                  "router:external": False})
    assert out == {"id": "n", "project_id": "p", "tenant_id": "p",
                   "created_at": "2025-01-02T03:04:05Z", "updated_at": "2025-01-02T03:04:05Z",
                   "router:external": False}


def test_nested_records_are_rendered_too():
    out = render({"id": "g", "project_id": "p", "security_group_rules": [
        {"id": "r", "project_id": "p", "created_at": WHEN}]})
    assert out["security_group_rules"] == [{"id": "r", "project_id": "p", "tenant_id": "p",
                                            "created_at": "2025-01-02T03:04:05Z"}]


def test_fields_keep_only_what_is_asked_in_order():
    out = render({"id": "n", "name": "a", "project_id": "p"},
                 ["name", "tenant_id", "nope", "name"])
    assert out == {"name": "a", "tenant_id": "p"}


def test_a_record_without_an_owner_gets_no_tenant_id():
    assert render({"network": 10}) == {"network": 10}
