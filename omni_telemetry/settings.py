"""The one configuration model: defaults < YAML file (``--config``) < ``OMNI_*`` env < CLI flags.

Why one flat model: every setting has exactly one name, the same in the YAML file and (upper
cased, prefixed ``OMNI_``) in the environment, e.g. ``storage_dsn`` / ``OMNI_STORAGE_DSN``.
Nothing else in the project reads the environment; the CLI builds this model once and
:mod:`omni_telemetry._wiring` builds every process from it. Each default lives here once: the
model hands the packages typed option objects (:meth:`OmniSettings.schema_options`,
:meth:`~OmniSettings.parse_limits`, :meth:`~OmniSettings.delivery_options`,
:meth:`~OmniSettings.ingest_options`, :meth:`~OmniSettings.otlp_push_options`, and the DSN
parsed once as :attr:`~OmniSettings.storage`), so no package falls back on a default of its own.
Invalid settings fail at start with :class:`ConfigError` naming the key where it was written and
the fix, before anything is scraped or written.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import types
import typing
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError

from omni_core.errors import ConfigError

if TYPE_CHECKING:
    from collectors import ParseLimits, TargetShard
    from exporters.clickhouse import SchemaOptions, StorageDsn
    from exporters.delivery import DeliveryOptions
    from collectors.otlp_receiver import IngestOptions
    from exporters.otlp import OtlpPushOptions

__all__ = ["DEFAULT_SCRAPE_TIMEOUT_S", "OmniSettings", "TargetSettings", "default_dsn", "load_settings"]

#: Prometheus's default ``scrape_timeout``; lowered to the interval when that is shorter.
DEFAULT_SCRAPE_TIMEOUT_S = 10.0

_config_file: ContextVar[Path | None] = ContextVar("omni_config_file", default=None)
_file_data: ContextVar[dict[str, Any]] = ContextVar("omni_config_data", default={})


def default_dsn(base: Path | None = None) -> str:
    """The embedded default: chDB under ``.omni/data`` of the working directory."""
    return f"chdb://{((base or Path.cwd()) / '.omni' / 'data').resolve()}"


class TargetSettings(BaseModel):
    """One static target. ``source`` names a registered source (``omni-telemetry sources``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    source: str = "prometheus"
    job: str | None = None
    instance: str | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    bearer_token_file: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    options: dict[str, str] = Field(default_factory=dict)
    resource: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL; write e.g. http://10.0.0.5:9502/metrics")
        return value


class OmniSettings(BaseSettings):
    """All settings. Durations are seconds; sizes are bytes."""

    model_config = SettingsConfigDict(env_prefix="OMNI_", extra="forbid", validate_default=True)

    # identity
    cluster_name: str = Field(default="", description="added to every resource as k8s.cluster.name")

    # storage (ClickHouse)
    storage_dsn: str = Field(
        default_factory=default_dsn, repr=False, description="chdb:///path or http(s)://user:pass@host:port/db"
    )  # repr=False: the password must not reach a log through repr(settings); see storage_display
    database: str = "otel"
    retention_days: int = Field(default=0, ge=0, description="TTL of metric rows in days; 0 keeps them forever (the Collector's default)")
    table_generation: Literal["classic", "v2"] = "classic"
    table_merge_selector_base: int = Field(
        default=20, ge=0, description="similar parts a metric table lets accumulate before merging them; 0 = the engine's default (5)"
    )
    exp_histogram_table: str = "otel_metrics_exponential_histogram"
    storage_cluster: str | None = Field(default=None, description="ClickHouse cluster name: ON CLUSTER DDL, replicated tables")

    # scraping
    scrape_interval_s: float = Field(default=15.0, gt=0)
    scrape_timeout_s: float = Field(
        default=DEFAULT_SCRAPE_TIMEOUT_S, gt=0, description="unless set, the shorter of 10 s and the interval"
    )
    max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_line_bytes: int = Field(default=1024 * 1024, gt=0)
    max_labels: int = Field(default=128, gt=0)
    series_forget_after_s: float = Field(default=600.0, gt=0, description="forget a vanished series' state after this")
    max_series_per_target: int = Field(default=1_000_000, gt=0, description="bound on remembered series per target")
    targets: list[TargetSettings] = Field(default_factory=list)

    # Kubernetes discovery (RBAC: collectors/discovery/RBAC.md)
    discovery_enabled: bool = False
    discovery_mode: Literal["in-cluster", "kubeconfig", "url"] = "in-cluster"
    discovery_kubeconfig: str | None = None
    discovery_context: str | None = None
    discovery_api_url: str | None = None
    discovery_api_token_file: str | None = None
    discovery_api_ca_file: str | None = None
    discovery_sources: list[str] | None = Field(default=None, description="sources to discover; all known when unset")
    discovery_namespaces: dict[str, list[str]] = Field(default_factory=dict, description="source -> namespaces")
    discovery_interval_s: float = Field(default=60.0, gt=0)
    discovery_bearer_token_file: str | None = Field(
        default=None, description="token sent to discovered HTTPS targets (KubeVirt), e.g. the service account's"
    )
    discovery_kubevirt_ca_file: str | None = None
    discovery_insecure_skip_verify: list[str] = Field(default_factory=list, description="sources whose TLS is not verified")
    discovery_ca_dir: str = ".omni/ca"
    discovery_use_endpoint_slices: bool = True

    # sharing the targets between identical collector replicas (a StatefulSet)
    shard_count: int = Field(default=1, ge=1, description="collector replicas sharing the targets; 1 scrapes them all")
    shard_index: int | None = Field(default=None, ge=0, description="this replica's bucket, 0 to shard_count - 1")
    shard_pod_name: str | None = Field(
        default=None, description="StatefulSet pod name (downward API metadata.name); its ordinal is the shard index"
    )

    # export
    export_mode: Literal["clickhouse", "otlp"] = "clickhouse"
    otlp_endpoint: str = "http://127.0.0.1:4318"
    otlp_protocol: Literal["http", "grpc"] = "http"
    otlp_headers: dict[str, str] = Field(default_factory=dict)
    otlp_compression: Literal["gzip", "none"] = "gzip"
    otlp_timeout_s: float = Field(default=10.0, gt=0)
    otlp_ca_file: str | None = None
    otlp_client_cert_file: str | None = Field(default=None, description="mutual TLS: client certificate (with the key)")
    otlp_client_key_file: str | None = Field(default=None, description="mutual TLS: client key (with the certificate)")
    otlp_insecure: bool = False

    # delivery
    queue_max_samples: int = Field(default=1_000_000, gt=0, description="samples held in memory while the sink is down")
    spool_dir: str | None = Field(default=None, description="on-disk spool that survives restarts; off when unset")
    spool_max_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    retry_initial_s: float = Field(default=5.0, gt=0)
    retry_max_s: float = Field(default=30.0, gt=0)
    retry_multiplier: float = Field(default=1.5, ge=1, description="back-off growth per failed attempt")
    retry_jitter: float = Field(default=0.5, ge=0, le=1, description="back-off randomisation, a share of the wait")
    shutdown_timeout_s: float = Field(
        default=20.0, gt=0, description="on SIGTERM/SIGINT: time to deliver what is queued before spooling the rest"
    )
    # delivery: byte bound and coalescing of queued batches into large inserts (exporters.delivery)
    queue_max_bytes: int = Field(default=512 * 1024 * 1024, gt=0,
                                 description="estimated bytes held in memory; bounds batches with fat attributes")
    batch_max_samples: int = Field(default=200_000, gt=0, description="merge queued batches into inserts of up to this many samples")
    batch_max_age_s: float = Field(default=10.0, ge=0, description="insert what is queued once its oldest batch waited this long")

    # ingest (OTLP/HTTP receiver)
    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=4318, ge=0, le=65535)
    ingest_token_file: str | None = None
    ingest_max_body_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    ingest_retry_after_s: float = Field(default=5.0, ge=0, description="Retry-After sent with 429/503")
    ingest_body_read_timeout_s: float = Field(default=10.0, gt=0, description="408 for a body not complete by then")
    ingest_header_read_timeout_s: float = Field(default=10.0, gt=0, description="close connections without headers by then")

    # self-telemetry
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="serve the collector's own /metrics here")

    # the store's own state, Kubernetes events as logs (otel_logs)
    store_metrics_enabled: bool = Field(
        default=True, description="store the store's own state (disks, parts, errors) as omni_store_* metrics"
    )
    store_state_interval_s: float = Field(
        default=30.0, ge=0, description="read the store's own state at most this often (0: every cycle)"
    )
    events_enabled: bool = Field(default=False, description="collect: watch Kubernetes Events and store them in otel_logs")
    events_namespaces: list[str] | None = Field(
        default=None, description="namespaces whose Events are stored; unset: the namespaces discovery looks in"
    )

    # health service
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=8080, ge=0, le=65535)
    health_rules_file: str | None = Field(default=None, description="rules merged over service/default_rules.yaml")
    health_eval_interval_s: float = Field(default=5.0, gt=0, description="seconds between background evaluations")
    health_staleness_intervals: float = Field(default=3.0, gt=0, description="scrape intervals until data is stale")
    health_critical_http_status: int = Field(default=503, ge=200, le=599, description="/health status when critical")

    _storage: Any = PrivateAttr(default=None)
    _shard_index: int = PrivateAttr(default=0)

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> "OmniSettings":
        if "scrape_timeout_s" not in self.model_fields_set:
            # Prometheus lowers the default timeout to a shorter interval; an explicit one is kept.
            self.scrape_timeout_s = min(DEFAULT_SCRAPE_TIMEOUT_S, self.scrape_interval_s)
        if self.scrape_timeout_s > self.scrape_interval_s:
            raise ValueError(
                f"scrape_timeout_s ({self.scrape_timeout_s:g}) is longer than scrape_interval_s "
                f"({self.scrape_interval_s:g}); lower the timeout or lengthen the interval"
            )
        if self.retry_initial_s > self.retry_max_s:
            raise ValueError(
                f"retry_initial_s ({self.retry_initial_s:g}) is longer than retry_max_s ({self.retry_max_s:g}); "
                "lower the first wait or raise the longest"
            )
        if bool(self.otlp_client_cert_file) != bool(self.otlp_client_key_file):
            raise ValueError("otlp_client_cert_file and otlp_client_key_file go together (mutual TLS); set both or neither")
        return self

    @model_validator(mode="after")
    def _one_shard_of_the_replicas(self) -> "OmniSettings":
        """The replica's bucket: ``shard_index``, or the ordinal ending ``shard_pod_name``."""
        count = self.shard_count
        if self.shard_index is not None and self.shard_pod_name is not None:
            raise ConfigError(
                f"shard_index ({self.shard_index}) and shard_pod_name ({self.shard_pod_name!r}) are both set; set one: "
                "shard_index for a fixed replica number, or shard_pod_name to take it from the StatefulSet ordinal",
                field="shard_index",
            )
        if self.shard_pod_name is not None:
            ordinal = re.fullmatch(r".*-(0|[1-9][0-9]*)", self.shard_pod_name)
            if ordinal is None:
                raise ConfigError(
                    f"{self.shard_pod_name!r} does not end in -<ordinal>; set shard_pod_name from a StatefulSet "
                    "pod's metadata.name (e.g. omni-collector-2), or set shard_index instead",
                    field="shard_pod_name",
                )
            index = int(ordinal.group(1))
            if index >= count:
                raise ConfigError(
                    f"pod {self.shard_pod_name} is replica {index} but shard_count is {count}; "
                    "set shard_count to the StatefulSet's replicas",
                    field="shard_count",
                )
            self._shard_index = index
            return self
        if self.shard_index is None:
            if count > 1:
                raise ConfigError(
                    f"shard_count is {count} but shard_index is unset; set shard_index (0 to {count - 1}) or "
                    "shard_pod_name (this replica's StatefulSet pod name), or shard_count to 1",
                    field="shard_index",
                )
            self._shard_index = 0
            return self
        if self.shard_index >= count:
            raise ConfigError(
                f"shard_index {self.shard_index} is not below shard_count {count}; replicas are numbered "
                f"0 to {count - 1}: set shard_count to the number of replicas",
                field="shard_index",
            )
        self._shard_index = self.shard_index
        return self

    @model_validator(mode="after")
    def _parse_dsn_once(self) -> "OmniSettings":
        from exporters.clickhouse import parse_dsn

        self._storage = parse_dsn(self.storage_dsn)  # ConfigError(field="storage_dsn") on a bad DSN
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlFileSource(settings_cls))

    # --- the typed options handed down (each default above, nowhere else) -----------------

    @property
    def storage(self) -> "StorageDsn":
        """``storage_dsn`` parsed (once, while validating); its ``repr`` hides the password."""
        return self._storage

    @property
    def storage_display(self) -> str:
        """``storage_dsn`` fit to print: the password replaced by ``***``."""
        return redact_dsn(self.storage_dsn)

    def schema_options(self) -> "SchemaOptions":
        from exporters.clickhouse import SchemaOptions, TableNames

        return SchemaOptions(
            database=self.database,
            tables=TableNames(exponential_histogram=self.exp_histogram_table),
            ttl_days=self.retention_days,
            generation=self.table_generation,
            cluster=self.storage_cluster,
            merge_selector_base=self.table_merge_selector_base,
        )

    def target_shard(self) -> "TargetShard":
        """Which targets this collector scrapes among ``shard_count`` replicas (all of them for one)."""
        from collectors import TargetShard

        return TargetShard(index=self._shard_index, count=self.shard_count)

    def parse_limits(self) -> "ParseLimits":
        from collectors import ParseLimits

        return ParseLimits(max_body_bytes=self.max_body_bytes, max_line_bytes=self.max_line_bytes, max_labels=self.max_labels)

    def delivery_options(self, name: str) -> "DeliveryOptions":
        """Queue bounds for one sink; each process role spools into its own sub-directory."""
        from exporters.delivery import DeliveryOptions, RetryPolicy

        return DeliveryOptions(
            name=name,
            max_memory_points=self.queue_max_samples,
            spool_dir=str(Path(self.spool_dir) / name) if self.spool_dir else None,
            max_spool_bytes=self.spool_max_bytes,
            retry=RetryPolicy(
                initial_interval_s=self.retry_initial_s,
                max_interval_s=self.retry_max_s,
                multiplier=self.retry_multiplier,
                jitter=self.retry_jitter,
            ),
            max_memory_bytes=self.queue_max_bytes,
            batch_max_points=self.batch_max_samples,
            batch_max_age_s=self.batch_max_age_s,
        )

    def ingest_options(self) -> "IngestOptions":
        """The receiver's bounds and timeouts. The bearer token is read from
        ``ingest_token_file`` only when serving; a 200 waits for the spool when there is one
        (``durable_ack``), and a request with more points than the memory queue holds is a
        413 rather than a 429 forever."""
        from collectors.otlp_receiver import IngestOptions

        return IngestOptions(
            host=self.ingest_host,
            port=self.ingest_port,
            max_body_bytes=self.ingest_max_body_bytes,
            max_request_points=self.queue_max_samples,
            retry_after_s=self.ingest_retry_after_s,
            durable_ack=self.spool_dir is not None,
            header_read_timeout_s=self.ingest_header_read_timeout_s,
            body_read_timeout_s=self.ingest_body_read_timeout_s,
            shutdown_timeout_s=self.shutdown_timeout_s,
        )

    def otlp_push_options(self) -> "OtlpPushOptions":
        from exporters.otlp import OtlpPushOptions

        return OtlpPushOptions(
            endpoint=self.otlp_endpoint,
            protocol=self.otlp_protocol,
            headers=dict(self.otlp_headers),
            compression=self.otlp_compression,
            timeout_s=self.otlp_timeout_s,
            ca_file=self.otlp_ca_file,
            client_cert_file=self.otlp_client_cert_file,
            client_key_file=self.otlp_client_key_file,
            insecure=self.otlp_insecure,
        )


