"""One network model under both dialects, with the real clients on both sides,
in a project of the module's own: what the `openstack` CLI makes, boto3
describes with the same addresses, and what boto3 boots, OSC lists."""

from __future__ import annotations

import json

import pytest

from tests.conftest import unique
from tests.support.ec2 import client, endpoint_of, new_credential
from tests.support.project_cloud import ProjectCloud, project_cloud

FAST = {"Delay": 0.1, "MaxAttempts": 600}  # botocore's 15 s between polls is for AWS


@pytest.fixture(scope="module")
def tenant(server, admin_session, tmp_path_factory) -> ProjectCloud:
    return project_cloud(server, admin_session, tmp_path_factory.mktemp("x"), "xapi")


@pytest.fixture(scope="module")
def osc(cli, tenant):
    def as_json(*args: str):
        out = cli.run(tenant.cloud, *args, "-f", "json", env=tenant.env).stdout
        return json.loads(out) if out.strip() else None
    return as_json


@pytest.fixture(scope="module")
def ec2(tenant, server, identity_url):
    """boto3 with an EC2 credential of the project's user, made through the
    Identity API in-process (``ec2 credentials create`` has its CLI test in
    test_cli_identity; here it is setup, and a CLI start costs seconds)."""
    conn = tenant.connection()
    try:
        keys = new_credential(conn.session, identity_url)
    finally:
        conn.close()
    return client(endpoint_of(server), keys)


def test_a_network_made_with_osc_is_a_subnet_and_its_port_an_interface(osc, ec2, cli, tenant):
    net = osc("network", "create", unique("xnet"))
    sub = osc("subnet", "create", "--network", net["id"], "--subnet-range", "10.44.0.0/24",
              unique("xsub"))
    router = osc("router", "create", unique("xr"))
    cli.run(tenant.cloud, "router", "add", "subnet", router["id"], sub["id"], env=tenant.env)
    port = osc("port", "create", "--network", net["id"], "--fixed-ip",
               f"subnet={sub['id']},ip-address=10.44.0.20", unique("xport"))
    subnets = ec2.describe_subnets(Filters=[{"Name": "cidr-block",
                                            "Values": ["10.44.0.0/24"]}])["Subnets"]
    assert len(subnets) == 1
    vpcs = ec2.describe_vpcs(VpcIds=[subnets[0]["VpcId"]])["Vpcs"]
    assert len(vpcs) == 1  # the router is its VPC
    enis = ec2.describe_network_interfaces(Filters=[
        {"Name": "private-ip-address", "Values": ["10.44.0.20"]}])["NetworkInterfaces"]
    assert len(enis) == 1
    assert enis[0]["SubnetId"] == subnets[0]["SubnetId"]
    assert enis[0]["MacAddress"] == port["mac_address"]
    assert enis[0]["Status"] == "available"


def test_an_instance_booted_by_boto3_is_listed_by_osc(osc, ec2):
    ami = ec2.describe_images(Filters=[{"Name": "name", "Values": ["nimbus-tiny"]}]
                              )["Images"][0]["ImageId"]
    vpc = ec2.create_vpc(CidrBlock="10.45.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.45.1.0/24")["Subnet"]["SubnetId"]
    ec2.get_waiter("subnet_available").wait(SubnetIds=[subnet], WaiterConfig=FAST)
    run = ec2.run_instances(ImageId=ami, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                            SubnetId=subnet, PrivateIpAddress="10.45.1.10")
    iid = run["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    described = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert described["PrivateIpAddress"] == "10.45.1.10"
    server = next(s for s in osc("server", "list", "--long")
                  if "10.45.1.10" in json.dumps(s["Networks"]))
    ports = osc("port", "list", "--server", server["ID"])
    assert len(ports) == 1
    assert ports[0]["Fixed IP Addresses"][0]["ip_address"] == "10.45.1.10"
    eni = described["NetworkInterfaces"][0]
    assert eni["MacAddress"] == ports[0]["MAC Address"]
    routers = {r["ID"] for r in osc("router", "list")}
    assert len(routers) >= 1  # the VPC made through EC2 is a router
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
