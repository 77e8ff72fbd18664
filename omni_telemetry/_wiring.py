"""The one assembly place: every process (``collect``, ``ingest``, the demo, and the health
service next) is built here from :class:`OmniSettings`, and nowhere else.

Why one place: the settings hand down typed option objects (the parsed DSN, schema, parse
limits, delivery, ingest, OTLP push), so each default and each check exists once; this module
only plugs those objects into the packages. It is the only module that knows every package.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collectors import CollectionLoop, CycleReport, ParseLimits, Scraper, ScrapeTarget, TargetShard, get_source
from exporters.clickhouse import SchemaOptions

from omni_core.errors import ConfigError, StorageUnavailable
from ._log_delivery import LogDelivery
from ._store_state import StoreStateReading, WithStoreState
from .settings import OmniSettings, TargetSettings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client
    from kubernetes.client import ApiClient
    from prometheus_client import CollectorRegistry

    from collectors import CollectorMetrics
    from collectors.discovery import KubernetesAccess
    from collectors.events import KubernetesEventsSource
    from exporters.clickhouse import ClickHouseLogWriter, ClickHouseWriter
    from exporters.delivery import DeliveryOptions, DeliveryQueue

__all__ = [
    "CollectProcess",
    "DemoProcess",
    "EventsProcess",
    "IngestProcess",
    "Store",
    "build_collect",
    "build_demo",
    "build_discovery",
    "build_events",
    "build_exporter",
    "build_ingest",
    "build_ingest_logs_sink",
    "build_scraper",
    "build_store_state",
    "check_store_writable",
    "event_namespaces",
    "open_demo_store",
    "open_store",
    "kubernetes_access",
    "parse_limits",
    "schema_options",
    "scrape_targets",
    "store_state_interval",
    "target_from_settings",
]

_log = logging.getLogger(__name__)


# --- option objects (kept as functions for callers that take them from here) -------------


def schema_options(settings: OmniSettings) -> SchemaOptions:
    return settings.schema_options()


def parse_limits(settings: OmniSettings) -> ParseLimits:
    return settings.parse_limits()


def delivery_options(settings: OmniSettings, name: str) -> "DeliveryOptions":
    return settings.delivery_options(name)


# --- targets and scraping --------------------------------------------------------------


def target_from_settings(target: TargetSettings, settings: OmniSettings) -> ScrapeTarget:
    get_source(target.source)  # unknown source names fail at start, naming the known ones
    timeout = target.timeout_s if target.timeout_s is not None else settings.scrape_timeout_s
    return ScrapeTarget(
        url=target.url,
        source=target.source,
        job=target.job or "",
        instance=target.instance or "",
        timeout_s=timeout,
        bearer_token_file=target.bearer_token_file,
        ca_file=target.ca_file,
        insecure_skip_verify=target.insecure_skip_verify,
        resource=dict(target.resource),
        options=dict(target.options),
    )


def scrape_targets(settings: OmniSettings, extra: Sequence[TargetSettings] = ()) -> list[ScrapeTarget]:
    targets = [target_from_settings(t, settings) for t in [*settings.targets, *extra]]
    seen: set[tuple[str, str, str]] = set()
    for target in targets:
        if target.key in seen:
            raise ConfigError(f"target {target.url} (job {target.job!r}) is configured twice", field="targets")
        seen.add(target.key)
    return targets


def build_scraper(settings: OmniSettings, **kwargs: object) -> Scraper:
    return Scraper(
        cluster=settings.cluster_name,
        limits=settings.parse_limits(),
        forget_after_s=settings.series_forget_after_s,
        max_series_per_target=settings.max_series_per_target,
        **kwargs,  # type: ignore[arg-type]
    )


# --- the store ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    """An open ClickHouse client with the schema applied, and the options it was applied with."""

    client: "Client"
    options: SchemaOptions

    def writer(self) -> "ClickHouseWriter":
        from exporters.clickhouse import ClickHouseWriter

        return ClickHouseWriter(self.client, self.options)

    def log_writer(self) -> "ClickHouseLogWriter":
        from exporters.clickhouse import ClickHouseLogWriter

        return ClickHouseLogWriter(self.client, self.options)


def check_store_writable(settings: OmniSettings) -> None:
    """An embedded store whose directory cannot be created or written fails now, before scraping.

    chDB would otherwise fail on the first write, after the first cycle, and the queue would
    keep retrying a directory that can never work.
    """
    storage = settings.storage
    if storage.kind != "chdb":
        return
    existing = Path(storage.path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise StorageUnavailable(
            f"the chDB data directory {storage.path} cannot be written ({existing} is "
            f"{'not a directory' if not existing.is_dir() else 'not writable'}); "
            "point storage_dsn (OMNI_STORAGE_DSN, --dsn) at a writable directory"
        )


def open_store(settings: OmniSettings) -> Store:
    """Connect to the configured store and apply the schema (idempotent)."""
    from exporters.clickhouse import apply_schema, connect

    options = settings.schema_options()
    client = connect(settings.storage)
    apply_schema(client, options)
    return Store(client, options)


def build_exporter(
    settings: OmniSettings,
    registry: "CollectorRegistry | None" = None,
    *,
    first_store: Store | None = None,
    name: str | None = None,
) -> "DeliveryQueue":
    """The sink the scrape loop hands ``MetricsData`` to: a delivery queue (retries, spool,
    insert deduplication) in front of the ClickHouse writer or the OTLP push.

    ``first_store`` is a store already opened (``collect --once`` opens it before scraping,
    so a store that is down fails the run at once); later reconnects open a fresh one.
    ``name`` labels the queue and its spool sub-directory (default: the export mode).
    """
    from exporters._selfmetrics import ExporterMetrics
    from exporters.delivery import DeliveryQueue, ReconnectingWriter

    metrics = ExporterMetrics.for_registry(registry) if registry is not None else None
    if settings.export_mode == "clickhouse":
        opened = [first_store] if first_store is not None else []

        def open_writer() -> "ClickHouseWriter":
            return (opened.pop() if opened else open_store(settings)).writer()

        return DeliveryQueue(ReconnectingWriter(open_writer), settings.delivery_options(name or "clickhouse"), metrics=metrics)
    from exporters.otlp import create_push_exporter

    push = create_push_exporter(settings.otlp_push_options())
    return DeliveryQueue(push, settings.delivery_options(name or "otlp"), metrics=metrics)


# --- discovery ---------------------------------------------------------------------------


def kubernetes_access(settings: OmniSettings) -> "KubernetesAccess":
    """How to reach the Kubernetes API: the one access for discovery and the events source."""
    from collectors import CollectorMetrics
    from collectors.discovery import KubernetesAccess

    return KubernetesAccess(
        mode=settings.discovery_mode,
        kubeconfig=settings.discovery_kubeconfig,
        context=settings.discovery_context,
        api_url=settings.discovery_api_url,
        token_file=settings.discovery_api_token_file,
        ca_file=settings.discovery_api_ca_file,
    )


def build_discovery(
    settings: OmniSettings, static_targets: Sequence[ScrapeTarget], scraper: Scraper, shard: TargetShard = TargetShard()
) -> Any | None:
    """Kubernetes discovery when enabled; static targets are always scraped too. With a
    ``shard`` of several replicas, only the targets of this replica's bucket are scraped,
    re-sharded on every refresh."""
    if not settings.discovery_enabled:
        return None
    from collectors.discovery import (
        DiscoveredTargets,
        KubernetesDiscovery,
        default_rules,
        kubernetes_api_client,
    )

    try:
        rules = default_rules(
            settings.discovery_sources,
            namespaces=settings.discovery_namespaces,
            bearer_token_file=settings.discovery_bearer_token_file,
            kubevirt_ca_file=settings.discovery_kubevirt_ca_file,
            insecure_skip_verify=settings.discovery_insecure_skip_verify,
        )
    except ValueError as exc:
        raise ConfigError(str(exc), field="discovery_sources") from None
    discovery = KubernetesDiscovery(
        kubernetes_api_client(kubernetes_access(settings)),
        rules,
        ca_dir=settings.discovery_ca_dir,
        use_endpoint_slices=settings.discovery_use_endpoint_slices,
    )
    targets: DiscoveredTargets

    def forget_removed(_result: object) -> None:
        scraper.forget(targets())

    targets = DiscoveredTargets(
        discovery,
        static_targets=static_targets,
        interval_s=settings.discovery_interval_s,
        on_change=forget_removed,
        shard=shard,
    )
    return targets


# --- the store's own state and Kubernetes events ----------------------------------------


def build_store_state(
    settings: OmniSettings, registry: "CollectorRegistry | None" = None, *, store: Store | None = None
) -> StoreStateReading:
    """Reads the store's state every :func:`store_state_interval` through ``store``'s client, or a
    client on the same DSN opened on first use (on chDB that is the process's one engine, never a second).

    The reading runs inside the cycle's export, so a server client of its own is bounded by
    the scrape timeout: a store that hangs delays a cycle by that much at most, and the
    delivery queue, not the reading, rides out the outage.
    """
    from exporters.clickhouse import connect, engine_lock

    def open_query() -> Callable[[str], Any]:
        if store is not None:
            client = store.client
        else:
            client = connect(
                settings.storage,
                connect_timeout_s=min(5.0, settings.scrape_timeout_s),
                send_receive_timeout_s=settings.scrape_timeout_s,
            )

        def query(sql: str) -> Any:
            with engine_lock(client):  # statements on one chDB engine take turns with the writers
                return client.query(sql).result_rows

        return query

    return StoreStateReading(
        open_query, databases=(settings.database,), cluster=settings.cluster_name, registry=registry,
        interval_s=store_state_interval(settings),
    )


def store_state_interval(settings: OmniSettings) -> float:
    """``store_state_interval_s``, but at most half the health API's staleness window
    (``health_staleness_intervals`` x ``scrape_interval_s``): the store rules judge the newest
    reading, and one older than the window makes the store's entities unknown."""
    return min(settings.store_state_interval_s, settings.health_staleness_intervals * settings.scrape_interval_s / 2)


def event_namespaces(settings: OmniSettings) -> list[str]:
    """``events_namespaces``, or when unset every namespace discovery looks in (its rules for
    ``discovery_sources`` with ``discovery_namespaces`` applied), in rule order."""
    if settings.events_namespaces is not None:
        return list(dict.fromkeys(settings.events_namespaces))
    from collectors.discovery import default_rules

    try:
        rules = default_rules(settings.discovery_sources, namespaces=settings.discovery_namespaces)
    except ValueError as exc:
        raise ConfigError(str(exc), field="discovery_sources") from None
    return list(dict.fromkeys(ns for rule in rules for ns in rule.namespaces))


class EventsProcess:
    """The kubernetes-events source watching on its threads, its records batched into
    ``otel_logs`` by a :class:`LogDelivery` on another. :meth:`start` once, :meth:`stop` once."""

    def __init__(self, source: "KubernetesEventsSource", delivery: LogDelivery) -> None:
        self.source = source
        self.delivery = delivery
        self._stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.delivery.start()
        self.threads = self.source.run(self.delivery, self._stop)

    def stop(self, timeout_s: float) -> bool:
        """Stop watching and store what is held within ``timeout_s``; True when all was stored.

        Watch threads blocked on a quiet stream are daemons and end with the process: what
        they would still deliver is replayed by the next start's list.
        """
        self._stop.set()
        return self.delivery.stop(timeout_s)


def build_events(
    settings: OmniSettings,
    registry: "CollectorRegistry | None" = None,
    *,
    api_client: "ApiClient | None" = None,
    store: Store | None = None,
    namespaces: Sequence[str] | None = None,
) -> EventsProcess:
    """Events of :func:`event_namespaces` into ``otel_logs`` of the configured store.

    ``api_client`` replaces the one built from the discovery access settings (the demo's
    replay API server), ``namespaces`` the settings' (the demo's own), ``store`` an already
    open store (else one is opened on the first write)."""
    from collectors.discovery import kubernetes_api_client
    from collectors.events import KubernetesEventsSource

    if settings.export_mode != "clickhouse":
        raise ConfigError(
            "events_enabled needs export_mode clickhouse: log records are written to otel_logs by this "
            "process (an OTLP push of logs is not supported); set export_mode: clickhouse or events_enabled: false",
            field="events_enabled",
        )
    namespaces = list(namespaces) if namespaces is not None else event_namespaces(settings)
    if not namespaces:
        raise ConfigError(
            "no namespace to watch events in: set events_namespaces, e.g. [vms, mayastor]", field="events_namespaces"
        )
    client = api_client if api_client is not None else kubernetes_api_client(kubernetes_access(settings))
    source = KubernetesEventsSource(client, namespaces, cluster=settings.cluster_name)

    def open_writer() -> "ClickHouseLogWriter":
        return (store or open_store(settings)).log_writer()

    delivery = LogDelivery(
        open_writer,
        retry_initial_s=settings.retry_initial_s,
        retry_max_s=settings.retry_max_s,
        registry=registry,
    )
    return EventsProcess(source, delivery)


# --- processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectProcess:
    """Everything ``collect`` runs: the loop, its exporter, discovery, the process's own registry,
    and with ``events_enabled`` the events watch (started by the caller, beside the loop)."""

    loop: CollectionLoop
    exporter: "DeliveryQueue"
    discovered: Any | None
    registry: "CollectorRegistry"
    metrics_port: int | None
    shutdown_timeout_s: float
    events: EventsProcess | None = None


def build_collect(
    settings: OmniSettings,
    extra_targets: Sequence[TargetSettings] = (),
    *,
    on_cycle: Callable[[CycleReport], None] | None = None,
    open_store_first: bool = False,
) -> CollectProcess:
    """The scrape loop with its exporter. Raises before anything is scraped when the
    settings cannot work (no targets, unwritable store, and with ``open_store_first`` a
    store that cannot be reached).

    Writing to ClickHouse, each cycle also reads the store's own state into the same export
    (``store_metrics_enabled``); with ``events_enabled`` the process carries the events watch.
    """
    from collectors import CollectorMetrics
    from prometheus_client import CollectorRegistry

    configured = scrape_targets(settings, extra_targets)
    if not configured and not settings.discovery_enabled and not settings.events_enabled:
        raise ConfigError(
            "no targets: add `targets:` to the config file, pass --target URL --source NAME, "
            "or set discovery_enabled: true",
            field="targets",
        )
    # Replicas sharing the targets: this one keeps its bucket of the static targets here and
    # of the discovered ones on every refresh (DiscoveredTargets).
    shard = settings.target_shard()
    targets = list(shard.select(configured))
    if settings.metrics_port:  # every replica stores its own /metrics too, for the Pipeline dashboard
        from collectors.sources.omni import self_target

        targets.append(self_target(settings.metrics_port, timeout_s=settings.scrape_timeout_s))
    if not shard.is_whole:
        _log.info("%s: scraping %d of %d static targets", shard, len(targets), len(configured))
    first_store = None
    if settings.export_mode == "clickhouse":
        check_store_writable(settings)
        first_store = open_store(settings) if open_store_first else None
    registry = CollectorRegistry()  # one per run: the process's own telemetry, nothing global
    scraper = build_scraper(settings, metrics=CollectorMetrics(registry))
    discovered = build_discovery(settings, targets, scraper, shard)
    exporter = build_exporter(settings, registry, first_store=first_store)
    sink: Any = exporter
    if settings.export_mode == "clickhouse" and settings.store_metrics_enabled:
        sink = WithStoreState(exporter, build_store_state(settings, registry, store=first_store))
    events = build_events(settings, registry, store=first_store) if settings.events_enabled else None
    loop = CollectionLoop(
        scraper, sink, discovered or targets, interval_s=settings.scrape_interval_s, on_cycle=on_cycle
    )
    return CollectProcess(
        loop, exporter, discovered, registry, settings.metrics_port, settings.shutdown_timeout_s, events
    )


@dataclass(frozen=True)
class IngestProcess:
    """The OTLP/HTTP receiver, ready to serve until SIGINT/SIGTERM."""

    settings: OmniSettings
    log_level: str

    def run(self) -> None:
        from ._ingest import ingest_destination, ingest_options, run_ingest

        settings = self.settings
        run_ingest(
            ingest_options(settings),
            build_exporter(settings, name="ingest"),
            log_level=self.log_level,
            destination=ingest_destination(settings),
            logs_sink=build_ingest_logs_sink(settings),
        )


def build_ingest_logs_sink(settings: OmniSettings) -> "DeliveryQueue | None":
    """Where ``ingest`` puts received log records: a delivery queue of its own (spool
    sub-directory ``ingest-logs``, same bounds, retries and insert tokens as the metrics one) in
    front of the ClickHouse log writer. None with ``export_mode: otlp`` (there is no OTLP push
    of logs), and ``/v1/logs`` is then not served."""
    if settings.export_mode != "clickhouse":
        return None
    from exporters.delivery import LOG_BATCHES, DeliveryQueue, ReconnectingWriter

    def open_writer() -> "ClickHouseLogWriter":
        return open_store(settings).log_writer()

    return DeliveryQueue(ReconnectingWriter(open_writer), settings.delivery_options("ingest-logs"), kind=LOG_BATCHES)


def build_ingest(settings: OmniSettings, *, log_level: str = "info") -> IngestProcess:
    check_store_writable(settings)
    return IngestProcess(settings, log_level)


@dataclass(frozen=True)
class DemoProcess:
    """The demo's pipeline: the loop writing straight to the store, so each cycle's view reads
    what that cycle stored (no queue in between; a demo has no outage to ride out), with the
    store's own state each cycle and, given a replay API server, its Kubernetes events."""

    loop: CollectionLoop
    exporter: Any
    events: EventsProcess | None = None


def open_demo_store(settings: OmniSettings) -> Store:
    check_store_writable(settings)
    return open_store(settings)


def build_demo(
    settings: OmniSettings,
    store: Store,
    targets: Sequence[ScrapeTarget],
    *,
    interval_s: float,
    on_cycle: Callable[[CycleReport], None] | None = None,
    events_api: "ApiClient | None" = None,
    event_namespaces: Sequence[str] = (),
    wrap_sink: Callable[[Any], Any] | None = None,
    collector_metrics: "CollectorMetrics | None" = None,
) -> DemoProcess:
    """``wrap_sink`` puts the writer behind something (the demo's self-telemetry queue);
    ``collector_metrics`` is where the scraper reports its own counters."""
    from exporters.clickhouse import ClickHouseMetricExporter

    exporter: Any = ClickHouseMetricExporter(store.writer())
    if wrap_sink is not None:
        exporter = wrap_sink(exporter)
    sink: Any = exporter
    if settings.store_metrics_enabled:
        sink = WithStoreState(exporter, build_store_state(settings, store=store))
    events = None
    if events_api is not None:
        events = build_events(settings, api_client=events_api, store=store, namespaces=event_namespaces)
    scraper = build_scraper(settings, metrics=collector_metrics) if collector_metrics else build_scraper(settings)
    loop = CollectionLoop(scraper, sink, targets, interval_s=interval_s, on_cycle=on_cycle)
    return DemoProcess(loop, exporter, events)
