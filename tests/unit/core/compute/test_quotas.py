"""core/compute/quotas.py on SQLite: the os-quota-sets and limits rules, and a
user's key pairs in the usage they show (the quota service itself:
tests/unit/core/quota/test_quota_service.py)."""

from __future__ import annotations

import pytest

from core import errors
from core.compute.models import KeyPair
from core.compute.quotas import QuotaSetService
from core.context import RequestContext
from core.db import Database
from core.quota.service import QuotaService

ADMIN = RequestContext(user_id="u-admin", project_id="p-admin", roles=("admin",),
                       is_admin=True)
MEMBER = RequestContext(user_id="u1", project_id="p1", roles=("member", "reader"))


@pytest.fixture
def db(core) -> Database:
    return core.db


@pytest.fixture
def quotas(core) -> QuotaService:
    return core.quotas


@pytest.fixture
def quota_sets(core) -> QuotaSetService:
    return core.quota_sets


def test_usage_counts_a_users_key_pairs(db, quota_sets):
    with db.session() as s:
        for i in range(3):
            s.add(KeyPair(user_id="u1", project_id="p1", name=f"k{i}", fingerprint="f",
                          public_key="k"))
    assert quota_sets.usage("p1", "u1")["key_pairs"] == 3
    assert quota_sets.usage("p1")["key_pairs"] == 0


# ---------------------------------------------------------------- os-quota-sets

def test_quota_set_update_validates(db, quotas, quota_sets):
    with db.session() as s:
        quotas.reserve(s, "p1", {"instances": 4})
    assert quota_sets.update(ADMIN, "p1", {"instances": "5", "cores": -1})["instances"] == 5
    with pytest.raises(errors.InvalidInput, match="already used and reserved 4"):
        quota_sets.update(ADMIN, "p1", {"instances": 3})
    assert quota_sets.update(ADMIN, "p1", {"instances": 3}, force=True)["instances"] == 3
    with pytest.raises(errors.InvalidInput, match="must be -1 or greater"):
        quota_sets.update(ADMIN, "p1", {"ram": -2})
    with pytest.raises(errors.InvalidInput, match="Bad key"):
        quota_sets.update(ADMIN, "p1", {"gpus": 1})


def test_quota_set_policies(quota_sets):
    assert quota_sets.show(MEMBER, "p1")["instances"] == 10
    assert quota_sets.detail(MEMBER, "p1")["instances"] == {"in_use": 0, "limit": 10,
                                                             "reserved": 0}
    assert quota_sets.defaults(MEMBER, "p2")["cores"] == 20
    with pytest.raises(errors.Forbidden):
        quota_sets.show(MEMBER, "p2")
    with pytest.raises(errors.Forbidden):
        quota_sets.update(MEMBER, "p1", {"instances": 50})
    with pytest.raises(errors.Forbidden):
        quota_sets.delete(MEMBER, "p1")


def test_limits_of_another_project_need_an_admin(quota_sets):
    limits, used = quota_sets.limits(MEMBER)
    assert limits["instances"] == 10 and used["instances"] == 0
    quota_sets.limits(MEMBER, "p1")
    with pytest.raises(errors.Forbidden):
        quota_sets.limits(MEMBER, "p2")
    assert quota_sets.limits(ADMIN, "p2")[0]["cores"] == 20
