"""EC2 action handlers: one module per resource kind, one method per Action.

To add an action: write a method on the kind's handler class, mark it with
``@action("DescribeThings", rules=(<the core rule>,))``, take a ``Call`` and
return a dict keyed by the output shape's member names. Parsing, DryRun,
rendering and errors are done by ``gateway.ec2.api``: a missing object is a
domain ``NotFound`` with its kind (raised by core, or by the handler with
``self.os_ids`` / ``errors.NotFound(kind=...)``), and a new kind's codes go in
the one table, ``gateway.ec2.errors``. A new kind's class goes in ``HANDLERS``.
"""

from gateway.ec2.handlers.account import Account
from gateway.ec2.handlers.addresses import Addresses
from gateway.ec2.handlers.images import Images
from gateway.ec2.handlers.instance_actions import InstanceActions
from gateway.ec2.handlers.instance_types import InstanceTypes
from gateway.ec2.handlers.instances import Instances
from gateway.ec2.handlers.key_pairs import KeyPairs
from gateway.ec2.handlers.network_interfaces import NetworkInterfaces
from gateway.ec2.handlers.regions import Regions
from gateway.ec2.handlers.route_tables import RouteTables
from gateway.ec2.handlers.security_group_rules import SecurityGroupRules
from gateway.ec2.handlers.security_groups import SecurityGroups
from gateway.ec2.handlers.snapshots import Snapshots
from gateway.ec2.handlers.subnets import Subnets
from gateway.ec2.handlers.tags import Tags
from gateway.ec2.handlers.volumes import Volumes
from gateway.ec2.handlers.vpcs import Vpcs

HANDLERS = (Account, Images, Instances, InstanceActions, InstanceTypes, KeyPairs, Regions, Tags,
            SecurityGroups, SecurityGroupRules, Addresses, Vpcs, Subnets, RouteTables,
            NetworkInterfaces, Volumes, Snapshots)

__all__ = ["HANDLERS"]
