from core.scheduler.request_spec import RequestSpec, Selection

WIRE = {"project_id": "p", "user_id": "u", "instance_uuids": ["i1", "i2"],
        "flavor": {"vcpus": 2, "memory_mb": 2048, "root_gb": 20, "ephemeral_gb": 5,
                   "swap": 512, "extra_specs": {"capabilities:ssd": "true"}},
        "image": {"id": "img", "properties": {"architecture": "x86_64"}, "min_ram": 0,
                  "min_disk": 1},
        "availability_zone": "az1", "force_host": None, "requested_host": "h2",
        "requested_node": None,
        "scheduler_hints": {"same_host": ["a"], "different_host": ["b"], "group": "g"},
        "ignore_hosts": ["h1"], "claim_holder": "flow-1"}


def test_round_trip():
    spec = RequestSpec.from_dict(WIRE)
    assert spec.to_dict() == WIRE
    assert RequestSpec.from_dict(spec.to_dict()) == spec


def test_resources_round_swap_up_to_whole_gib():
    spec = RequestSpec.from_dict(WIRE)
    assert spec.resources == {"vcpus": 2, "memory_mb": 2048, "disk_gb": 26}


def test_lenient_about_missing_none_and_unknown_keys():
    spec = RequestSpec.from_dict({"instance_uuids": ["i"],
                                  "flavor": {"vcpus": 1, "memory_mb": 64, "root_gb": None,
                                             "extra_specs": None},
                                  "image": {"id": "x", "name": "cirros", "status": "active"},
                                  "scheduler_hints": None, "something_new": 1})
    assert spec.resources == {"vcpus": 1, "memory_mb": 64, "disk_gb": 0}
    assert spec.image.properties == {} and spec.ignore_hosts == []
    assert spec.to_dict()["scheduler_hints"] == {}


def test_hints_accept_single_values():
    spec = RequestSpec.from_dict({"scheduler_hints": {"same_host": "a",
                                                      "group": ["g1"]}})
    assert spec.same_host == ["a"] and spec.different_host == [] and spec.group_uuid == "g1"


def test_lookups_are_not_part_of_the_wire_form():
    spec = RequestSpec.from_dict(WIRE)
    spec.instance_hosts = {"a": "h2"}
    assert "instance_hosts" not in spec.to_dict() and "group" not in spec.to_dict()


def test_selection_round_trip():
    data = {"host": "h", "nodename": "h", "node_id": 3, "node_uuid": "u",
            "availability_zone": "nova"}
    assert Selection.from_dict(data).to_dict() == data
