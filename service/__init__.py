"""The on-call health API (FastAPI): health rollups per component and entity, read from the
metric tables defined in :mod:`exporters.clickhouse`."""
