"""KubeVirt's components: virt-handler, virt-controller, virt-api, virt-operator (HTTPS :8443).

Targets come from the Endpoints of the ``kubevirt-prometheus-metrics`` Service (every pod
labelled ``prometheus.kubevirt.io``). The certificates are signed by KubeVirt's own CA
(ConfigMap ``kubevirt-ca``, key ``ca-bundle``): set ``ca_file`` to it; verification is only
off when a target sets ``insecure_skip_verify`` explicitly.

Fix-ups:

* **Replicated VM series.** Every virt-controller replica runs the VM and VMI collectors, so
  ``kubevirt_vm_*``, ``kubevirt_vmi_info`` and the migration-phase gauges arrive once per
  replica. One replica per install reports them (see :mod:`._replica_election`); the
  others' copies are dropped. The source instance holds that state, so the scraper must
  use one instance for all KubeVirt targets. Options: ``replica_group`` (default: the
  target's ``k8s.cluster.name`` and job) and ``replica_stale_after_s`` (default 60).
* **Phase counts.** ``kubevirt_vmi_phase_count`` is a Prometheus recording rule upstream,
  not a scraped metric; it is computed here from ``kubevirt_vmi_info`` with the rule's
  grouping labels, on the reporting replica only.
* **HTTP 500 from virt-controller** is a known upstream failure (kubevirt/kubevirt#13346:
  two collectors emit the same series, e.g. ``kubevirt_vmi_status_addresses`` of a VM
  without guest agent, and client_golang refuses the whole scrape); the error says so.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar, Mapping

import httpx

from omni_core.errors import TargetHTTPError

from .._http import HttpBody
from .._source import Source
from .._target import ParseLimits, ScrapeTarget
from ..exposition import Exposition, MetricFamily, Sample
from ._replica_election import ReplicaElection

__all__ = ["KubeVirtSource", "PHASE_COUNT_LABELS", "REPLICATED_FAMILIES"]

#: Grouping labels of the upstream ``kubevirt_vmi_phase_count`` recording rule.
PHASE_COUNT_LABELS = (
    "node",
    "phase",
    "os",
    "workload",
    "flavor",
    "instance_type",
    "preference",
    "guest_os_kernel_release",
    "guest_os_machine",
    "guest_os_arch",
    "guest_os_name",
    "guest_os_version_id",
)

#: Families every virt-controller replica exposes identically (besides ``kubevirt_vm_*``).
REPLICATED_FAMILIES = frozenset(
    {
        "kubevirt_vmi_info",
        "kubevirt_vmi_phase_count",
        "kubevirt_vmi_non_evictable",
        "kubevirt_vmi_status_addresses",
        "kubevirt_vmi_vnic_info",
        "kubevirt_vmi_launcher_memory_overhead_bytes",
        "kubevirt_vmi_migrations_in_pending_phase",
        "kubevirt_vmi_migrations_in_scheduling_phase",
        "kubevirt_vmi_migrations_in_running_phase",
        "kubevirt_vmi_migrations_in_unset_phase",
        "kubevirt_vmi_migration_succeeded",
        "kubevirt_vmi_migration_failed",
        "kubevirt_vmi_migration_start_time_seconds",
        "kubevirt_vmi_migration_end_time_seconds",
    }
)
_REPLICATED_PREFIXES = ("kubevirt_vm_", "kubevirt_vmsnapshot_")
_CONTROLLER_MARKERS = frozenset(
    {
        "kubevirt_vm_info",
        "kubevirt_vmi_info",
        "kubevirt_virt_controller_leading_status",
        "kubevirt_virt_controller_ready_status",
    }
)
_DUPLICATE_SERIES_ERROR = "was collected before with the same name and label values"


def is_replicated(family_name: str) -> bool:
    return family_name in REPLICATED_FAMILIES or family_name.startswith(_REPLICATED_PREFIXES)


class KubeVirtSource(Source):
    name: ClassVar[str] = "kubevirt"
    description: ClassVar[str] = "KubeVirt virt-handler/-controller/-api/-operator /metrics (HTTPS :8443)"
    reads_exposition: ClassVar[bool] = True
    #: Any one of these identifies a KubeVirt component (see :meth:`missing_families`).
    expected_families: ClassVar[Mapping[str, str]] = {
        "kubevirt_rest_client_requests_total": "counter",
        "kubevirt_virt_handler_ready_status": "gauge",
        "kubevirt_virt_controller_ready_status": "gauge",
        "kubevirt_virt_api_ready_status": "gauge",
        "kubevirt_virt_operator_ready_status": "gauge",
        "kubevirt_vmi_info": "gauge",
    }

    def __init__(self, election: ReplicaElection | None = None) -> None:
        self.election = election or ReplicaElection()

    async def fetch(self, client: httpx.AsyncClient, target: ScrapeTarget, limits: ParseLimits) -> HttpBody:
        try:
            return await super().fetch(client, target, limits)
        except TargetHTTPError as exc:
            if exc.status_code != 500:
                raise
            raise TargetHTTPError(_http_500_reason(exc, target), target=exc.target, status_code=500) from exc

    layout_cache: ClassVar[bool] = False  # VM series depend on which virt-controller replica reports

    @classmethod
    def shard_group(cls, target: ScrapeTarget) -> str | None:
        """The election needs every virt-controller of an install in one collector: split
        between collector replicas, each would elect its own reporter and count VMs twice."""
        return "\x00".join(_replica_group(target))

    def normalize(self, exposition: Exposition, target: ScrapeTarget) -> Exposition:
        names = {f.name for f in exposition.families}
        if not names & _CONTROLLER_MARKERS:
            return exposition
        phase_counts = _phase_counts(exposition.families)
        if phase_counts is not None:
            exposition.families.append(phase_counts)
        if not self.election.is_reporter(_replica_group(target), target.instance, _stale_after(target)):
            exposition.families = [f for f in exposition.families if not is_replicated(f.name)]
        return exposition

    def missing_families(self, exposition: Exposition) -> list[str]:
        """Components expose different families: one of the expected ones must be there."""
        missing = super().missing_families(exposition)
        return [] if len(missing) < len(self.expected_families) else missing


def _phase_counts(families: list[MetricFamily]) -> MetricFamily | None:
    info = next((f for f in families if f.name == "kubevirt_vmi_info"), None)
    if info is None:
        return None
    counts: Counter[tuple[tuple[str, str], ...]] = Counter()
    for sample in info.samples:
        if sample.name != "kubevirt_vmi_info" or sample.value != sample.value:
            continue
        key = tuple((label, sample.labels[label]) for label in PHASE_COUNT_LABELS if sample.labels.get(label))
        counts[key] += sample.value
    samples = [Sample("kubevirt_vmi_phase_count", dict(key), float(n)) for key, n in counts.items()]
    return MetricFamily(
        "kubevirt_vmi_phase_count",
        "gauge",
        "VMIs per phase and node (KubeVirt's recording rule, computed at scrape)",
        "",
        samples,
    )


def _replica_group(target: ScrapeTarget) -> tuple[str, ...]:
    explicit = target.options.get("replica_group")
    if explicit:
        return (explicit,)
    return (target.resource.get("k8s.cluster.name", ""), target.job)


def _stale_after(target: ScrapeTarget) -> float | None:
    value = target.options.get("replica_stale_after_s")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _http_500_reason(exc: TargetHTTPError, target: ScrapeTarget) -> str:
    text = str(exc)
    if exc.target and text.startswith(f"{exc.target}: "):
        text = text[len(exc.target) + 2 :]
    pod = target.resource.get("k8s.pod.name", "")
    if _DUPLICATE_SERIES_ERROR in text or pod.startswith("virt-controller"):
        return (
            f"{text} -- virt-controller refused the scrape because two of its collectors emitted the same "
            "series: known upstream issue kubevirt/kubevirt#13346 (e.g. kubevirt_vmi_status_addresses of a VM "
            "without guest agent); upgrade KubeVirt to a release with the fix; meanwhile the VM series come "
            "from the other virt-controller replicas that still answer"
        )
    return (
        f"{text} -- if this is virt-controller, HTTP 500 is the known duplicate-series failure "
        "kubevirt/kubevirt#13346"
    )
