"""Stable management addresses: a host keeps the address recorded for it (status.hosts) whatever the
role counts become; a new host takes its preferred address when free, else the lowest free one of
the cluster's range; a host that leaves releases its address."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..api.v1alpha1.openstackcluster import HostStatus, ManagementNetwork


@dataclass(frozen=True)
class Allocation:
    addresses: dict[str, str]  # host -> address, for every wanted host that has one
    released: tuple[str, ...]  # hosts recorded earlier that are no longer wanted (their address is free)
    problems: tuple[str, ...]  # hosts left without an address, and why


def recorded(hosts: Mapping[str, HostStatus] | None) -> dict[str, str]:
    """host -> address as status.hosts records it."""
    return {name: h.address for name, h in (hosts or {}).items() if h.address}


def allocate(
    network: ManagementNetwork,
    wanted: Sequence[str],
    recorded: Mapping[str, str],
    *,
    fixed: Mapping[str, str] | None = None,
    preferred: Mapping[str, str] | None = None,
    reserved: Iterable[str] = (),
) -> Allocation:
    """Addresses for `wanted` (in that order for new hosts). `fixed`: addresses a host chose itself
    (annotation), which always win; `recorded`: what status holds, kept while the host is wanted;
    `preferred`: where a new host would rather go; `reserved`: never given (VIPs, gateway)."""
    fixed, preferred = fixed or {}, preferred or {}
    net = network.network
    first = int(ipaddress.IPv4Address(network.address_range.start))
    last = int(ipaddress.IPv4Address(network.address_range.end))
    owner: dict[str, str] = {a: "reserved" for a in (*reserved, network.gateway)}
    addresses: dict[str, str] = {}
    problems: list[str] = []
    want = set(wanted)

    def take(host: str, address: str) -> bool:
        holder = owner.get(address)
        if holder is not None and holder != host:
            return False
        owner[address] = host
        addresses[host] = address
        return True

    for host in wanted:
        if host in fixed and not take(host, fixed[host]):
            problems.append(f"host {host}: address {fixed[host]} is also taken by {owner[fixed[host]]}")
    for host in wanted:
        address = recorded.get(host)
        if host in addresses or host in fixed or address is None:
            continue
        try:
            inside = ipaddress.IPv4Address(address) in net
        except ValueError:
            inside = False
        if not inside:
            problems.append(f"host {host}: recorded address {address} is outside {net}")
        elif not take(host, address):
            problems.append(f"host {host}: recorded address {address} is now taken by {owner[address]}")
    cursor = first
    for host in wanted:
        if host in addresses or host in fixed or host in recorded:
            continue
        choice = preferred.get(host)
        if choice is not None and first <= int(ipaddress.IPv4Address(choice)) <= last and take(host, choice):
            continue
        while cursor <= last and str(ipaddress.IPv4Address(cursor)) in owner:
            cursor += 1
        if cursor > last:
            problems.append(
                f"host {host}: no free address left in {network.address_range.start}-{network.address_range.end}"
            )
            continue
        take(host, str(ipaddress.IPv4Address(cursor)))
    released = tuple(sorted(h for h in recorded if h not in want))
    return Allocation(addresses, released, tuple(problems))
