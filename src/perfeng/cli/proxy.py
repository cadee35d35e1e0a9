"""``perfeng proxy``: a fault-injecting TCP proxy in front of a service (docs/faults.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from perfeng.errors import ExitCode


def run(args: argparse.Namespace) -> int:
    from perfeng.proxy.server import FaultProxy, join_address
    from perfeng.proxy.service import parse_address, serve
    from perfeng.proxy.spec import parse_fault

    upstream = parse_address(args.upstream, "--upstream")
    listen = parse_address(args.listen, "--listen")
    control = parse_address(args.control, "--control") if args.control else None
    faults = _named([parse_fault(text) for text in args.fault])
    proxy = FaultProxy(upstream, listen, seed=args.seed)

    def ready(proxy: Any, server: Any) -> None:
        print(f"proxy listening {join_address(proxy.address)} -> {args.upstream}", flush=True)
        if server is not None:
            print(f"control http://{join_address(server.address)}/faults", flush=True)

    name = serve(proxy, control, faults, ready)
    print(f"perfeng proxy: stopped by {name}", file=sys.stderr)
    return int(ExitCode.OK)


def _named(specs: list[Any]) -> list[tuple[str, Any]]:
    """Each --fault named after its kind; a second of the same kind gets -2, -3, ..."""
    named: list[tuple[str, Any]] = []
    seen: dict[str, int] = {}
    for spec in specs:
        seen[spec.kind] = seen.get(spec.kind, 0) + 1
        count = seen[spec.kind]
        named.append((spec.kind if count == 1 else f"{spec.kind}-{count}", spec))
    return named
