"""The fault-injecting TCP proxy (docs/faults.md): the fault language (``spec``), the sans-IO
decisions (``core``), the asyncio proxy (``server``), its control API (``control``), a run's
fault timeline (``timeline``), and the ways to run it: in a thread (``embedded``) or as
``perfeng proxy`` (``service``)."""

from __future__ import annotations

from perfeng.proxy.embedded import ProxyThread
from perfeng.proxy.server import FaultProxy
from perfeng.proxy.spec import FaultSpec, FaultSyntaxError, parse_fault

__all__ = ["FaultProxy", "FaultSpec", "FaultSyntaxError", "ProxyThread", "parse_fault"]
