"""Each project's AWS-style account id: twelve decimal digits, random, stored.

EC2 names the owner of everything by an account id (``OwnerId``, the account
field of ARNs, ``UserId`` in launch permissions and group pairs); a project is
this cloud's account. Its id is drawn at random (a leading zero is allowed, as
in AWS) and stored in ``project_accounts`` on first sight: the identity domain
sits on the same layer as this package and knows nothing of EC2, so every
project gets its id the first time an EC2 answer names it, projects created
before this table existed included. Two nodes minting for the same project at
once agree on one id (the primary key decides); an id drawn twice is drawn
again. The mapping never changes and is never deleted, so an id is never
reused, and each :class:`AccountIds` keeps what it has read in memory.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from core import errors
from core.db import Database
from core.idmap.models import ProjectAccount

DIGITS = 12
ACCOUNT_ID = re.compile(r"[0-9]{12}")
_CHUNK = 500  # bound parameters per IN (...) query
_ATTEMPTS = 5  # a race is retried once; ids drawn twice (1 in 10^12) about never
_CACHE_LIMIT = 100_000  # entries kept in memory before starting over


def mint_account() -> str:
    """A new random account id (not yet stored)."""
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def is_account_id(value: str) -> bool:
    """Whether ``value`` has the form of an account id (twelve digits)."""
    return bool(ACCOUNT_ID.fullmatch(value))


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


class AccountIds:
    """Reads and mints the account ids of projects."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._accounts: dict[str, str] = {}  # project id -> account id
        self._projects: dict[str, str] = {}  # account id -> project id

    def _remember(self, pairs: Iterable[tuple[str, str]]) -> None:
        if len(self._accounts) > _CACHE_LIMIT:
            self._accounts, self._projects = {}, {}
        for project_id, account_id in pairs:
            self._accounts[project_id] = account_id
            self._projects[account_id] = project_id

    def account_id_for(self, project_id: str) -> str:
        """The account id of one project, minted if it has none yet ("" for
        no project)."""
        return self.account_ids_for([project_id])[project_id]

    def account_ids_for(self, project_ids: Iterable[str]) -> dict[str, str]:
        """Account ids by project id: one read for those not in memory, and one
        batch insert for those that have none yet. "" (an object without an
        owner) maps to ""."""
        wanted = list(dict.fromkeys(project_ids))
        found = self.existing(wanted)
        if "" in wanted:
            found[""] = ""
        for _ in range(_ATTEMPTS):
            missing = [p for p in wanted if p not in found]
            if not missing:
                return found
            drawn = [mint_account() for _ in missing]
            if len(set(drawn)) != len(drawn):
                continue
            rows = [{"project_id": p, "account_id": a} for p, a in zip(missing, drawn,
                                                                         strict=True)]
            try:
                with self.db.session() as s:
                    s.execute(insert(ProjectAccount), rows)
            except IntegrityError:
                # Another node minted for one of them, or an id is taken: read
                # what is there and draw again for the rest.
                found.update(self.existing(missing))
                continue
            pairs = [(r["project_id"], r["account_id"]) for r in rows]
            self._remember(pairs)
            found.update(pairs)
        raise errors.ServiceUnavailable("Could not allocate account ids; retry later.")

    def existing(self, project_ids: Iterable[str]) -> dict[str, str]:
        """Account ids by project id of those projects that have one (read only)."""
        wanted = [p for p in dict.fromkeys(project_ids) if p]
        cached = self._accounts  # one dict, even if another thread starts over
        out = {p: cached[p] for p in wanted if p in cached}
        unknown = [p for p in wanted if p not in out]
        if not unknown:
            return out
        read: list[tuple[str, str]] = []
        with self.db.session() as s:
            for chunk in _chunks(unknown):
                read += s.execute(select(ProjectAccount.project_id, ProjectAccount.account_id)
                                  .where(ProjectAccount.project_id.in_(chunk))).tuples()
        self._remember(read)
        out.update(read)
        return out

    def project_ids_for(self, account_ids: Iterable[str]) -> dict[str, str]:
        """Project ids by account id, for the account ids that name a project;
        others (unknown, or not twelve digits) are absent. Read only."""
        wanted = [a for a in dict.fromkeys(account_ids) if is_account_id(a)]
        cached = self._projects
        out = {a: cached[a] for a in wanted if a in cached}
        unknown = [a for a in wanted if a not in out]
        if not unknown:
            return out
        read: list[tuple[str, str]] = []
        with self.db.session() as s:
            for chunk in _chunks(unknown):
                read += s.execute(select(ProjectAccount.project_id, ProjectAccount.account_id)
                                  .where(ProjectAccount.account_id.in_(chunk))).tuples()
        self._remember(read)
        out.update((a, p) for p, a in read)
        return out

    def project_ids_named(self, values: Iterable[str]) -> dict[str, str]:
        """The project each of ``values`` names, as EC2 callers give an owner:
        an account id (that of a project), else the value taken as a project
        id. By value."""
        given = list(dict.fromkeys(values))
        projects = self.project_ids_for(given)
        return {v: projects.get(v, v) for v in given}
