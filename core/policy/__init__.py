"""Policy: rules in code, overridable by a policy file, one enforcer per app."""

from core.policy.defaults import RuleDefault
from core.policy.enforcer import Enforcer
from core.policy.interfaces import PolicyEnforcer

__all__ = ["Enforcer", "PolicyEnforcer", "RuleDefault"]
