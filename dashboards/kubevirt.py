"""KubeVirt and CDI: VMs by status group and VMIs by phase, per-VM CPU, memory, network and
storage, live migrations, virt component readiness, DataVolume phase and import progress.

Inventory (``kubevirt_vm_info``, ``kubevirt_vmi_phase_count``) comes from one virt-controller
replica; per-VM resource series from virt-handler on each node (job ``kubevirt``); DataVolume
phase and progress from the Kubernetes API (job ``cdi-datavolumes``), CDI readiness from CDI.
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from ._common import CLUSTER_VARIABLES, query_variable
from ._grafana import Layout, StateMap, dashboard, stat, state_timeline, status_history, timeseries
from ._sql import CLUSTER, GAUGE, attr, rate_series, res, series_over_time, state_series, when_selected

UID = "omni-kubevirt"

NAMESPACE = when_selected(attr("namespace"), "namespace")
VM = when_selected(attr("name"), "vm")
_VM_FILTERS = [NAMESPACE, VM]
DV_PHASES = ["Pending", "ImportScheduled", "ImportInProgress", "Succeeded", "Failed", "Paused"]
DV_STATES = StateMap([(0, "other", "gray"), (1, "Pending", "yellow"), (2, "ImportScheduled", "blue"),
                      (3, "ImportInProgress", "purple"), (4, "Succeeded", "green"), (5, "Failed", "red"),
                      (6, "Paused", "orange")])

VMS_BY_STATUS = f"""
SELECT $__timeInterval(TimeUnix) AS time, {attr('status_group')} AS legend,
       uniqExact({attr('namespace')}, {attr('name')}) AS value
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix) AND MetricName = 'kubevirt_vm_info' AND Flags = 0 AND Value = 1
  AND {CLUSTER}
  AND {NAMESPACE}
GROUP BY time, legend
ORDER BY time, legend
""".strip() + "\n"

VMIS_BY_PHASE = series_over_time("kubevirt_vmi_phase_count", attr("phase"), aggregate="max")

_VM_LEGEND = f"concat({attr('namespace')}, '/', {attr('name')})"

CPU = rate_series("kubevirt_vmi_cpu_usage_seconds_total", _VM_LEGEND, where=_VM_FILTERS)

MEMORY_USED = f"""
SELECT $__timeInterval(TimeUnix) AS time, {_VM_LEGEND} AS legend,
       avgIf(Value, MetricName = 'kubevirt_vmi_memory_available_bytes')
         - avgIf(Value, MetricName = 'kubevirt_vmi_memory_usable_bytes') AS value
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix)
  AND MetricName IN ('kubevirt_vmi_memory_available_bytes', 'kubevirt_vmi_memory_usable_bytes')
  AND Flags = 0
  AND {CLUSTER}
  AND {NAMESPACE}
  AND {VM}
GROUP BY time, legend
ORDER BY time, legend
""".strip() + "\n"

NETWORK = rate_series(
    ["kubevirt_vmi_network_receive_bytes_total", "kubevirt_vmi_network_transmit_bytes_total"],
    f"concat({_VM_LEGEND}, if(MetricName LIKE '%receive%', ' rx', ' tx'))", where=_VM_FILTERS,
)

STORAGE = rate_series(
    ["kubevirt_vmi_storage_read_traffic_bytes_total", "kubevirt_vmi_storage_write_traffic_bytes_total"],
    f"concat({_VM_LEGEND}, if(MetricName LIKE '%read%', ' read', ' write'))", where=_VM_FILTERS,
)

MIGRATIONS = series_over_time(
    ["kubevirt_vmi_migration_data_remaining_bytes", "kubevirt_vmi_migration_data_processed_bytes"],
    f"concat({_VM_LEGEND}, if(MetricName LIKE '%remaining%', ' remaining', ' processed'))", where=_VM_FILTERS,
    aggregate="max",
)

READINESS = series_over_time(
    ["kubevirt_virt_handler_ready_status", "kubevirt_virt_controller_ready_status",
     "kubevirt_virt_api_ready_status", "kubevirt_virt_operator_ready_status"],
    f"concat(replaceRegexpOne(MetricName, '^kubevirt_(virt_\\\\w+)_ready_status$', '\\\\1'), ' ', {res('service.instance.id')})",
    aggregate="min", combine="min",
)

DV_PHASE = state_series(
    "cdi_datavolume_phase", f"concat({attr('namespace')}, '/', {attr('name')})", attr("phase"), DV_PHASES,
    where=[NAMESPACE],
)

DV_PROGRESS = series_over_time(
    "cdi_datavolume_progress_ratio", f"concat({attr('namespace')}, '/', {attr('name')})",
    value="Value * 100", aggregate="max", combine="max", where=[NAMESPACE],
)

CDI_READY = f"""
SELECT {res('service.instance.id')} AS cdi, argMax(Value, TimeUnix) AS ready
FROM {GAUGE}
WHERE $__timeFilter(TimeUnix) AND MetricName = 'kubevirt_cdi_cr_ready' AND Flags = 0
  AND {CLUSTER}
GROUP BY cdi
ORDER BY cdi
""".strip() + "\n"


def build() -> Dashboard:
    layout = Layout()
    panels = [
        timeseries("VMs by status group", VMS_BY_STATUS, layout.next(12), stacked=True),
        timeseries("VMIs by phase", VMIS_BY_PHASE, layout.next(12), stacked=True,
                   description="kubevirt_vmi_phase_count, computed by the collector from kubevirt_vmi_info."),
        timeseries("VM CPU usage", CPU, layout.next(12), unit="short", description="CPU seconds per second (cores)."),
        timeseries("VM memory used", MEMORY_USED, layout.next(12), unit="bytes",
                   description="Available minus usable guest memory, as KubeVirt's vmi:kubevirt_vmi_memory_used_bytes:sum."),
        timeseries("VM network throughput", NETWORK, layout.next(12), unit="Bps"),
        timeseries("VM storage throughput", STORAGE, layout.next(12), unit="Bps"),
        timeseries("Live migrations: memory remaining and processed", MIGRATIONS, layout.next(12), unit="bytes"),
        state_timeline("virt component readiness", READINESS, layout.next(12), StateMap([(0, "not ready", "red"), (1, "ready", "green")])),
        status_history("DataVolume phase", DV_PHASE, layout.next(12), DV_STATES),
        timeseries("DataVolume import progress", DV_PROGRESS, layout.next(8), unit="percent", min_value=0, max_value=100),
        stat("CDI ready", CDI_READY, layout.next(4), states=StateMap([(0, "not ready", "red"), (1, "ready", "green")]),
             per_row=True),
    ]
    variables = (
        *CLUSTER_VARIABLES,
        query_variable("namespace", "Namespace", attr("namespace"), "kubevirt_vm_info"),
        query_variable("vm", "VM", attr("name"), "kubevirt_vm_info", where=[NAMESPACE]),
    )
    return dashboard(uid=UID, title="KubeVirt virtual machines", description="VMs, VMIs, per-VM resources, migrations and CDI.",
                     tags=["omni-telemetry", "kubevirt"], panels=panels, templating=variables)