def redact_dsn(dsn: str) -> str:
    """``dsn`` with its password (if any) replaced by ``***``: the only form a DSN is shown in."""
    try:
        parts = urlsplit(dsn)
        password = parts.password
    except ValueError:
        password = None
    if not password:
        return dsn
    at = parts.netloc.rindex("@")
    userinfo = parts.netloc[:at]
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***{parts.netloc[at:]}").geturl()


class _YamlFileSource(PydanticBaseSettingsSource):
    """The ``--config`` file, read below the environment and the command line."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data = _file_data.get()

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _read_yaml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}", field="--config") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
            field="--config",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", field="--config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of setting names to values", field="--config")
    return data


def load_settings(config_file: Path | None = None, **overrides: Any) -> OmniSettings:
    """Build the settings; ``overrides`` (CLI flags) win over env and file. ``None`` values are ignored."""
    given = {k: v for k, v in overrides.items() if v is not None}
    data = _read_yaml(config_file)
    file_token = _config_file.set(config_file)
    data_token = _file_data.set(data)
    try:
        return OmniSettings(**given)
    except ValidationError as exc:
        raise _explain(exc, config_file, data, given) from None
    except SettingsError as exc:
        raise _unparsable_env(exc) from None
    except ConfigError as exc:
        if exc.field in OmniSettings.model_fields:
            where = _origin(exc.field, config_file, data, given)
            raise ConfigError(f"{exc}{where}", field=exc.field) from None
        raise
    finally:
        _config_file.reset(file_token)
        _file_data.reset(data_token)


def _unparsable_env(exc: SettingsError) -> ConfigError:
    """``OMNI_TARGETS='[{'`` and the like: name the variable and what JSON it expects."""
    match = re.search(r'field "([^"]+)"', str(exc))
    name = match.group(1) if match else ""
    cause = exc.__cause__
    reason = f" ({cause})" if isinstance(cause, json.JSONDecodeError) else ""
    example = '[{"url": "http://10.0.0.5:9502/metrics", "source": "mayastor"}]' if name == "targets" else "JSON"
    return ConfigError(
        f"is not valid JSON{reason}; complex settings take JSON in the environment, e.g. {example}",
        field=f"OMNI_{name.upper()}" if name else "environment",
    )


def _dotted(loc: tuple[Any, ...]) -> str:
    """``('targets', 0, 'sorce')`` -> ``targets[0].sorce``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _origin(top: str, config_file: Path | None, data: dict[str, Any], given: dict[str, Any]) -> str:
    """Where a top-level key's value came from, for the error line: never an env var for a file key."""
    if top not in given and top in data and not _in_environment(top):
        return f" (in {config_file})"
    if top in OmniSettings.model_fields:
        return f" (env OMNI_{top.upper()})"
    return ""


