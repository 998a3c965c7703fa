"""Policy as data: the schema, the loader, conditions, routing, checks, tests and replay."""

from approvals.policy.loader import LoadedPolicy, load_policy, load_policy_text

__all__ = ["LoadedPolicy", "load_policy", "load_policy_text"]
