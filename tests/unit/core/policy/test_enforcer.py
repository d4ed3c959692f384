"""Tests for core/policy/enforcer.py: defaults, overrides, reloading, errors."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.context import RequestContext
from core.errors import Forbidden
from core.policy import Enforcer, RuleDefault
from core.policy import enforcer as enforcer_module
from core.policy.defaults import all_defaults

DEFAULTS = [
    RuleDefault("context_is_admin", "role:admin", "Admin."),
    RuleDefault("owner", "user_id:%(user_id)s", "Owner."),
    RuleDefault("thing:get", "rule:context_is_admin or rule:owner", "Get a thing.",
                (("GET", "/things/{id}"),)),
    RuleDefault("thing:delete", "rule:context_is_admin", "Delete a thing."),
]
MEMBER = {"user_id": "u1", "project_id": "p1", "roles": ["member"], "password": "s3cr3t"}
ADMIN = {"user_id": "a1", "project_id": "p0", "roles": ["admin"]}
MINE = {"user_id": "u1"}


def write(path: Path, text: str) -> None:
    path.write_text(text)


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    return tmp_path / "policy.yaml"


def test_defaults_without_a_file() -> None:
    enforcer = Enforcer(DEFAULTS, None)
    assert enforcer.authorize("thing:get", MINE, MEMBER)
    assert not enforcer.authorize("thing:get", {"user_id": "u2"}, MEMBER)
    assert enforcer.authorize("thing:delete", MINE, ADMIN)
    assert not enforcer.authorize("thing:delete", MINE, MEMBER)


def test_missing_and_empty_files_mean_no_overrides(policy_file: Path) -> None:
    assert Enforcer(DEFAULTS, policy_file).authorize("thing:get", MINE, MEMBER)
    for text in ("", "\n  \n", "# only a comment\n", "{}"):
        write(policy_file, text)
        enforcer = Enforcer(DEFAULTS, policy_file)
        assert enforcer.overrides() == {}
        assert enforcer.authorize("thing:get", MINE, MEMBER)


def test_json_override_replaces_a_default_and_adds_rules(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    write(path, json.dumps({"thing:delete": "rule:owner", "thing:new": "role:member"}))
    enforcer = Enforcer(DEFAULTS, path)
    assert enforcer.authorize("thing:delete", MINE, MEMBER)
    assert enforcer.authorize("thing:new", {}, MEMBER)
    assert enforcer.has_rule("thing:new")
    assert enforcer.authorize("thing:get", MINE, MEMBER)  # untouched default


def test_yaml_override_with_list_of_lists_and_new_base_rule(policy_file: Path) -> None:
    write(policy_file, """
