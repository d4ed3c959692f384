"""Fixtures of the identity service tests: the identity services on a SQLite
database of the test's own, bootstrapped (default domain, the admin ⇒ member
⇒ reader roles, the admin and demo accounts, the catalog), and tokens got by
password as a client gets them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from core.apis import SERVED_APIS
from core.context import RequestContext
from core.db import Database
from core.identity.bootstrap import BootstrapResult, bootstrap
from core.identity.service import IdentityService
from core.identity.tokens import Token
from core.policy import Enforcer
from core.policy.defaults import all_defaults
from core.services import build_identity
from core.settings import Settings, load_settings
from tests.support.core_services import migrated_database

Login = Callable[..., Token]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load_settings({}, data_dir=tmp_path, bcrypt_rounds=4)


@pytest.fixture
def db(settings) -> Iterator[Database]:
    database = migrated_database(settings)
    yield database
    database.dispose()


@pytest.fixture
def identity(settings, db) -> IdentityService:
    return build_identity(settings, db, Enforcer(all_defaults(), None))


@pytest.fixture
def boot(settings, identity) -> BootstrapResult:
    return bootstrap(settings, identity, services=SERVED_APIS)


@pytest.fixture
def login(identity) -> Login:
    """A token for ``name`` (default domain) by password, scoped to ``project``
    (by default, the project of the same name; None: no scope given)."""

    def issue(name: str, password: str, project: str | None = "", **scope) -> Token:
        auth: dict = {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"id": "default"}, "password": password}}}}
        if scope:
            auth["scope"] = scope
        elif project is not None:
            auth["scope"] = {"project": {"name": project or name, "domain": {"id": "default"}}}
        return identity.tokens.authenticate(auth)

    return issue


@pytest.fixture
def admin(boot) -> RequestContext:
    """The bootstrap admin, scoped to the admin project."""
    return boot.admin_context


@pytest.fixture
def demo_token(boot, login) -> Token:
    return login("demo", boot.demo_password)


@pytest.fixture
def demo(demo_token) -> RequestContext:
    """The bootstrap demo user (member, and so reader) in the demo project."""
    return demo_token.context()
