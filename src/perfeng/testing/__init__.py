"""The public test kit: a fake clock, a fake transport, and loopback servers to test against.

Users test their own scenarios with these, as perfeng's own tests do.
"""

from perfeng.testing.fakes import FakeClock, FakeTransport

__all__ = ["FakeClock", "FakeTransport"]
