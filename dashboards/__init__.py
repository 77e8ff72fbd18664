"""Grafana dashboards generated from Python (grafanalib) for the Grafana ClickHouse datasource;
they read the metric tables defined in :mod:`exporters.clickhouse`."""
