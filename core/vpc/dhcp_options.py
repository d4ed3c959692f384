"""DHCP options sets: EC2's records, associated with VPCs (``default``: none).
An association sets the ``domain-name-servers`` of the VPC's subnets as their
``dns_nameservers`` (the other options have no place in the network model)."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.context import RequestContext
from core.idmap.ids import Kind, forget, mint_new
from core.idmap.tag_table import forget_tags
from core.vpc.base import UPDATE_ROUTER, VpcBase
from core.vpc.errors import DependencyViolation
from core.vpc.models import DhcpOptions, VpcRecord

KEYS = ("domain-name", "domain-name-servers", "ntp-servers", "netbios-name-servers",
        "netbios-node-type", "ipv6-address-preferred-lease-time")
MAX_VALUES = 4


@dataclass(frozen=True)
class OptionsSet:
    id: str
    project_id: str
    options: dict[str, list[str]]


def check_options(options: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, values in options.items():
        if key not in KEYS:
            raise errors.InvalidInput(f"Value ({key}) for parameter key is invalid. Unknown "
                                      "DHCP option", param="DhcpConfigurations")
        values = [str(v) for v in values]
        if not values or len(values) > MAX_VALUES:
            raise errors.InvalidInput(f"Option {key} takes 1 to {MAX_VALUES} values.",
                                      param="DhcpConfigurations")
        if key.endswith("-servers"):
            for v in values:
                if v == "AmazonProvidedDNS":
                    continue
                try:
                    ipaddress.IPv4Address(v)
                except ValueError:
                    raise errors.InvalidInput(f"Value ({v}) for parameter value is invalid. "
                                              "Invalid IPv4 address",
                                              param="DhcpConfigurations") from None
        out[key] = values
    if not out:
        raise errors.InvalidInput("A DHCP options set needs at least one option.",
                                  param="DhcpConfigurations")
    return out


class DhcpOptionsService(VpcBase):
    def list(self, ctx: RequestContext, ids: Sequence[str] | None = None
             ) -> list[OptionsSet]:
        with self.db.session() as s:
            stmt = select(DhcpOptions).where(DhcpOptions.project_id == (ctx.project_id or ""))
            if ids is not None:
                stmt = stmt.where(DhcpOptions.id.in_(list(ids)))
            found = [OptionsSet(r.id, r.project_id, dict(r.options or {}))
                     for r in s.scalars(stmt.order_by(DhcpOptions.created_at, DhcpOptions.id))]
        if ids:
            missing = [i for i in dict.fromkeys(ids) if i not in {o.id for o in found}]
            if missing:
                raise errors.NotFound(f"DHCP options {missing} not found",
                                      kind="dhcp_options", ids=missing)
        return found

    def create(self, ctx: RequestContext, options: Mapping[str, Sequence[str]]) -> OptionsSet:
        checked = check_options(options)
        self.enforce(ctx, UPDATE_ROUTER, ctx.project_id or "")
        with self.db.session() as s:
            row = DhcpOptions(project_id=ctx.project_id or "", options=checked)
            s.add(row)
            s.flush()
            mint_new(s, Kind.DHCP_OPTIONS, [(row.id, row.project_id)])
            return OptionsSet(row.id, row.project_id, checked)

    def _row(self, s: Session, ctx: RequestContext, options_id: str) -> DhcpOptions:
        row = s.get(DhcpOptions, options_id)
        if row is None or row.project_id != ctx.project_id:
            raise errors.NotFound(f"DHCP options {options_id} not found", kind="dhcp_options",
                                  id=options_id)
        return row

    def delete(self, ctx: RequestContext, options_id: str) -> None:
        self.enforce(ctx, UPDATE_ROUTER, ctx.project_id or "")
        with self.db.session() as s:
            row = self._row(s, ctx, options_id)
            if s.scalar(select(VpcRecord.router_id).where(
                    VpcRecord.dhcp_options_id == options_id).limit(1)):
                raise DependencyViolation("dhcp_options", options_id,
                                          "it is associated with a VPC")
            s.delete(row)
            forget(s, Kind.DHCP_OPTIONS, [options_id])
            forget_tags(s, Kind.DHCP_OPTIONS, [options_id])

    def associate(self, ctx: RequestContext, options_id: str | None, router_id: str) -> None:
        """Give the VPC the options set (None: ``default``, no options)."""
        def work(s: Session) -> list[str]:
            seen = self.one(s, ctx, router_id)
            record = seen.records[router_id]
            self.enforce(ctx, UPDATE_ROUTER, record.project_id)
            if options_id is not None:
                self._row(s, ctx, options_id)
            record.dhcp_options_id = options_id
            return [i.subnet.id for i in seen.routed.get(router_id, [])]

        subnets = self.retrying(work)
        servers = self._servers(ctx, options_id)
        for subnet_id in subnets:
            with contextlib.suppress(errors.CoreError):  # best effort, as ec2-api's
                self.subnets.update(ctx, subnet_id, {"dns_nameservers": servers})

    def _servers(self, ctx: RequestContext, options_id: str | None) -> Sequence[str]:
        if options_id is None:
            return []
        (found,) = self.list(ctx, [options_id])
        return [v for v in found.options.get("domain-name-servers", [])
                if v != "AmazonProvidedDNS"]
