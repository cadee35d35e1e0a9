"""perfeng: a performance engineer's toolkit.

The public surface is small on purpose; everything else is internal and may change.
``perfeng.bench`` (the benchmark decorator) loads on first use, so ``import perfeng`` and
``perfeng --help`` stay light.
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "bench"]


def __getattr__(name: str) -> Any:
    if name == "bench":
        import importlib

        return importlib.import_module("perfeng.bench")
    raise AttributeError(f"module 'perfeng' has no attribute {name!r}")
