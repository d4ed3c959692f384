"""Cached token validation (core/identity/token_cache.py, core/identity/revision.py):
a cached validation is refused or changed right after every kind of change that
alters a validation, made through the identity services, on this process or on
another sharing only the database; writes elsewhere leave the cache alone."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy import delete, update

from core import errors
from core.context import RequestContext
from core.db import Database
from core.db.base import utcnow
from core.identity.fernet import TokenPayload
from core.identity.models import Credential, Region, RevocationEvent, User
from core.identity.service import IdentityService
from core.identity.token_cache import CachedToken, LruTokenCache, cache_key
from core.identity.tokens import Token
from core.identity.validated import AppCredRef, DomainRef, RoleRef, UserRef, Validation
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.services import build_identity
from core.settings import Settings, load_settings
from tests.support.core_services import migrated_database

PASSWORD = "carol-pw"
ADMIN = RequestContext(user_id="u-admin", project_id="p-admin", roles=("admin",), is_admin=True)
POLICY = Enforcer(all_defaults(), None)


@dataclass
class World:
    """Carol, of domain ``dom``: member (so reader) of ``proj`` directly and
    ``observer`` there through group ``grp``; ``auditor`` of ``dom``; with a
    project token, a domain token and one from an application credential."""

    identity: IdentityService
    settings: Settings
    ids: dict[str, str]
    project_token: Token
    domain_token: Token
    app_cred_token: Token
    admin: RequestContext = ADMIN


def password_auth(user_id: str, password: str, scope: dict) -> dict:
    return {"identity": {"methods": ["password"], "password": {"user": {
        "id": user_id, "password": password}}}, "scope": scope}


def populate(identity: IdentityService) -> dict[str, str]:
    """Carol's world; the ids of what is in it and of her tokens."""
    res, users, roles = identity.resources, identity.users, identity.assignments
    dom = res.create_domain(ADMIN, "dom")
    proj = res.create_project(ADMIN, "proj", domain_id=dom.id)
    carol = users.create_user(ADMIN, "carol", domain_id=dom.id, password=PASSWORD)
    ids = {"dom": dom.id, "proj": proj.id, "carol": carol.id}
    ids |= {name: users.create_group(ADMIN, name, domain_id=dom.id).id
            for name in ("grp", "grp2")}
    ids |= {name: roles.create_role(ADMIN, name).id
            for name in ("member", "reader", "observer", "auditor", "extra")}
    roles.create_implied_role(ADMIN, ids["member"], ids["reader"])
    roles.create_grant(ADMIN, ids["member"], user_id=carol.id, project_id=proj.id)
    roles.create_grant(ADMIN, ids["observer"], group_id=ids["grp"], project_id=proj.id)
    roles.create_grant(ADMIN, ids["extra"], group_id=ids["grp2"], project_id=proj.id)
    roles.create_grant(ADMIN, ids["auditor"], user_id=carol.id, domain_id=dom.id)
    users.add_user_to_group(ADMIN, ids["grp"], carol.id)
    tokens = identity.tokens
    ptok = tokens.authenticate(password_auth(carol.id, PASSWORD, {"project": {"id": proj.id}}))
    dtok = tokens.authenticate(password_auth(carol.id, PASSWORD, {"domain": {"id": dom.id}}))
    cred, secret, _ = identity.app_credentials.create(ptok.context(), carol.id, "ci",
                                                      roles=[{"name": "member"}])
    atok = tokens.authenticate({"identity": {"methods": ["application_credential"],
                                             "application_credential": {"id": cred.id,
                                                                        "secret": secret}}})
    return ids | {"cred": cred.id, "project_token": ptok.id, "domain_token": dtok.id,
                  "app_cred_token": atok.id}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Settings, dict[str, str]]:
    """Carol's world made once for the module (the tests copy its database)."""
    settings = load_settings({}, data_dir=tmp_path_factory.mktemp("token-cache"),
                             bcrypt_rounds=4)
    db = migrated_database(settings)
    try:
        return settings, populate(build_identity(settings, db, POLICY))
    finally:
        db.dispose()


