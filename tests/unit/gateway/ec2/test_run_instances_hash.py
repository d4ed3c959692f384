"""RunInstances' ClientToken digest covers the network parameters: the same
token with another subnet, address or interface list is another request."""

from gateway.ec2.handlers.instance_actions import request_hash

BASE = {"ImageId": "ami-0123456789abcdef0", "MinCount": 1, "MaxCount": 1,
        "ClientToken": "t"}


def test_network_parameters_change_the_digest():
    digests = {request_hash(BASE),
               request_hash({**BASE, "SubnetId": "subnet-0123456789abcdef0"}),
               request_hash({**BASE, "SubnetId": "subnet-0123456789abcdef0",
                             "PrivateIpAddress": "10.0.0.9"}),
               request_hash({**BASE, "NetworkInterfaces": [{"DeviceIndex": 0,
                                                            "SubnetId": "subnet-1"}]}),
               request_hash({**BASE, "NetworkInterfaces": [
                   {"DeviceIndex": 0, "NetworkInterfaceId": "eni-0123456789abcdef0"}]})}
    assert len(digests) == 5


def test_the_token_and_dry_run_do_not():
    assert request_hash(BASE) == request_hash({**BASE, "ClientToken": "u", "DryRun": False})
