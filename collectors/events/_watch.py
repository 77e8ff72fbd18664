"""Watch Events in the platform's namespaces and turn each occurrence into one log record.

Per namespace: list once (paged), then watch from the list's resourceVersion. Every event,
bookmark included, moves the resume point, so after a dropped connection the next watch
starts right after the last event seen and nothing is delivered twice. A ``410 Gone``
(the resume point was compacted away) starts over with a fresh list; the events that list
returns again are recognised by uid and resourceVersion and skipped, while an event that
changed in the gap (a repeat: higher ``count``, new resourceVersion) is delivered once.
``DELETED`` is the event object expiring (the API server's event TTL), not news: skipped.

Each watch asks the server to end it after ``watch_timeout_s`` so the resume logic, not the
client library's own retry, decides where to pick up. Access problems (401/403: the
ClusterRole lacks list/watch on events) raise :class:`SourceAPIError` with the fix; anything
else (connection reset, 5xx) is retried after ``retry_delay_s`` from the last resume point.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from kubernetes import client as k8s_client
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException
from opentelemetry.sdk._logs import ReadableLogRecord

from omni_core.errors import ConfigError, SourceAPIError

from ._records import event_record

__all__ = ["EventWatchStats", "KubernetesEventsSource"]

_log = logging.getLogger(__name__)
_PAGE = 500


@dataclass
class EventWatchStats:
    """What one namespace's watch has done: for the pipeline's own metrics and for tests."""

    lists: int = 0
    watches: int = 0
    resumed_after_drop: int = 0
    relisted_after_gone: int = 0
    duplicates_skipped: int = 0
    records: int = 0
    resume_versions: list[str] = field(default_factory=list)


class _Seen:
    """The (uid, resourceVersion) pairs already delivered, the oldest forgotten first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[tuple[str, str], None] = OrderedDict()

    def add(self, key: tuple[str, str]) -> bool:
        """True when ``key`` is new (and remember it)."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return True


class KubernetesEventsSource:
    """Events of ``namespaces`` as SDK log records.

    ``api_client`` is a configured ``kubernetes.client.ApiClient`` (see
    ``collectors.discovery.kubernetes_api_client``). ``include_existing`` delivers the events
    the first list finds (the API server keeps about an hour of them); off, only what happens
    after start is delivered. The source keeps its resume points and delivered keys, so use
    one instance for the life of the process.
    """

    name = "kubernetes-events"

    def __init__(
        self,
        api_client: k8s_client.ApiClient,
        namespaces: Sequence[str],
        *,
        cluster: str = "",
        include_existing: bool = True,
        watch_timeout_s: int = 300,
        request_timeout_s: float = 30.0,
        retry_delay_s: float = 2.0,
        remember: int = 50_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not namespaces:
            raise ConfigError("the kubernetes-events source needs at least one namespace to watch", field="events_namespaces")
        self._core = k8s_client.CoreV1Api(api_client)
        self.namespaces = tuple(namespaces)
        self._cluster = cluster
        self._include_existing = include_existing
        self._watch_timeout_s = watch_timeout_s
        self._request_timeout_s = request_timeout_s
        self._retry_delay_s = retry_delay_s
        self._clock = clock
        self._seen = {ns: _Seen(remember) for ns in self.namespaces}
        self.stats = {ns: EventWatchStats() for ns in self.namespaces}

    def records(self, namespace: str, stop: threading.Event) -> Iterator[ReadableLogRecord]:
        """Every new event occurrence in ``namespace`` until ``stop`` is set (checked between
        events and after each watch ends)."""
        stats = self.stats[namespace]
        resume: str | None = None
        first = True
        while not stop.is_set():
            try:
                if resume is None:
                    items, resume = self._list(namespace)
                    stats.lists += 1
                    deliver = self._include_existing or not first
                    first = False
                    for event in items:
                        record = self._record(namespace, event, deliver)
                        if record is not None:
                            yield record
                stats.watches += 1
                stats.resume_versions.append(resume)
                watcher = k8s_watch.Watch()
                for change in watcher.stream(
                    self._core.list_namespaced_event,
                    namespace,
                    resource_version=resume,
                    allow_watch_bookmarks=True,
                    timeout_seconds=self._watch_timeout_s,
                    _request_timeout=(self._request_timeout_s, self._watch_timeout_s + self._request_timeout_s),
                ):
                    resume = watcher.resource_version or resume
                    if change["type"] in ("ADDED", "MODIFIED"):
                        record = self._record(namespace, change["object"], True)
                        if record is not None:
                            yield record
                    if stop.is_set():
                        watcher.stop()
                        break
            except ApiException as exc:
                if exc.status == 410:
                    _log.info("events in %s: resume point %s expired (%s); listing again", namespace, resume, exc.reason)
                    stats.relisted_after_gone += 1
                    resume = None
                    continue
                if exc.status in (401, 403):
                    raise SourceAPIError(
                        f"the Kubernetes API refused to {'list' if resume is None else 'watch'} events in namespace "
                        f"{namespace!r} (HTTP {exc.status} {exc.reason}); grant the service account list and watch "
                        "on events (core/v1) in that namespace (see collectors/discovery/RBAC.md)",
                        target=f"kubernetes-events/{namespace}",
                    ) from exc
                self._pause(namespace, stats, resume, exc, stop)
            except Exception as exc:  # transport: connection reset or dropped mid-stream
                self._pause(namespace, stats, resume, exc, stop)

    def run(self, sink: Callable[[list[ReadableLogRecord]], None], stop: threading.Event) -> list[threading.Thread]:
        """Watch every namespace on its own daemon thread, handing each record to ``sink``
        (as a one-record batch; the sink batches for the store)."""
        threads = []
        for namespace in self.namespaces:
            def watch_one(ns: str = namespace) -> None:
                try:
                    for record in self.records(ns, stop):
                        sink([record])
                except SourceAPIError as exc:
                    _log.error("%s", exc)

            thread = threading.Thread(target=watch_one, name=f"k8s-events-{namespace}", daemon=True)
            thread.start()
            threads.append(thread)
        return threads

    def _list(self, namespace: str) -> tuple[list, str]:
        items: list = []
        token: str | None = None
        version = ""
        while True:
            page = self._core.list_namespaced_event(
                namespace, limit=_PAGE, _continue=token, _request_timeout=self._request_timeout_s
            )
            items.extend(page.items or [])
            version = page.metadata.resource_version or version
            token = page.metadata._continue
            if not token:
                return items, version

    def _record(self, namespace: str, event, deliver: bool) -> ReadableLogRecord | None:
        meta = event.metadata
        key = ((meta.uid or meta.name or ""), meta.resource_version or "")
        stats = self.stats[namespace]
        if not self._seen[namespace].add(key):
            stats.duplicates_skipped += 1
            return None
        if not deliver:
            return None
        stats.records += 1
        return event_record(event, cluster=self._cluster, observed_ns=int(self._clock() * 1_000_000_000))

    def _pause(self, namespace: str, stats: EventWatchStats, resume: str | None, exc: BaseException,
               stop: threading.Event) -> None:
        stats.resumed_after_drop += 1
        _log.warning("events in %s: watch ended (%s); resuming from %s", namespace, exc, resume or "a fresh list")
        stop.wait(self._retry_delay_s)
