"""Argo CD's application controller (``argocd-metrics`` Service, :8082 ``/metrics``).

What the controller knows about every Application it reconciles: ``argocd_app_info`` (one
series per application, value 1, with ``health_status``, ``sync_status``, ``project``,
``dest_server``/``dest_namespace``, ``autosync_enabled``, ``operation``),
``argocd_app_sync_total`` by ``phase`` (Succeeded, Failed, Error, ...),
``argocd_app_reconcile`` (a histogram of reconciliation time in seconds) and the cluster
cache's ``argocd_cluster_*`` (connection status, API resources and objects, cache age,
events). The repo server (:8084, ``argocd_git_request_total``) is accepted by the same
source. Everything is plain client_golang output, so nothing needs renaming: the labels are
kept as attributes and the health rules read ``health_status``/``sync_status`` directly.

The controller may run sharded (several ``argocd-application-controller`` replicas, each
owning some clusters): every replica reports only its own applications, which is why
discovery scrapes every pod behind the Service rather than the Service.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source
from ..exposition import Exposition

__all__ = ["ARGOCD_HEALTH_STATUSES", "ARGOCD_SYNC_STATUSES", "ArgoCdSource"]

#: Values of ``health_status`` (gitops-engine's health codes, ``Unknown`` when unset).
ARGOCD_HEALTH_STATUSES = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")
#: Values of ``sync_status``.
ARGOCD_SYNC_STATUSES = ("Synced", "OutOfSync", "Unknown")


class ArgoCdSource(Source):
    name: ClassVar[str] = "argocd"
    reads_exposition: ClassVar[bool] = True
    description: ClassVar[str] = "Argo CD application controller /metrics (:8082; repo server :8084)"
    #: Counter vectors appear only after their first increment, and an idle controller has no
    #: applications yet: any one of these identifies an Argo CD component (see
    #: :meth:`missing_families`).
    expected_families: ClassVar[Mapping[str, str]] = {
        "argocd_app_info": "gauge",
        "argocd_app_reconcile": "histogram",
        "argocd_cluster_info": "gauge",
        "argocd_git_request_total": "counter",
    }

    def missing_families(self, exposition: Exposition) -> list[str]:
        """A controller without applications lacks ``argocd_app_*`` and the repo server lacks
        everything but ``argocd_git_*``: warn only when no Argo CD family is there at all."""
        missing = super().missing_families(exposition)
        return [] if len(missing) < len(self.expected_families) else missing
