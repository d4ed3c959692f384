"""Quotas of every domain: limits, usage counters and atomic reservations."""
