"""Turns settings into the running pieces. The only place that knows every package."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.metrics.export import MetricExporter

from typing import TYPE_CHECKING

from collectors import ParseLimits, Scraper, ScrapeTarget, get_source
from exporters.clickhouse import SchemaOptions, TableNames

from omni_core.errors import ConfigError
from .settings import OmniSettings, TargetSettings

if TYPE_CHECKING:
    from exporters.delivery import DeliveryOptions

__all__ = ["build_discovery", "build_exporter", "build_scraper", "parse_limits", "schema_options", "scrape_targets", "target_from_settings"]


def schema_options(settings: OmniSettings) -> SchemaOptions:
    return SchemaOptions(
        database=settings.database,
        tables=TableNames(exponential_histogram=settings.exp_histogram_table),
        ttl_days=settings.retention_days,
        generation=settings.table_generation,
        cluster=settings.storage_cluster,
    )


def parse_limits(settings: OmniSettings) -> ParseLimits:
    return ParseLimits(
        max_body_bytes=settings.max_body_bytes,
        max_line_bytes=settings.max_line_bytes,
        max_labels=settings.max_labels,
    )


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
        limits=parse_limits(settings),
        forget_after_s=settings.series_forget_after_s,
        max_series_per_target=settings.max_series_per_target,
        **kwargs,  # type: ignore[arg-type]
    )


def delivery_options(settings: OmniSettings, name: str) -> "DeliveryOptions":
    """Queue bounds for one sink; each process role spools into its own sub-directory."""
    from pathlib import Path

    from exporters.delivery import DeliveryOptions, RetryPolicy

    return DeliveryOptions(
        name=name,
        max_memory_points=settings.queue_max_samples,
        spool_dir=str(Path(settings.spool_dir) / name) if settings.spool_dir else None,
        max_spool_bytes=settings.spool_max_bytes,
        retry=RetryPolicy(settings.retry_initial_s, settings.retry_max_s),
        max_memory_bytes=settings.queue_max_bytes,
        batch_max_points=settings.batch_max_samples,
        batch_max_age_s=settings.batch_max_age_s,
    )


def build_exporter(settings: OmniSettings, registry: object | None = None) -> MetricExporter:
    """The sink the scrape loop hands ``MetricsData`` to: a delivery queue (retries, spool,
    insert deduplication) in front of the ClickHouse writer or the OTLP push."""
    from exporters._selfmetrics import ExporterMetrics
    from exporters.delivery import DeliveryQueue, ReconnectingWriter

    metrics = ExporterMetrics.for_registry(registry) if registry is not None else None
    if settings.export_mode == "clickhouse":
        from exporters.clickhouse import ClickHouseWriter, apply_schema, connect, parse_dsn

        parse_dsn(settings.storage_dsn)  # a malformed DSN fails now, not on the first retry
        options = schema_options(settings)

        def open_writer() -> ClickHouseWriter:
            client = connect(settings.storage_dsn)
            apply_schema(client, options)
            return ClickHouseWriter(client, options)

        return DeliveryQueue(ReconnectingWriter(open_writer), delivery_options(settings, "clickhouse"), metrics=metrics)
    from exporters.otlp import OtlpPushOptions, create_push_exporter

    push = create_push_exporter(
        OtlpPushOptions(
            endpoint=settings.otlp_endpoint,
            protocol=settings.otlp_protocol,
            headers=dict(settings.otlp_headers),
            compression=settings.otlp_compression,
            timeout_s=settings.otlp_timeout_s,
            ca_file=settings.otlp_ca_file,
            insecure=settings.otlp_insecure,
        )
    )
    return DeliveryQueue(push, delivery_options(settings, "otlp"), metrics=metrics)


def build_discovery(settings: OmniSettings, static_targets: Sequence[ScrapeTarget], scraper: Scraper) -> object | None:
    """Kubernetes discovery when enabled; static targets are always scraped too."""
    if not settings.discovery_enabled:
        return None
    from collectors.discovery import (
        DiscoveredTargets,
        KubernetesAccess,
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
    access = KubernetesAccess(
        mode=settings.discovery_mode,
        kubeconfig=settings.discovery_kubeconfig,
        context=settings.discovery_context,
        api_url=settings.discovery_api_url,
        token_file=settings.discovery_api_token_file,
        ca_file=settings.discovery_api_ca_file,
    )
    discovery = KubernetesDiscovery(
        kubernetes_api_client(access),
        rules,
        ca_dir=settings.discovery_ca_dir,
        use_endpoint_slices=settings.discovery_use_endpoint_slices,
    )
    targets: DiscoveredTargets

    def forget_removed(_result: object) -> None:
        scraper.forget(targets())

    targets = DiscoveredTargets(
        discovery, static_targets=static_targets, interval_s=settings.discovery_interval_s, on_change=forget_removed
    )
    return targets