# operators may add their own base rules
is_member: role:member
thing:get: rule:is_member and not role:banned
thing:delete: [["role:member", "user_id:%(user_id)s"], ["role:admin"]]
""")
    enforcer = Enforcer(DEFAULTS, policy_file)
    assert enforcer.authorize("thing:get", {"user_id": "other"}, MEMBER)
    assert not enforcer.authorize("thing:get", {}, {**MEMBER, "roles": ["member", "BANNED"]})
    assert enforcer.authorize("thing:delete", MINE, MEMBER)
    assert not enforcer.authorize("thing:delete", {"user_id": "u2"}, MEMBER)


def test_file_changes_are_seen_by_the_next_call(policy_file: Path) -> None:
    write(policy_file, '"thing:delete": "@"\n')
    enforcer = Enforcer(DEFAULTS, policy_file)
    assert enforcer.authorize("thing:delete", {}, MEMBER)
    # Same size, written at once: the stat may not change, the contents do.
    write(policy_file, '"thing:delete": "!"\n')
    assert not enforcer.authorize("thing:delete", {}, ADMIN)
    write(policy_file, '"thing:delete": "role:member or role:admin"\n')
    assert enforcer.authorize("thing:delete", {}, MEMBER)
    policy_file.unlink()  # removing the file restores the defaults
    assert not enforcer.authorize("thing:delete", {}, MEMBER)
    write(policy_file, '"thing:delete": "@"\n')
    assert enforcer.authorize("thing:delete", {}, MEMBER)


def test_rewrite_with_an_unchanged_stat_is_seen_while_racy(
        policy_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Coarse timestamps can leave inode, size, mtime and ctime unchanged by a
    # second write; until the file is RACY_SECONDS old its contents are compared.
    now = time.time()
    same_stat = (1, 20, int(now * 1e9), int(now * 1e9))
    monkeypatch.setattr(enforcer_module, "_stat", lambda path: same_stat)
    write(policy_file, '"thing:delete": "@"\n')
    enforcer = Enforcer(DEFAULTS, policy_file)
    assert enforcer.authorize("thing:delete", {}, MEMBER)
    write(policy_file, '"thing:delete": "!"\n')
    assert not enforcer.authorize("thing:delete", {}, MEMBER)
    # Once the file is old enough, the stat alone decides (no more reads).
    later = SimpleNamespace(time=lambda: now + enforcer_module.RACY_SECONDS + 1)
    monkeypatch.setattr(enforcer_module, "time", later)
    assert not enforcer.authorize("thing:delete", {}, MEMBER)
    write(policy_file, '"thing:delete": "@"\n')
    assert not enforcer.authorize("thing:delete", {}, MEMBER)


def test_replacing_the_file_by_rename_is_seen(policy_file: Path) -> None:
    write(policy_file, '"thing:delete": "@"\n')
    enforcer = Enforcer(DEFAULTS, policy_file)
    staged = policy_file.with_suffix(".new")
    write(staged, '"thing:delete": "!"\n')
    os.replace(staged, policy_file)
    assert not enforcer.authorize("thing:delete", {}, ADMIN)


@pytest.mark.parametrize("broken", [
    "thing:get: [unclosed",
    '{"thing:get": "@"',
    "- a list\n- not a mapping\n",
    "thing:get: 42\n",
    "thing:get:\n",          # null: oslo would read it as "always"; we refuse the file
    "1: role:admin\n",
    b"\xff\xfe garbage",
])
def test_broken_file_keeps_the_last_good_rules(
        policy_file: Path, broken: str | bytes, caplog: pytest.LogCaptureFixture) -> None:
    write(policy_file, '"thing:get": "role:member"\n')
    enforcer = Enforcer(DEFAULTS, policy_file)
    assert enforcer.authorize("thing:get", {}, MEMBER)
    with caplog.at_level(logging.ERROR, logger="core.policy.enforcer"):
        if isinstance(broken, bytes):
            policy_file.write_bytes(broken)
        else:
            write(policy_file, broken)
        assert enforcer.authorize("thing:get", {}, MEMBER)  # still the good override
        assert enforcer.authorize("thing:get", {}, MEMBER)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, "a broken file is reported once, not on every call"
    assert str(policy_file) in caplog.text and "s3cr3t" not in caplog.text
    write(policy_file, '"thing:get": "!"\n')  # fixing the file takes effect
    assert not enforcer.authorize("thing:get", {}, MEMBER)


def test_broken_file_at_start_up_means_defaults(policy_file: Path) -> None:
    write(policy_file, "{{{")
    enforcer = Enforcer(DEFAULTS, policy_file)
    assert enforcer.authorize("thing:get", MINE, MEMBER)
    assert not enforcer.authorize("thing:delete", MINE, MEMBER)


def test_unknown_rule_name_is_a_programming_error(policy_file: Path) -> None:
    enforcer = Enforcer(DEFAULTS, policy_file)
    with pytest.raises(KeyError, match="thing:nope"):
        enforcer.authorize("thing:nope", {}, ADMIN)
    with pytest.raises(KeyError):
        enforcer.enforce("thing:nope", {}, RequestContext(user_id="a1", roles=("admin",)))


def test_unknown_rule_reference_inside_a_rule_is_false(policy_file: Path) -> None:
    write(policy_file, '"thing:get": "rule:does_not_exist or rule:default"\n')
    assert not Enforcer(DEFAULTS, policy_file).authorize("thing:get", {}, ADMIN)


def test_duplicate_defaults_are_rejected() -> None:
    with pytest.raises(ValueError, match="twice"):
        Enforcer([*DEFAULTS, RuleDefault("owner", "@", "Again.")], None)


def test_enforce_raises_forbidden_with_the_rule_name() -> None:
    enforcer = Enforcer(DEFAULTS, None)
    member = RequestContext(user_id="u1", project_id="p1", roles=("member",))
    enforcer.enforce("thing:get", {"user_id": "u1"}, member)
    with pytest.raises(Forbidden) as raised:
        enforcer.enforce("thing:delete", {"user_id": "u1"}, member)
    assert raised.value.message == (
        "You are not authorized to perform the requested action: thing:delete.")


def test_is_admin_for_contexts_and_creds() -> None:
    enforcer = Enforcer(all_defaults(), None)
    assert enforcer.is_admin(RequestContext(user_id="a1", roles=("Admin",)))
    assert not enforcer.is_admin(RequestContext(user_id="u1", roles=("member",)))
    assert enforcer.is_admin({"roles": ["admin"]})
    assert not enforcer.is_admin({})


def test_nested_and_flat_targets_are_equivalent() -> None:
    enforcer = Enforcer(all_defaults(), None)
    creds = RequestContext(user_id="u1", project_id="p1", roles=("reader",)).policy_credentials()
    flat = {"target.project.id": "p1", "target.project.domain_id": "default"}
    nested = {"target": {"project": {"id": "p1", "domain_id": "default"}}}
    assert enforcer.authorize("identity:get_project", flat, creds)
    assert enforcer.authorize("identity:get_project", nested, creds)
    assert not enforcer.authorize("identity:get_project", {"target": {"project": {"id": "p2"}}},
                                  creds)


def test_system_scope_is_also_visible_as_system() -> None:
    enforcer = Enforcer([RuleDefault("sys", "system:all", "System scope.")], None)
    assert enforcer.authorize("sys", {}, {"system_scope": "all"})
    assert not enforcer.authorize("sys", {}, {"system_scope": None})


def test_concurrent_decisions_while_the_file_changes(policy_file: Path) -> None:
    write(policy_file, '"thing:delete": "@"\n')
    enforcer = Enforcer(DEFAULTS, policy_file)
    errors: list[BaseException] = []
    stop = threading.Event()

    def decide() -> None:
        try:
            while not stop.is_set():
                assert enforcer.authorize("thing:delete", {}, MEMBER) in (True, False)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for thread in threads:
        thread.start()
    for i in range(200):
        write(policy_file, '"thing:delete": "@"\n' if i % 2 else '"thing:delete": "!"\n')
    write(policy_file, '"thing:delete": "!"\n')
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    assert not enforcer.authorize("thing:delete", {}, MEMBER)
