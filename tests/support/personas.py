"""The five personas the persona tests try every operation as, and what those
tests share besides: which status a case expects and the cases a table makes.

``admin``      the bootstrap admin, admin on project ``admin``
``member``     role member on the project under test: the bootstrap ``demo`` user
               on project ``demo``, or a new user on a new project
``reader``     a new user with only the reader role on that project
``other``      a new user, member on a new project of its own
``anonymous``  no token at all

Each persona test module keeps its own API base, long-lived resources and table
of rows; a row names an operation (``op``), a ``key`` unique in its table, and
the personas policy lets through (``allowed``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from keystoneauth1.session import Session

from tests.conftest import ksa_session
from tests.support.identity import IdentityAdmin
from tests.support.server import Server

PERSONAS = ("admin", "member", "reader", "other", "anonymous")
EVERYONE = frozenset(PERSONAS)
AUTHENTICATED = EVERYONE - {"anonymous"}
ADMIN = frozenset({"admin"})


@dataclass
class Persona:
    """A caller: its session (one with no authentication for anonymous) and, for
    the others, its project, user and the name and password it signs in with."""

    name: str
    session: Session
    project_id: str | None = None
    user_id: str | None = None
    username: str | None = None
    password: str | None = None


def bootstrap_persona(server: Server, name: str, username: str,
                      session: Session | None = None) -> Persona:
    """A persona for a bootstrap user (``admin`` or ``demo``), on the project of
    the same name; ``session`` if it has one already."""
    password = server.password(username)
    session = session or ksa_session(server, username, password, username)
    return Persona(name, session, session.get_project_id(), session.get_user_id(),
                   username, password)


def admin_identity(server: Server, prefix: str) -> IdentityAdmin:
    """Identity v3 as the bootstrap admin, on a session of the module's own."""
    session = ksa_session(server, "admin", server.password("admin"), "admin")
    return IdentityAdmin(server, session, prefix)


def new_persona(identity: IdentityAdmin, name: str, project: Mapping[str, Any],
                role: str) -> Persona:
    """A persona for a new user holding ``role`` on ``project`` (its id and name)."""
    user = identity.new_user(name, project["id"], role)
    session = ksa_session(identity.server, user.name, user.password, project["name"])
    return Persona(name, session, project["id"], user.id, user.name, user.password)


def make_personas(identity: IdentityAdmin, member: Literal["demo", "new"] = "demo"
                  ) -> dict[str, Persona]:
    """The five personas. The admin is the bootstrap admin whose session
    ``identity`` uses. ``member="demo"``: the member is the bootstrap ``demo``
    user and the reader reads project ``demo``; ``member="new"``: both are new
    users of a new project, so nothing the module does touches ``demo``."""
    admin = bootstrap_persona(identity.server, "admin", "admin", identity.session)
    if member == "demo":
        member_persona = bootstrap_persona(identity.server, "member", "demo")
        project: Mapping[str, Any] = {"id": member_persona.project_id, "name": "demo"}
    else:
        project = identity.new_project()
        member_persona = new_persona(identity, "member", project, "member")
    return {"admin": admin, "member": member_persona,
            "reader": new_persona(identity, "reader", project, "reader"),
            "other": new_persona(identity, "other", identity.new_project(), "member"),
            "anonymous": Persona("anonymous", Session())}


# ---------------------------------------------------------------- the cases

def expected_status(persona: str, allowed: frozenset[str], success: int,
                    hidden: frozenset[str] = frozenset()) -> int:
    """The status a persona's request must answer: ``success`` if policy lets it
    through; else 401 without a token, 404 if the resource is hidden from the
    persona (it may not learn the resource exists) and 403 if policy refuses it."""
    if persona in allowed:
        return success
    if persona == "anonymous":
        return 401
    return 404 if persona in hidden else 403


def persona_cases(rows: Iterable[Any]) -> list[Any]:
    """One case per row and persona, with the id ``<row key>-<persona>``. A row
    may narrow who tries it (``personas``) and mark a persona's known bug
    (``xfail``: persona -> reason), which must then fail (strict)."""
    cases = []
    for row in rows:
        xfail: Mapping[str, str] = getattr(row, "xfail", {})
        for persona in getattr(row, "personas", PERSONAS):
            marks = []
            if persona in xfail:
                marks.append(pytest.mark.xfail(reason=xfail[persona], strict=True))
            cases.append(pytest.param(row.key, persona, id=f"{row.key}-{persona}", marks=marks))
    return cases


def request_path(template: str, params: Mapping[str, str]) -> str:
    """The operation's path with the row's parameters filled in; the row must
    give exactly the parameters the path names."""
    assert set(params) == set(re.findall(r"{(\w+)}", template)), "path parameters"
    return template.format(**params)


def assert_rows_cover(spec: Mapping[str, Any], rows: Sequence[Any]) -> None:
    """Every operation of ``spec`` has a row, every row an operation of ``spec``,
    and no two rows share a key (an operation and variant)."""
    covered = {row.op for row in rows}
    assert sorted(set(spec) - covered) == [], "operations without persona cases"
    assert sorted(covered - set(spec)) == [], "persona cases for unknown operations"
    assert len({row.key for row in rows}) == len(rows), \
        "two rows share an operation and variant"
