"""core/network/security_groups.py: the default group made on first use,
groups created, renamed (instances follow, through the injected
InstanceRecords) and deleted (not while in use), rules added and removed, and
the groups a boot names (concurrency: tests/db/test_network_races.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import errors
from core.compute import states
from core.idmap.ids import Kind
from core.network.models import SecurityGroup
from core.network.security_group_types import (
    EGRESS,
    INGRESS,
    IPV4,
    IPV6,
    MAX_RULES,
    DefaultGroupProtected,
    DuplicateGroup,
    DuplicateRule,
    GroupInUse,
    GroupNotFound,
    InvalidRule,
    RuleNotFound,
    RuleSpec,
    UnknownSecurityGroup,
)
from core.network.security_groups import SecurityGroupService
from core.services import CoreServices
from tests.support.core_services import ADMIN, MEMBER, OTHER, READER, add_instance

SSH = RuleSpec(INGRESS, "tcp", 22, 22, cidr="10.1.2.3/8")


def egress_rules(group) -> list[tuple]:
    """The two egress rules every new group gets (IPv4 and IPv6, anywhere)."""
    return sorted((r.direction, r.ethertype, r.protocol, r.cidr, r.remote_group_uuid)
                  for r in group.rules if r.direction == EGRESS)


EGRESS_ANYWHERE = [(EGRESS, IPV4, None, None, None), (EGRESS, IPV6, None, None, None)]


@pytest.fixture
def groups(core: CoreServices) -> SecurityGroupService:
    return core.security_groups


def test_the_default_group_is_made_on_first_use(core, groups):
    (default,) = groups.list_groups(MEMBER)
    assert (default.name, default.description, default.is_default) == \
        ("default", "Default security group", True)
    # Neutron's four: ingress from the group's members and egress anywhere, IPv4 and IPv6
    assert sorted((r.direction, r.ethertype, r.protocol, r.cidr, r.remote_group_uuid)
                  for r in default.rules) == [*EGRESS_ANYWHERE,
                                              (INGRESS, IPV4, None, None, default.uuid),
                                              (INGRESS, IPV6, None, None, default.uuid)]
    assert [g.uuid for g in groups.list_groups(MEMBER)] == [default.uuid]  # made once
    usage = core.quotas.usage("p1")
    assert (usage["security_groups"], usage["security_group_rules"]) == (1, 4)
    assert groups.find(MEMBER, "default").uuid == default.uuid
    assert core.ids.existing(Kind.SECURITY_GROUP, [default.uuid])


def test_create_get_find_and_list(core, groups):
    web = groups.create(MEMBER, "web", "web servers")
    assert (web.project_id, web.description) == ("p1", "web servers")
    assert egress_rules(web) == EGRESS_ANYWHERE and len(web.rules) == 2
    assert groups.get(MEMBER, web.uuid) == web
    assert groups.find(MEMBER, "web") == groups.find(MEMBER, web.uuid) == web
    assert [g.name for g in groups.list_groups(MEMBER)] == ["default", "web"]
    groups.create(OTHER, "db", "")
    assert [g.name for g in groups.list_groups(MEMBER, all_projects=True)] == ["default", "web"]
    assert {g.name for g in groups.list_groups(ADMIN, all_projects=True)} == \
        {"default", "web", "db"}
    assert groups.ec2_ids_by_name("p1", ["web", "nope"]) == {
        "web": core.ids.existing(Kind.SECURITY_GROUP, [web.uuid])[web.uuid]}


def test_another_projects_group_is_not_found(groups):
    web = groups.create(MEMBER, "web", "")
    with pytest.raises(GroupNotFound, match=f"^Security group {web.uuid} not found.$"):
        groups.get(OTHER, web.uuid)
    with pytest.raises(GroupNotFound):
        groups.find(OTHER, "web")
    assert groups.get(ADMIN, web.uuid).name == "web"


def test_create_refusals(groups):
    groups.create(MEMBER, "web", "")
    with pytest.raises(DuplicateGroup, match="^Security group web already exists$"):
        groups.create(MEMBER, "web", "")
    with pytest.raises(DuplicateGroup, match="^Security group default already exists$"):
        groups.create(MEMBER, "default", "")
    with pytest.raises(errors.InvalidInput, match="description should not be greater"):
        groups.create(MEMBER, "long", "d" * 256)
    with pytest.raises(errors.InvalidInput, match="^Security group name cannot be empty.$"):
        groups.create(MEMBER, " ", "")
    with pytest.raises(errors.Forbidden):
        groups.create(READER, "mine", "")
    groups.create(OTHER, "web", "")  # names are per project


def test_rename_follows_the_instances(core, groups):
    web = groups.create(MEMBER, "web", "")
    inst = add_instance(core.db, security_groups=["default", "web"])
    renamed = groups.update(MEMBER, web.uuid, "www", "front")
    assert (renamed.name, renamed.description) == ("www", "front")
    assert core.instances.get(inst).security_groups == ["default", "www"]
    groups.create(MEMBER, "db", "")
    with pytest.raises(DuplicateGroup):
        groups.update(MEMBER, web.uuid, "db", None)
    assert groups.get(MEMBER, web.uuid).name == "www"


class StubInstances:
    """InstanceRecords as the network domain sees it, with no compute behind it."""

    def __init__(self, in_use: list[tuple[str, list[str]]]) -> None:
        self.in_use = in_use
        self.written: list[tuple[str, list[str]]] = []

    def project_of(self, uuid: str) -> str:
        return "p1"

    def is_live(self, s, uuid: str) -> bool:
        return True

    def security_groups_in_use(self, s, project_id: str) -> list[tuple[str, list[str]]]:
        return self.in_use if project_id == "p1" else []

    def set_security_groups(self, s, uuid: str, names) -> None:
        self.written.append((uuid, list(names)))


def test_instances_are_asked_through_the_injected_records(core):
    stub = StubInstances([("i-1", ["web", "db"]), ("i-2", ["db"])])
    groups = SecurityGroupService(core.db, core.policy, stub, core.quotas)
    web, db = groups.create(MEMBER, "web", ""), groups.create(MEMBER, "db", "")
    groups.update(MEMBER, web.uuid, "www", None)
    assert stub.written == [("i-1", ["www", "db"])]
    with pytest.raises(GroupInUse):
        groups.delete(MEMBER, db.uuid)
    stub.in_use = []
    groups.delete(MEMBER, db.uuid)


def test_no_group_is_renamed_default(groups):
    """Not even before anything made the project's default group: the renamed
    group would become it, without its rules, and could never be changed again."""
    web = groups.create(MEMBER, "web", "")  # before anything made the default group
    with pytest.raises(errors.InvalidInput):
        groups.update(MEMBER, web.uuid, "default", None)


def test_the_default_group_keeps_its_name_and_stays(groups):
    default = groups.find(MEMBER, "default")
    with pytest.raises(DefaultGroupProtected, match="^Unable to update system group 'default'$"):
        groups.update(MEMBER, default.uuid, "renamed", None)
    assert groups.update(MEMBER, default.uuid, None, "mine").description == "mine"
    with pytest.raises(DefaultGroupProtected, match="^Unable to delete system group 'default'$"):
        groups.delete(MEMBER, default.uuid)


def test_a_group_in_use_is_not_deleted(core, groups):
    web = groups.create(MEMBER, "web", "")
    inst = add_instance(core.db, security_groups=["web"])
    with pytest.raises(GroupInUse, match="^Security group is still in use$"):
        groups.delete(MEMBER, web.uuid)
    core.instances.update(inst, {"vm_state": states.DELETED})  # still live: not deleted
    with pytest.raises(GroupInUse):
        groups.delete(MEMBER, web.uuid)
    with core.db.session() as s:
        core.instances.get(inst, s).deleted = True
    groups.delete(MEMBER, web.uuid)
    with pytest.raises(GroupNotFound):
        groups.get(MEMBER, web.uuid)
    assert core.ids.existing(Kind.SECURITY_GROUP, [web.uuid]) == {}


def test_a_group_named_by_another_groups_rule_is_not_deleted(groups):
    web, db = groups.create(MEMBER, "web", ""), groups.create(MEMBER, "db", "")
    groups.add_rules(MEMBER, db.uuid, [RuleSpec(INGRESS, "tcp", 5432, 5432,
                                                remote_group=web.uuid)])
    with pytest.raises(GroupInUse):
        groups.delete(MEMBER, web.uuid)
    groups.delete(MEMBER, db.uuid)  # its rules go with it
    groups.delete(MEMBER, web.uuid)


def test_rules_are_added_canonical_and_removed(core, groups):
    web = groups.create(MEMBER, "web", "")
    (rule,) = groups.add_rules(MEMBER, web.uuid, [SSH])
    assert (rule.protocol, rule.port_min, rule.port_max, rule.cidr) == ("tcp", 22, 22,
                                                                        "10.0.0.0/8")
    assert rule.spec() == RuleSpec(INGRESS, "tcp", 22, 22, "10.0.0.0/8")
    with pytest.raises(DuplicateRule, match=f"^This rule already exists in group {web.uuid}$"):
        groups.add_rules(MEMBER, web.uuid, [RuleSpec(INGRESS, "tcp", 22, 22, "10.0.0.0/8")])
    assert core.quotas.usage("p1")["security_group_rules"] == 3
    groups.remove_rules(MEMBER, web.uuid, [SSH])
    assert egress_rules(groups.get(MEMBER, web.uuid)) == EGRESS_ANYWHERE
    assert len(groups.get(MEMBER, web.uuid).rules) == 2
    assert core.quotas.usage("p1")["security_group_rules"] == 2
    with pytest.raises(RuleNotFound):
        groups.remove_rules(MEMBER, web.uuid, [SSH])


def test_add_rules_is_all_or_nothing(groups):
    web = groups.create(MEMBER, "web", "")
    http = RuleSpec(INGRESS, "tcp", 80, 80, cidr="0.0.0.0/0")
    with pytest.raises(DuplicateRule):
        groups.add_rules(MEMBER, web.uuid, [http, SSH, http])
    theirs = groups.create(OTHER, "theirs", "")
    with pytest.raises(GroupNotFound):
        groups.add_rules(MEMBER, web.uuid, [RuleSpec(INGRESS, None, remote_group=theirs.uuid)])
    with pytest.raises(InvalidRule, match="^No rule given.$"):
        groups.add_rules(MEMBER, web.uuid, [])
    assert len(groups.get(MEMBER, web.uuid).rules) == 2  # its egress rules only


def test_at_most_max_rules_per_group(core, groups):
    core.quotas.set_limits("p1", {"security_group_rules": -1})  # the group's limit, not the quota
    web = groups.create(MEMBER, "web", "")
    groups.add_rules(MEMBER, web.uuid, [RuleSpec(INGRESS, "tcp", p, p, cidr="0.0.0.0/0")
                                        for p in range(1, MAX_RULES - 1)])  # + 2 egress
    with pytest.raises(InvalidRule, match=f"rules per security group \\({MAX_RULES}\\)"):
        groups.add_rules(MEMBER, web.uuid, [RuleSpec(EGRESS, None, cidr="0.0.0.0/0")])
    assert len(groups.get(MEMBER, web.uuid).rules) == MAX_RULES


def test_groups_and_rules_count_against_the_quotas(core, groups):
    core.quotas.set_limits("p1", {"security_groups": 2, "security_group_rules": 7})
    groups.list_groups(MEMBER)  # the default group: 1 group, 4 rules
    web = groups.create(MEMBER, "web", "")  # 2 groups, 6 rules
    with pytest.raises(errors.QuotaExceeded, match="security_groups"):
        groups.create(MEMBER, "db", "")
    groups.add_rules(MEMBER, web.uuid, [SSH])
    with pytest.raises(errors.QuotaExceeded, match="security_group_rules"):
        groups.add_rules(MEMBER, web.uuid, [RuleSpec(INGRESS, "tcp", 80, 80)])
    groups.delete(MEMBER, web.uuid)
    usage = core.quotas.usage("p1")
    assert (usage["security_groups"], usage["security_group_rules"]) == (1, 4)


def test_delete_rule_by_uuid(groups):
    web = groups.create(MEMBER, "web", "")
    (rule,) = groups.add_rules(MEMBER, web.uuid, [SSH])
    with pytest.raises(RuleNotFound, match=f"^Security group rule {rule.uuid} not found.$"):
        groups.delete_rule(OTHER, rule.uuid)
    groups.delete_rule(MEMBER, rule.uuid)
    with pytest.raises(RuleNotFound):
        groups.delete_rule(MEMBER, rule.uuid)


def test_what_a_boot_names(core, groups):
    web = groups.create(MEMBER, "web", "")
    assert groups.prepare_boot("p1", [web.uuid, "default", "web"]) == ["web", "default"]
    with pytest.raises(UnknownSecurityGroup):
        groups.prepare_boot("p2", [web.uuid])
    generation = select(SecurityGroup.generation).where(SecurityGroup.uuid == web.uuid)
    with core.db.session() as s:  # a boot's transaction holds the groups it names
        groups.hold_for_boot(s, "p1", ["web", "web"])
        assert s.scalar(generation) == 1
    with pytest.raises(UnknownSecurityGroup, match="name or id gone$"), \
            core.db.session() as s:
        groups.hold_for_boot(s, "p1", ["web", "gone"])
    with core.db.session() as s:
        assert s.scalar(generation) == 1
    assert [g.name for g in groups.groups_named("p1", ["web", "default"])] == ["web", "default"]
