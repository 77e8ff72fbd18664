"""The ground floor every package stands on: the one error tree (:mod:`omni_core.errors`)
and what the OpenTelemetry SDK data model lacks (:mod:`omni_core.datamodel`).

It imports nothing of the project, so ``collectors``, ``exporters``, ``service``,
``dashboards`` and the composition root in ``omni_telemetry`` can all depend on it without
an arrow running back up.
"""

__version__ = "0.1.0"