def _in_environment(field: str) -> bool:
    wanted = f"OMNI_{field}".upper()
    return any(name.upper() == wanted for name in os.environ)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose keys are valid at ``loc`` (the location of an unknown key)."""
    model: Any = OmniSettings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _explain(exc: ValidationError, config_file: Path | None, data: dict[str, Any], given: dict[str, Any]) -> ConfigError:
    problems: list[tuple[str, str]] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        top = str(loc[0]) if loc else ""
        path = _dotted(loc) or "settings"
        origin = _origin(top, config_file, data, given)
        if error["type"] == "extra_forbidden":
            problems.append((path, _unknown_key(str(loc[-1]), _model_at(loc), origin)))
        else:
            problems.append((path, error["msg"].removeprefix("Value error, ") + origin))
    if len(problems) == 1:
        path, message = problems[0]
        return ConfigError(message, field=path)
    return ConfigError("invalid settings:\n" + "\n".join(f"  {path}: {message}" for path, message in problems))


def _unknown_key(key: str, model: type[BaseModel] | None, origin: str) -> str:
    if model is None:
        return f"unknown key `{key}`{origin}"
    valid = sorted(model.model_fields)
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ";"
    return f"unknown key `{key}`{origin}{hint} keys valid here: {', '.join(valid)}"