@pytest.fixture
def world(template, tmp_path) -> Iterator[World]:
    made, ids = template
    for name in ("effective_key_repository", "effective_credential_key_repository"):
        shutil.copytree(getattr(made, name), getattr(load_settings({}, data_dir=tmp_path), name))
    settings = load_settings({}, data_dir=tmp_path, bcrypt_rounds=4)
    with closing(sqlite3.connect(made.effective_database_url.removeprefix("sqlite:///"))) \
            as source, closing(sqlite3.connect(settings.effective_database_url
                                               .removeprefix("sqlite:///"))) as target:
        source.backup(target)
    db = Database(settings.effective_database_url)
    identity = build_identity(settings, db, POLICY, prepare_keys=False)
    tokens = {name: identity.tokens.validate(ids[name])
              for name in ("project_token", "domain_token", "app_cred_token")}
    yield World(identity, settings, ids, **tokens)
    db.dispose()


def role_names(token: Token) -> list[str]:
    return sorted(r.name for r in token.roles)


def served_from_cache(identity: IdentityService, token: Token) -> bool:
    entry = identity.tokens.cache.get(cache_key(token.id))
    return entry is not None and \
        entry.validation.revision == identity.tokens.revisions.current()


Change = Callable[[World], None]
# What the validation gives afterwards: None for a refusal, else a check of the token.
Expect = Callable[[Token], bool] | None

