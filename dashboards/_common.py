"""What every dashboard shares: the datasource and cluster variables, state colour maps, the job names."""

from __future__ import annotations

from typing import Sequence

from ._grafana import ClickHouseVariable, DatasourceVariable, StateMap
from ._sql import GAUGE, res, variable_values

__all__ = ["CLUSTER_VARIABLES", "UP_DOWN", "job", "query_variable"]


def query_variable(name: str, label: str, expression: str, metric: str | Sequence[str], *, table: str = GAUGE,
                   where: Sequence[str] = ()) -> ClickHouseVariable:
    return ClickHouseVariable(name, label, variable_values(expression, metric, table=table, where=where))


#: ``$datasource`` and ``$cluster`` (``k8s.cluster.name`` of the targets), first on every dashboard.
CLUSTER_VARIABLES = (
    DatasourceVariable(),
    query_variable("cluster", "Cluster", res("k8s.cluster.name"), "up"),
)

UP_DOWN = StateMap([(0, "down", "red"), (1, "up", "green")])


def job(name: str) -> str:
    """Rows of one source: the target's job (``service.name``), which defaults to the source name."""
    return f"ServiceName = '{name}'"
