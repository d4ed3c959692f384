"""Tests for core/policy/sample.py: the sample loads back to the defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from core.policy import Enforcer, RuleDefault
from core.policy.defaults import all_defaults
from core.policy.sample import render_sample

DEFAULTS = all_defaults()
EXPECTED = {rule.name: rule.check_str for rule in DEFAULTS}


def test_yaml_sample_parses_back_to_every_rule() -> None:
    text = render_sample(DEFAULTS)
    assert yaml.safe_load(text) == EXPECTED
    assert list(yaml.safe_load(text)) == list(EXPECTED)  # order kept


def test_json_sample_parses_back_to_every_rule() -> None:
    assert json.loads(render_sample(DEFAULTS, fmt="json")) == EXPECTED


def test_yaml_sample_documents_each_rule() -> None:
    text = render_sample(DEFAULTS)
    assert "# Show project details.\n#   GET /projects/{project_id}\n" \
           '"identity:get_project": ' in text
    assert '# Validate a token.\n#   GET /auth/tokens\n"identity:validate_token"' in text


def test_awkward_text_survives_the_round_trip() -> None:
    rules = [RuleDefault("odd:rule", "'member':%(target.role.name)s or role:\u00e9\"#",
                         "Line one.\nLine two: with # and \u00fcml\u00e4uts.", (("GET", "/x"),)),
             RuleDefault("empty", "", "")]
    text = render_sample(rules)
    assert yaml.safe_load(text) == {rule.name: rule.check_str for rule in rules}
    assert "# Line one.\n# Line two: with # and" in text


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="toml"):
        render_sample(DEFAULTS, fmt="toml")


@pytest.mark.parametrize(("fmt", "filename"), [("yaml", "policy.yaml"), ("json", "policy.json")])
def test_sample_as_override_file_changes_no_decision(tmp_path: Path, fmt: str,
                                                     filename: str) -> None:
    path = tmp_path / filename
    path.write_text(render_sample(DEFAULTS, fmt=fmt))
    from_sample, from_code = Enforcer(DEFAULTS, path), Enforcer(DEFAULTS, None)
    assert dict(from_sample.overrides()) == EXPECTED
    personas = [
        {},
        {"user_id": "u1", "project_id": "p1", "roles": ["member", "reader"], "domain_id": None},
        {"user_id": "u2", "project_id": "p2", "roles": ["admin"], "domain_id": None},
        {"user_id": "u3", "domain_id": "default", "roles": ["manager", "reader"]},
        {"user_id": "u4", "system_scope": "all", "roles": ["reader"]},
        {"user_id": "u5", "roles": ["service"]},
    ]
    targets = [
        {},
        {"user_id": "u1", "target.token.user_id": "u1", "target.credential.user_id": "u1",
         "target.user.id": "u1", "target.user.domain_id": "default"},
        {"target.project.id": "p1", "target.project.domain_id": "default",
         "target.domain.id": "default", "target.domain_id": "default"},
        {"target.role.name": "member", "target.role.domain_id": None,
         "target.group.domain_id": "default", "target.user.domain_id": "default",
         "target.project.domain_id": "default"},
    ]
    for rule in EXPECTED:
        for creds in personas:
            for target in targets:
                assert from_sample.authorize(rule, target, creds) == \
                    from_code.authorize(rule, target, creds), (rule, creds, target)