PROJECT, DOMAIN, APP_CRED = "project_token", "domain_token", "app_cred_token"
CHANGES: dict[str, tuple[str, Change, Expect]] = {
    "token revoked": (PROJECT, lambda w: w.identity.tokens.revoke(
        w.admin, w.project_token.id), None),
    "password changed by an admin": (PROJECT, lambda w: w.identity.users.update_user(
        w.admin, w.ids["carol"], {"password": "new-pw"}), None),
    "password changed by its user": (PROJECT, lambda w: w.identity.users.change_password(
        w.project_token.context(), w.ids["carol"], PASSWORD, "new-pw"), None),
    "user disabled": (PROJECT, lambda w: w.identity.users.update_user(
        w.admin, w.ids["carol"], {"enabled": False}), None),
    "user deleted": (PROJECT, lambda w: w.identity.users.delete_user(
        w.admin, w.ids["carol"]), None),
    "user renamed": (PROJECT, lambda w: w.identity.users.update_user(
        w.admin, w.ids["carol"], {"name": "caroline"}), lambda t: t.user.name == "caroline"),
    "user's project grant removed": (PROJECT, lambda w: w.identity.assignments.revoke_grant(
        w.admin, w.ids["member"], user_id=w.ids["carol"], project_id=w.ids["proj"]),
        lambda t: role_names(t) == ["observer"]),
    "user's project grant added": (PROJECT, lambda w: w.identity.assignments.create_grant(
        w.admin, w.ids["auditor"], user_id=w.ids["carol"], project_id=w.ids["proj"]),
        lambda t: "auditor" in role_names(t)),
    "group's project grant removed": (PROJECT, lambda w: w.identity.assignments.revoke_grant(
        w.admin, w.ids["observer"], group_id=w.ids["grp"], project_id=w.ids["proj"]),
        lambda t: role_names(t) == ["member", "reader"]),
    "group's project grant added": (PROJECT, lambda w: w.identity.assignments.create_grant(
        w.admin, w.ids["auditor"], group_id=w.ids["grp"], project_id=w.ids["proj"]),
        lambda t: "auditor" in role_names(t)),
    "user's domain grant removed": (DOMAIN, lambda w: w.identity.assignments.revoke_grant(
        w.admin, w.ids["auditor"], user_id=w.ids["carol"], domain_id=w.ids["dom"]), None),
    "group's domain grant added": (DOMAIN, lambda w: w.identity.assignments.create_grant(
        w.admin, w.ids["extra"], group_id=w.ids["grp"], domain_id=w.ids["dom"]),
        lambda t: role_names(t) == ["auditor", "extra"]),
    "user removed from a group": (PROJECT, lambda w: w.identity.users.remove_user_from_group(
        w.admin, w.ids["grp"], w.ids["carol"]), lambda t: role_names(t) == ["member", "reader"]),
    "user added to a group": (PROJECT, lambda w: w.identity.users.add_user_to_group(
        w.admin, w.ids["grp2"], w.ids["carol"]), lambda t: "extra" in role_names(t)),
    "group deleted": (PROJECT, lambda w: w.identity.users.delete_group(w.admin, w.ids["grp"]),
                      lambda t: role_names(t) == ["member", "reader"]),
    "role deleted": (PROJECT, lambda w: w.identity.assignments.delete_role(
        w.admin, w.ids["observer"]), lambda t: role_names(t) == ["member", "reader"]),
    "role renamed": (PROJECT, lambda w: w.identity.assignments.update_role(
        w.admin, w.ids["observer"], {"name": "watcher"}), lambda t: "watcher" in role_names(t)),
    "role implication removed": (PROJECT, lambda w: w.identity.assignments.delete_implied_role(
        w.admin, w.ids["member"], w.ids["reader"]), lambda t: role_names(t) == ["member",
                                                                                "observer"]),
    "role implication added": (PROJECT, lambda w: w.identity.assignments.create_implied_role(
        w.admin, w.ids["observer"], w.ids["extra"]), lambda t: "extra" in role_names(t)),
    "project disabled": (PROJECT, lambda w: w.identity.resources.update_project(
        w.admin, w.ids["proj"], {"enabled": False}), None),
    "project deleted": (PROJECT, lambda w: w.identity.resources.delete_project(
        w.admin, w.ids["proj"]), None),
    "project renamed": (PROJECT, lambda w: w.identity.resources.update_project(
        w.admin, w.ids["proj"], {"name": "renamed"}), lambda t: t.project.name == "renamed"),
    "domain disabled": (DOMAIN, lambda w: w.identity.resources.update_domain(
        w.admin, w.ids["dom"], {"enabled": False}), None),
    "domain renamed": (PROJECT, lambda w: w.identity.resources.update_domain(
        w.admin, w.ids["dom"], {"name": "dom-2"}),
        lambda t: (t.user_domain.name, t.project_domain.name) == ("dom-2", "dom-2")),
    "application credential deleted": (APP_CRED, lambda w: w.identity.app_credentials.delete(
        w.project_token.context(), w.ids["carol"], w.ids["cred"]), None),
}


@pytest.mark.parametrize("token_name, change, expect", CHANGES.values(), ids=CHANGES.keys())
def test_a_cached_validation_does_not_outlive_a_change(world, token_name, change, expect):
    tokens = world.identity.tokens
    token: Token = getattr(world, token_name)
    before = tokens.validate(token.id)
    assert served_from_cache(world.identity, token)
    if expect is not None:
        assert not expect(before)  # the change is one the validation shows
    change(world)
    if expect is None:
        with pytest.raises(errors.Unauthorized):
            tokens.validate(token.id)
    else:
        assert expect(tokens.validate(token.id))


def test_a_change_on_another_node_holds_here_at_once(world):
    """Two processes share only the database: each has its own cache."""
    other_db = Database(world.settings.effective_database_url)
    try:
        other = build_identity(world.settings, other_db, POLICY, prepare_keys=False)
        token = world.project_token
        here, there = world.identity.tokens, other.tokens
        assert role_names(there.validate(token.id)) == role_names(here.validate(token.id))
        assert served_from_cache(world.identity, token) and served_from_cache(other, token)
        other.assignments.revoke_grant(world.admin, world.ids["observer"],
                                       group_id=world.ids["grp"], project_id=world.ids["proj"])
        assert role_names(here.validate(token.id)) == ["member", "reader"]
        there.revoke(world.admin, token.id)
        with pytest.raises(errors.Unauthorized):
            here.validate(token.id)
    finally:
        other_db.dispose()


