"""omni-telemetry's composition root: the CLI, the one settings model and the wiring that
builds every process from it. The pieces every package shares live one floor down, in
:mod:`omni_core`."""

from omni_core import __version__

__all__ = ["__version__"]
