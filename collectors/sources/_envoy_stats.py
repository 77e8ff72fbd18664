"""Fix-ups every Envoy ``/stats/prometheus`` scrape needs, whoever deployed the Envoy.

Why each one:

* Older Envoys print a family's samples in two places, each with its own ``# TYPE`` line
  (envoyproxy/envoy#2597, #10073, #27173). Conversion must see one family per name, or the
  second part would look like a new series set and break cumulative start times.
* Envoy's time histograms are in milliseconds (``*_ms``, ``*_time``, ``*_duration``) but the
  exposition has no UNIT line; the unit is set so stored metrics and dashboards say ``ms``.
* Envoy's cluster names encode what the cluster points at (Contour: ``<ns>_<service>_<port>``;
  Kuma: ``<service>_<ns>_svc_<port>``, ``localhost_<port>``, KRI names). Dashboards group
  upstream traffic by namespace and service and must leave the proxy's own infrastructure
  clusters out, so the name is split into attributes once, here, instead of by a regex in
  every query.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Mapping

from ..exposition import Exposition, MetricFamily, Sample

__all__ = [
    "CLUSTER_LABEL",
    "contour_cluster_attributes",
    "kuma_cluster_attributes",
    "merge_repeated_families",
    "normalize_envoy_stats",
]

CLUSTER_LABEL = "envoy_cluster_name"

_MILLISECOND_SUFFIXES = ("_ms", "_time", "_duration", "_milliseconds")

# Kubernetes namespace and Service names are DNS labels: lowercase alphanumerics and '-',
# never '_', so '_' separates the parts unambiguously. Contour does not hash or truncate the
# stat name (only the cluster's own name, which is not what Envoy's stats carry).
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_CONTOUR_SERVICE_CLUSTER = re.compile(rf"^({_DNS_LABEL})_({_DNS_LABEL})_([0-9]{{1,5}})$")
#: Contour's bootstrap clusters: the xDS connection (stat name ``<ns>_contour_<xds port>``) and
#: the admin interface behind the stats listener (``<ns>_envoy-admin_<port>``); releases
#: before 1.0 named them without alt stat names, and called the admin one ``service-stats``.
_CONTOUR_INTERNAL_NAMES = frozenset({"contour", "envoy-admin", "service-stats"})
_CONTOUR_INTERNAL_SERVICES = frozenset({"contour", "envoy-admin"})

_KUMA_LEGACY_OUTBOUND = re.compile(rf"^({_DNS_LABEL})_({_DNS_LABEL})_svc_([0-9]{{1,5}})$")
_KUMA_INBOUND = re.compile(r"^(?:localhost_([0-9]{1,5})|self_inbound_.*)$")
_KUMA_INTERNAL_NAMES = frozenset(
    {
        "ads_cluster",
        "access_log_sink",
        "kuma_envoy_admin",
        "kuma_metrics_hijacker",
        "inbound_passthrough_ipv4",
        "inbound_passthrough_ipv6",
        "outbound_passthrough_ipv4",
        "outbound_passthrough_ipv6",
        "meshtrace_zipkin",
    }
)


@lru_cache(maxsize=4096)
def contour_cluster_attributes(cluster: str) -> Mapping[str, str]:
    """Attributes for one ``envoy_cluster_name`` of a Contour-managed Envoy.

    ``cluster_kind`` is ``service`` (a Kubernetes Service upstream), ``internal`` (Contour's
    own xDS and admin clusters) or ``other`` (anything not in Contour's naming, e.g. an
    ExtensionService or a hand-written Envoy config).
    """
    if cluster in _CONTOUR_INTERNAL_NAMES:
        return {"cluster_kind": "internal"}
    match = _CONTOUR_SERVICE_CLUSTER.match(cluster)
    if match is None:
        return {"cluster_kind": "other"}
    namespace, service, port = match.groups()
    kind = "internal" if service in _CONTOUR_INTERNAL_SERVICES else "service"
    return {"namespace": namespace, "service": service, "port": port, "cluster_kind": kind}


@lru_cache(maxsize=4096)
def kuma_cluster_attributes(cluster: str) -> Mapping[str, str]:
    """Attributes for one ``envoy_cluster_name`` of a Kuma sidecar.

    ``cluster_kind`` is ``inbound`` (traffic into the workload), ``outbound`` or ``internal``
    (the sidecar's own xDS, access-log, admin and passthrough clusters).
    """
    if cluster in _KUMA_INTERNAL_NAMES or cluster.startswith("system_"):
        return {"cluster_kind": "internal"}
    inbound = _KUMA_INBOUND.match(cluster)
    if inbound is not None:
        port = inbound.group(1)
        return {"cluster_kind": "inbound", **({"port": port} if port else {})}
    legacy = _KUMA_LEGACY_OUTBOUND.match(cluster)
    if legacy is not None:
        service, namespace, port = legacy.groups()
        return {"cluster_kind": "outbound", "service": service, "namespace": namespace, "port": port}
    if cluster.startswith("kri_"):
        # kri_<type>_<mesh>_<zone>_<namespace>_<name>_<section>; parts may be empty.
        parts = cluster.split("_")
        if len(parts) == 7:
            attributes = {"cluster_kind": "outbound"}
            for key, value in zip(("mesh", "zone", "namespace", "service", "port"), parts[2:]):
                if value:
                    attributes[key] = value
            return attributes
    return {"cluster_kind": "outbound"}


def merge_repeated_families(families: list[MetricFamily]) -> tuple[list[MetricFamily], list[str]]:
    """One family per name: later parts of a split family are appended to the first part."""
    merged: dict[str, MetricFamily] = {}
    ordered: list[MetricFamily] = []
    warnings: list[str] = []
    for family in families:
        first = merged.get(family.name)
        if first is None:
            merged[family.name] = family
            ordered.append(family)
        elif first.type == family.type:
            first.samples.extend(family.samples)
            first.help = first.help or family.help
        else:
            warnings.append(
                f"family {family.name} declared as {first.type} and again as {family.type}; "
                "kept the first declaration's samples only"
            )
    return ordered, warnings


def normalize_envoy_stats(
    exposition: Exposition,
    cluster_attributes: Callable[[str], Mapping[str, str]] | None,
    extra_labels: Mapping[str, str] | None = None,
) -> Exposition:
    """Merge split families, set ``ms`` units and add cluster (and ``extra_labels``) attributes.

    Existing labels always win over added ones: Envoy's or the proxy agent's own labels are
    the truth, the derived ones only fill gaps.
    """
    families, warnings = merge_repeated_families(exposition.families)
    for family in families:
        if family.type == "histogram" and not family.unit and family.name.endswith(_MILLISECOND_SUFFIXES):
            family.unit = "ms"
        if cluster_attributes is None and not extra_labels:
            continue
        family.samples = [_with_attributes(s, cluster_attributes, extra_labels) for s in family.samples]
    exposition.families = families
    exposition.warnings.extend(warnings)
    return exposition


def _with_attributes(
    sample: Sample,
    cluster_attributes: Callable[[str], Mapping[str, str]] | None,
    extra_labels: Mapping[str, str] | None,
) -> Sample:
    added: dict[str, str] = {}
    if extra_labels:
        added.update(extra_labels)
    cluster = sample.labels.get(CLUSTER_LABEL)
    if cluster is not None and cluster_attributes is not None:
        added.update(cluster_attributes(cluster))
    if not added:
        return sample
    # Labels may be shared between samples: build a new dict, never mutate.
    sample.labels = {**added, **sample.labels}
    return sample