def test_which_writes_move_the_revision(world):
    revisions, db = world.identity.tokens.revisions, world.identity.tokens.db
    start = revisions.current()
    assert start is not None
    with db.session() as s:  # tables no validation reads
        s.add(Region(id="elsewhere"))
        s.add(Credential(id="c1", user_id=world.ids["carol"], type="ec2", encrypted_blob="x"))
    with pytest.raises(errors.Conflict):  # a write that fails: nothing is bumped either
        world.identity.resources.create_project(world.admin, "proj",
                                                domain_id=world.ids["dom"])
    assert revisions.current() == start
    assert served_from_cache(world.identity, world.project_token)
    with db.session() as s:  # statements, not objects, count too
        s.execute(update(User).where(User.id == "nobody").values(name="x"))
    with db.session() as s:
        s.execute(delete(RevocationEvent).where(RevocationEvent.id == -1))
    assert revisions.current() == start + 2


def test_expiry_is_checked_on_every_use(world):
    tokens = world.identity.tokens
    token = world.app_cred_token
    key = cache_key(token.id)
    entry = tokens.cache.get(key)
    assert entry is not None and entry.validation.app_cred is not None
    an_hour_ago = utcnow() - timedelta(hours=1)
    # As if time had passed since the entry was made: it is not served any more.
    tokens.cache.put(key, replace(entry, payload=replace(entry.payload, expires_at=an_hour_ago)))
    with pytest.raises(errors.Unauthorized, match="^The token has expired.$"):
        tokens.validate(token.id)
    assert tokens.validate(token.id, allow_expired=True).id == token.id
    cred = replace(entry.validation.app_cred, expires_at=an_hour_ago)
    tokens.cache.put(key, replace(entry, validation=replace(entry.validation, app_cred=cred)))
    with pytest.raises(errors.Unauthorized, match="^The application credential is gone.$"):
        tokens.validate(token.id)


def test_a_rotation_that_drops_the_token_key_refuses_the_cached_token(world):
    token = world.project_token
    keys = world.identity.token_keys
    keys.rotate()  # a new primary: the token's key stays, the cached entry is re-parsed
    assert world.identity.tokens.validate(token.id).id == token.id
    assert served_from_cache(world.identity, token)
    keys.rotate()  # the token's key is purged
    with pytest.raises(errors.Unauthorized, match="^Invalid token.$"):
        world.identity.tokens.validate(token.id)


def test_the_cache_is_bounded_and_keeps_the_most_recently_used():
    cache = LruTokenCache(2)
    v = CachedToken("keys", TokenPayload("u", ("password",), utcnow(), ("a",)),
                    Validation(1, UserRef("u", "n", "d"), DomainRef("d", "D")))
    cache.put("a", v)
    cache.put("b", v)
    assert cache.get("a") is v
    cache.put("c", v)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (v, None, v, 2)
    cache.clear()
    assert cache.get("a") is None
    off = LruTokenCache(0)
    off.put("a", v)
    assert off.get("a") is None


def test_an_entry_survives_json_and_its_key_is_not_the_token(world):
    token = world.app_cred_token
    entry = world.identity.tokens.cache.get(cache_key(token.id))
    assert entry is not None and token.id not in cache_key(token.id)
    assert CachedToken.from_dict(json.loads(json.dumps(entry.as_dict()))) == entry
    v = entry.validation
    with_expiry = Validation(3, v.user, v.user_domain, (RoleRef("r", "reader"),),
                             app_cred=AppCredRef("c", "ci", True, utcnow()))
    assert Validation.from_dict(json.loads(json.dumps(with_expiry.as_dict()))) == with_expiry
