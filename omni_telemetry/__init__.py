"""omni-telemetry: composition root (CLI, settings) and the pieces every package shares
(the error tree in :mod:`omni_telemetry.errors`, the data model extensions in
:mod:`omni_telemetry.datamodel`)."""

__version__ = "0.1.0"
