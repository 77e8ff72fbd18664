"""The one configuration model: defaults < YAML file (``--config``) < ``OMNI_*`` env < CLI flags.

Why one flat model: every setting has exactly one name, the same in the YAML file and (upper
cased, prefixed ``OMNI_``) in the environment, e.g. ``storage_dsn`` / ``OMNI_STORAGE_DSN``.
Nothing else in the project reads the environment; the CLI builds this model once and passes
the parts down. Invalid settings fail at start with :class:`ConfigError` naming the field and
the fix, before anything is scraped or written.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from omni_core.errors import ConfigError

__all__ = ["OmniSettings", "TargetSettings", "default_dsn", "load_settings"]

_config_file: ContextVar[Path | None] = ContextVar("omni_config_file", default=None)


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
    storage_dsn: str = Field(default_factory=default_dsn, description="chdb:///path or http(s)://user:pass@host:port/db")
    database: str = "otel"
    retention_days: int = Field(default=30, ge=0, description="TTL of metric rows; 0 keeps them forever")
    table_generation: Literal["classic", "v2"] = "classic"
    exp_histogram_table: str = "otel_metrics_exponential_histogram"
    storage_cluster: str | None = Field(default=None, description="ClickHouse cluster name: ON CLUSTER DDL, replicated tables")

    # scraping
    scrape_interval_s: float = Field(default=15.0, gt=0)
    scrape_timeout_s: float = Field(default=10.0, gt=0)
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

    # export
    export_mode: Literal["clickhouse", "otlp"] = "clickhouse"
    otlp_endpoint: str = "http://127.0.0.1:4318"
    otlp_protocol: Literal["http", "grpc"] = "http"
    otlp_headers: dict[str, str] = Field(default_factory=dict)
    otlp_compression: Literal["gzip", "none"] = "gzip"
    otlp_timeout_s: float = Field(default=10.0, gt=0)
    otlp_ca_file: str | None = None
    otlp_insecure: bool = False

    # delivery
    queue_max_samples: int = Field(default=2_000_000, gt=0, description="samples held in memory while the sink is down")
    spool_dir: str | None = Field(default=None, description="on-disk spool that survives restarts; off when unset")
    spool_max_bytes: int = Field(default=1024 * 1024 * 1024, gt=0)
    retry_initial_s: float = Field(default=5.0, gt=0)
    retry_max_s: float = Field(default=30.0, gt=0)

    # ingest (OTLP/HTTP receiver)
    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=4318, ge=0, le=65535)
    ingest_token_file: str | None = None
    ingest_max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)

    # self-telemetry
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="serve the collector's own /metrics here")

    # health service
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=8080, ge=0, le=65535)
    health_rules_file: str | None = Field(default=None, description="rules merged over service/default_rules.yaml")
    health_eval_interval_s: float = Field(default=5.0, gt=0, description="seconds between background evaluations")
    health_staleness_intervals: float = Field(default=3.0, gt=0, description="scrape intervals until data is stale")
    health_critical_http_status: int = Field(default=503, ge=200, le=599, description="/health status when critical")

    @field_validator("storage_dsn")
    @classmethod
    def _known_dsn(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in ("chdb", "http", "https"):
            raise ValueError(
                f"unsupported DSN scheme {scheme!r}; use chdb:///abs/path (embedded) or "
                "http(s)://user:password@host:port/database (server)"
            )
        return value

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> "OmniSettings":
        if self.scrape_timeout_s > self.scrape_interval_s:
            raise ValueError(
                f"scrape_timeout_s ({self.scrape_timeout_s:g}) is longer than scrape_interval_s "
                f"({self.scrape_interval_s:g}); lower the timeout or lengthen the interval"
            )
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


class _YamlFileSource(PydanticBaseSettingsSource):
    """The ``--config`` file, read below the environment and the command line."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data = _read_yaml(_config_file.get())

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _read_yaml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}", field="--config") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", field="--config") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of setting names to values", field="--config")
    return data


def load_settings(config_file: Path | None = None, **overrides: Any) -> OmniSettings:
    """Build the settings; ``overrides`` (CLI flags) win over env and file. ``None`` values are ignored."""
    token = _config_file.set(config_file)
    try:
        return OmniSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    finally:
        _config_file.reset(token)


def _explain(exc: ValidationError) -> str:
    lines = ["invalid settings:"]
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "settings"
        top = str(error["loc"][0]) if error["loc"] else ""
        env = f" (env OMNI_{top.upper()})" if top and top in OmniSettings.model_fields else ""
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(OmniSettings.model_fields))
            message = f"unknown setting; known settings: {known}"
        lines.append(f"  {location}{env}: {message}")
    return "\n".join(lines)
