"""Identity defaults by persona: who may do what, as Keystone's defaults say.

Personas hold project-scoped tokens in domain ``default`` (as our server
issues them) with Keystone's implied roles expanded. Targets describe the demo
member's own resources, flat with Keystone's dotted keys.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from core.context import RequestContext
from core.policy import Enforcer
from core.policy.defaults import all_defaults, identity

PERSONAS: dict[str, dict[str, Any]] = {
    "admin": RequestContext(user_id="u-admin", user_domain_id="default", project_id="p-admin",
                            project_domain_id="default",
                            roles=("admin", "manager", "member", "reader")).policy_credentials(),
    "member": RequestContext(user_id="u-demo", user_domain_id="default", project_id="p-demo",
                             project_domain_id="default",
                             roles=("member", "reader")).policy_credentials(),
    "reader": RequestContext(user_id="u-reader", user_domain_id="default", project_id="p-demo",
                             project_domain_id="default", roles=("reader",)).policy_credentials(),
    "other": RequestContext(user_id="u-other", user_domain_id="default", project_id="p-other",
                            project_domain_id="default",
                            roles=("member", "reader")).policy_credentials(),
    "anonymous": {},
}
ALL = frozenset(PERSONAS)
A, M = frozenset({"admin"}), frozenset({"admin", "member"})

PROJECT = {"target.project.id": "p-demo", "target.project.domain_id": "default",
           "target.project.name": "demo"}
USER = {"target.user.id": "u-demo", "target.user.domain_id": "default"}
GROUP = {"target.group.id": "g-1", "target.group.domain_id": "default"}
ROLE = {"target.role.id": "r-member", "target.role.name": "member", "target.role.domain_id": None}
TOKEN = {"target.token.user_id": "u-demo"}
EC2 = {"user_id": "u-demo", "target.credential.user_id": "u-demo"}
OWNER = {"user_id": "u-demo"}
NEW_PROJECT = {"target.project.domain_id": "default", "target.project.name": "new"}
NEW_USER = {"target.user.domain_id": "default", "target.user.name": "new"}

# rule (without "identity:") -> (target, personas allowed)
TABLE: dict[str, tuple[dict[str, Any], frozenset[str]]] = {
    "get_versions": ({}, ALL), "authenticate": ({}, ALL),
    "ec2tokens_validate": ({}, A),
    "validate_token": (TOKEN, M), "check_token": (TOKEN, M), "revoke_token": (TOKEN, M),
    "get_auth_catalog": ({}, ALL), "get_auth_projects": ({}, ALL), "get_auth_domains": ({}, ALL),
    "get_domain": ({"target.domain.id": "default"}, ALL - {"anonymous"}),
    "list_domains": ({}, A), "create_domain": ({"target.domain.name": "new"}, A),
    "update_domain": ({"target.domain.id": "default"}, A),
    "delete_domain": ({"target.domain.id": "default"}, A),
    "get_project": (PROJECT, frozenset({"admin", "member", "reader"})),
    "list_projects": ({}, A), "create_project": (NEW_PROJECT, A),
    "update_project": (PROJECT, A), "delete_project": (PROJECT, A),
    "list_user_projects": (USER, M),
    "get_user": (USER, M), "list_users": ({}, A), "create_user": (NEW_USER, A),
    "update_user": (USER, A), "delete_user": (USER, A),
    "change_password": (USER, frozenset({"member"})),  # only the user, not even admin
    "get_group": (GROUP, A), "list_groups": ({}, A), "create_group": (GROUP, A),
    "update_group": (GROUP, A), "delete_group": (GROUP, A), "list_users_in_group": (GROUP, A),
    "add_user_to_group": ({**GROUP, **USER}, A),
    "remove_user_from_group": ({**GROUP, **USER}, A),
    "check_user_in_group": ({**GROUP, **USER}, A),
    "list_groups_for_user": ({**OWNER, **USER}, M),
    "get_role": (ROLE, A), "list_roles": ({}, A), "create_role": ({"target.role.name": "x"}, A),
    "update_role": (ROLE, A), "delete_role": (ROLE, A),
    "get_implied_role": (ROLE, A), "list_implied_roles": (ROLE, A),
    "create_implied_role": (ROLE, A), "delete_implied_role": (ROLE, A),
    "check_implied_role": (ROLE, A), "list_role_inference_rules": ({}, A),
    "check_grant": ({**PROJECT, **USER, **ROLE}, A), "list_grants": ({**PROJECT, **USER}, A),
    "create_grant": ({**PROJECT, **USER, **ROLE}, A),
    "revoke_grant": ({**PROJECT, **USER, **ROLE}, A),
    "list_role_assignments": ({}, A),
    "get_region": ({"target.region.id": "RegionOne"}, ALL), "list_regions": ({}, ALL),
    "create_region": ({}, A), "update_region": ({}, A), "delete_region": ({}, A),
    "get_service": ({}, A), "list_services": ({}, A), "create_service": ({}, A),
    "update_service": ({}, A), "delete_service": ({}, A),
    "get_endpoint": ({}, A), "list_endpoints": ({}, A), "create_endpoint": ({}, A),
    "update_endpoint": ({}, A), "delete_endpoint": ({}, A),
    "ec2_get_credential": (EC2, M), "ec2_list_credentials": (EC2, M),
    "ec2_create_credential": (EC2, M), "ec2_delete_credential": (EC2, M),
    "get_application_credential": (OWNER, M), "list_application_credentials": (OWNER, M),
    "create_application_credential": (OWNER, frozenset({"member"})),
    "delete_application_credential": (OWNER, M),
}
CASES = [(f"identity:{name}", persona, target, persona in allowed)
         for name, (target, allowed) in TABLE.items() for persona in PERSONAS]


@pytest.fixture(scope="module")
def enforcer() -> Enforcer:
    return Enforcer(all_defaults(), None)


def test_every_identity_rule_is_registered_once_and_in_the_table() -> None:
    names = [rule.name for rule in identity.RULES]
    assert [n for n, count in Counter(names).items() if count > 1] == []
    assert set(names) == {f"identity:{name}" for name in TABLE}
    everything = [rule.name for rule in all_defaults()]
    assert len(everything) == len(set(everything))
    assert all(rule.description and rule.operations for rule in identity.RULES)


@pytest.mark.parametrize(("rule", "persona", "target", "allowed"), CASES,
                         ids=[f"{rule}-{persona}" for rule, persona, _, _ in CASES])
def test_persona(enforcer: Enforcer, rule: str, persona: str, target: dict[str, Any],
                 allowed: bool) -> None:
    assert enforcer.authorize(rule, target, PERSONAS[persona]) is allowed


@pytest.mark.parametrize(("rule", "target", "allowed"), [
    # the reader acting on its own resources
    ("identity:get_user", {"target.user.id": "u-reader", "target.user.domain_id": "default"},
     True),
    ("identity:ec2_list_credentials", {"user_id": "u-reader"}, True),
    ("identity:ec2_create_credential", {"target.credential.user_id": "u-reader"}, False),
    ("identity:create_application_credential", {"user_id": "u-reader"}, True),
    ("identity:validate_token", {"target.token.user_id": "u-reader"}, True),
    ("identity:change_password", {"target.user.id": "u-reader"}, True),
    # a None in a list target reads as "None", the unset domain of a project token
    ("identity:list_users", {"target.domain_id": None}, True),
])
def test_reader_cases(enforcer: Enforcer, rule: str, target: dict[str, Any],
                          allowed: bool) -> None:
    assert enforcer.authorize(rule, target, PERSONAS["reader"]) is allowed


def test_domain_manager_and_system_reader(enforcer: Enforcer) -> None:
    manager = RequestContext(user_id="u-dm", user_domain_id="default", domain_id="default",
                             roles=("manager", "member", "reader")).policy_credentials()
    assert enforcer.authorize("identity:create_user", NEW_USER, manager)
    assert enforcer.authorize("identity:create_project", NEW_PROJECT, manager)
    assert not enforcer.authorize("identity:create_user", {"target.user.domain_id": "d2"}, manager)
    assert not enforcer.authorize("identity:create_role", {}, manager)
    system_reader = RequestContext(user_id="u-sr", system_scope="all",
                                   roles=("reader",)).policy_credentials()
    assert enforcer.authorize("identity:list_domains", {}, system_reader)
    assert not enforcer.authorize("identity:create_domain", {}, system_reader)


def test_same_decisions_as_oslo_policy_enforcer(enforcer: Enforcer) -> None:
    conf = cfg.ConfigOpts()
    conf([], project="nimbus-policy-test", default_config_files=[], default_config_dirs=[])
    oslo = oslo_policy.Enforcer(conf, policy_file="/nonexistent/nimbus-policy.yaml")
    oslo.register_defaults([oslo_policy.RuleDefault(rule.name, rule.check_str)
                            for rule in all_defaults()])
    oslo.load_rules()
    for rule, persona, target, _ in CASES:
        creds = dict(PERSONAS[persona])
        assert enforcer.authorize(rule, target, creds) is bool(oslo.enforce(rule, target, creds)), \
            (rule, persona)
