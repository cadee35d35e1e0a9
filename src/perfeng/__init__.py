"""perfeng: a performance engineer's toolkit.

The public surface is small on purpose; everything else is internal and may change.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
