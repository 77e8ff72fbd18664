"""The manifests against the code that owns each fact they restate: the settings model loads
every rendered settings file, the CLI parses every rendered command, the OpenTelemetry
Collector writes only tables the schema creates, the dashboard ConfigMaps are the generated
JSON, the image tag is the package version, and the NetworkPolicies allow exactly the flows
the pipeline needs. Each check also runs on a broken copy, to show it can fail.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
from pydantic_settings import SettingsError
import yaml
from typer.testing import CliRunner

from collectors.discovery import default_rules
from exporters.clickhouse import render_schema
from manifest_rendering import (
    DASHBOARDS,
    KUBECTL,
    MANIFESTS,
    NAMESPACE,
    OMNI_IMAGE,
    OVERLAYS,
    REPO,
    Doc,
    Docs,
    by_prefix,
    chi,
    chi_ports,
    chi_service_host,
    chi_users,
    configmap,
    container_args,
    container_env,
    containers,
    label,
    of_kind,
    one,
    pod_labels,
    pod_name,
    render,
)
from network_flows import Peer, allowed
from omni_core.errors import ConfigError
from omni_telemetry._wiring import schema_options
from omni_telemetry.cli import app
from omni_telemetry.settings import OmniSettings, load_settings

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed; `make install` adds it")

README = REPO / "README.md"


# ---- Secrets: created at install time by the documented command ---------------------------------


def documented_secrets() -> dict[tuple[str, str], str]:
    """(Secret, key) pairs the README's one-line command creates, with stand-in values."""
    found: dict[tuple[str, str], str] = {}
    for piece in re.split(r"&&|\n", README.read_text()):
        command = re.search(r"create secret generic ([a-z0-9-]+)", piece)
        if command:
            for key in re.findall(r"--from-literal=([\w-]+)=", piece):
                found[(command.group(1), key)] = f"stand-in-{command.group(1)}-{key}"
    return found


SECRETS = documented_secrets()


def referenced_secrets(docs: Docs) -> set[tuple[str, str]]:
    refs: set[tuple[str, str]] = set()
    for _owner, spec, container in containers(docs):
        for item in container.get("env", []):
            if "secretKeyRef" in item.get("valueFrom", {}):
                ref = item["valueFrom"]["secretKeyRef"]
                refs.add((ref["name"], ref["key"]))
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                refs |= {(volume["secret"]["secretName"], i["key"]) for i in volume["secret"]["items"]}
    for value in chi(docs)["spec"]["configuration"]["users"].values():
        if isinstance(value, dict):
            ref = value["valueFrom"]["secretKeyRef"]
            refs.add((ref["name"], ref["key"]))
    return refs


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_documented_command_creates_every_secret_the_overlay_reads_and_none_is_in_git(overlay: str) -> None:
    docs = render(overlay)
    assert not of_kind(docs, "Secret")
    tls = {(one(docs, "Certificate")["spec"]["secretName"], "tls.crt")}  # cert-manager writes it
    assert referenced_secrets(docs) - tls <= set(SECRETS), "README's secret command misses a key"
    assert set(SECRETS) <= referenced_secrets(docs) | {("clickhouse-users", "reader-password")}


# ---- settings through the real model ------------------------------------------------------------


def omni_containers(docs: Docs) -> list[tuple[Doc, Doc, Doc]]:
    return [(o, s, c) for o, s, c in containers(docs) if c["image"].startswith(OMNI_IMAGE)]


def settings_of(
    docs: Docs, spec: Doc, container: Doc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, pod: str = ""
) -> OmniSettings:
    """Load the container's settings file through the real settings model, with its env
    (``pod``: the pod's name, for the downward API)."""
    env = container_env(docs, container, SECRETS, pod_name=pod)
    args = container_args(container, env)
    config = Path(args[args.index("--config") + 1])
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(config.parent))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    path = tmp_path / container["name"] / config.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(configmap(docs, volume["configMap"]["name"])[config.name])
    for name in list(os.environ):
        if name.upper().startswith("OMNI_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(path)


def configured(docs: Docs) -> list[tuple[Doc, Doc, Doc]]:
    return [(o, s, c) for o, s, c in omni_containers(docs) if "--config" in c.get("args", [])]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_omni_process_loads_its_rendered_settings_with_the_real_model(
    overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(overlay)
    installation = chi(docs)
    found = configured(docs)
    assert {o["metadata"]["name"].split("-")[1] for o, _s, _c in found} == {"collector", "ingest", "schema"}
    for owner, spec, container in found:
        settings = settings_of(docs, spec, container, tmp_path, monkeypatch, pod=pod_name(owner))
        dsn = urlsplit(settings.storage_dsn)
        assert (f"{dsn.hostname}", dsn.port) == (chi_service_host(installation), chi_ports(installation)["http"]), label(owner, container)
        assert dsn.username == "omni_writer" and dsn.password == SECRETS[("clickhouse-users", "writer-password")]
        assert settings.cluster_name == overlay.rsplit("/", 1)[1]


def test_a_settings_file_the_model_rejects_fails_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = copy.deepcopy(render("overlays/single-node"))
    settings_map = by_prefix(docs, "ConfigMap", "omni-settings")
    owner, spec, container = next(t for t in configured(docs) if t[0]["kind"] == "Deployment")
    for broken in ("scrape_intervall_s: 15\n", "scrape_timeout_s: 60\n", "discovery_mode: magic\n"):
        settings_map["data"]["omni.yaml"] += broken
        with pytest.raises(ConfigError):
            settings_of(docs, spec, container, tmp_path, monkeypatch)
        settings_map["data"]["omni.yaml"] = settings_map["data"]["omni.yaml"].replace(broken, "")
    cluster = by_prefix(docs, "ConfigMap", "omni-cluster")
    cluster["data"]["OMNI_DISCOVERY_NAMESPACES"] = "mayastor"
    # Malformed JSON in an OMNI_* variable: settings.py lets pydantic-settings' own error
    # through instead of a ConfigError today; either way the process refuses to start.
    with pytest.raises((ConfigError, SettingsError)):
        settings_of(docs, spec, container, tmp_path, monkeypatch)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_collectors_discover_with_the_permissions_and_volumes_they_have(
    overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(overlay)
    for collector in collectors(docs):
        spec = collector["spec"]["template"]["spec"]
        container = spec["containers"][0]
        settings = settings_of(docs, spec, container, tmp_path, monkeypatch, pod=pod_name(collector))
        assert settings.discovery_enabled and settings.discovery_mode == "in-cluster"
        assert spec["serviceAccountName"] and spec.get("automountServiceAccountToken", True)
        # A StatefulSet never runs two pods with one ordinal: no shard is scraped twice.
        assert collector["kind"] == "StatefulSet", "two pods of one shard would scrape twice"
        assert settings.metrics_port == {p["name"]: p["containerPort"] for p in container["ports"]}["metrics"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        writable = [m["mountPath"] for m in container["volumeMounts"] if "emptyDir" in volumes[m["name"]]]
        for path in (settings.spool_dir, settings.discovery_ca_dir):
            assert path and any(Path(path).is_relative_to(m) for m in writable), path
        # The discovery namespaces are the ones the NetworkPolicies open.
        values = by_prefix(docs, "ConfigMap", "omni-cluster")["data"]
        for rule in default_rules(settings.discovery_sources, namespaces=settings.discovery_namespaces):
            for namespace in rule.namespaces:
                assert namespace in values.values(), f"{rule.source} discovered in {namespace}, which no NetworkPolicy opens"


def collectors(docs: Docs) -> list[Doc]:
    return [d for d in of_kind(docs, "Deployment", "StatefulSet") if d["metadata"]["name"].startswith("omni-collector")]


def shard_findings(docs: Docs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each collector replica's settings, loaded with its own pod name, must give the shard
    indexes 0..count-1 with count = replicas, so every bucket of targets has one replica."""
    (collector,) = collectors(docs)
    spec = collector["spec"]["template"]["spec"]
    replicas = collector["spec"].get("replicas", 1)
    shards = []
    for ordinal in range(replicas):
        pod = pod_name(collector, ordinal)
        try:
            shards.append(settings_of(docs, spec, spec["containers"][0], tmp_path, monkeypatch, pod=pod).target_shard())
        except ConfigError as exc:
            return [f"{pod}: {exc.field}: {exc}"]
    out = [f"{label(collector)}: {replicas} replicas, shard_count {c}" for c in sorted({s.count for s in shards} - {replicas})]
    if sorted(s.index for s in shards) != list(range(replicas)):
        out.append(f"{label(collector)}: shard indexes {sorted(s.index for s in shards)}")
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_shard_count_is_the_number_of_collector_replicas(overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(overlay)
    assert shard_findings(docs, tmp_path, monkeypatch) == []
    if overlay.endswith("replicated"):
        assert collectors(docs)[0]["spec"]["replicas"] > 1, "the replicated overlay shares the targets between several collectors"


@pytest.mark.parametrize("change", [1, -1])
def test_replicas_changed_without_the_shard_count_fail_the_check(change: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = copy.deepcopy(render("overlays/replicated"))
    collectors(docs)[0]["spec"]["replicas"] += change
    (finding,) = shard_findings(docs, tmp_path, monkeypatch)
    assert "shard_count" in finding


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_schema_ddl_matches_the_clickhouse_layout(overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(overlay)
    job = one(docs, "Job", "omni-schema")
    spec = job["spec"]["template"]["spec"]
    settings = settings_of(docs, spec, spec["containers"][0], tmp_path, monkeypatch)
    ddl = "\n".join(render_schema(schema_options(settings)))
    clusters = chi(docs)["spec"]["configuration"]["clusters"]
    if any(c["layout"]["replicasCount"] > 1 for c in clusters):
        keeper = one(docs, "ClickHouseKeeperInstallation")
        assert chi(docs)["spec"]["configuration"]["zookeeper"]["nodes"] == [{"host": f"keeper-{keeper['metadata']['name']}", "port": 2181}]
        assert settings.storage_cluster == clusters[0]["name"]
        assert f"ON CLUSTER `{clusters[0]['name']}`" in ddl and "ReplicatedMergeTree" in ddl
    else:
        assert settings.storage_cluster is None and "ON CLUSTER" not in ddl


# ---- the health service -----------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_health_service_reads_clickhouse_as_the_read_only_user_behind_contour(overlay: str) -> None:
    docs = render(overlay)
    health = one(docs, "Deployment", "omni-health")
    container = health["spec"]["template"]["spec"]["containers"][0]
    args = container_args(container, container_env(docs, container, SECRETS))
    assert args[0] == "serve"
    dsn = urlsplit(args[args.index("--dsn") + 1])
    installation = chi(docs)
    assert (dsn.hostname, dsn.port) == (chi_service_host(installation), chi_ports(installation)["http"])
    user = chi_users(installation)[dsn.username or ""]
    assert dsn.password == SECRETS[(user["password"]["valueFrom"]["secretKeyRef"]["name"], user["password"]["valueFrom"]["secretKeyRef"]["key"])]
    assert readonly_profile(installation, user["profile"])
    port = int(args[args.index("--port") + 1])
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["http"] == port
    assert (container["readinessProbe"]["httpGet"]["path"], container["livenessProbe"]["httpGet"]["path"]) == ("/readyz", "/livez")
    service = one(docs, "Service", "omni-health")
    proxy = one(docs, "HTTPProxy", "omni-health")
    (route,) = proxy["spec"]["routes"]
    assert route["services"] == [{"name": service["metadata"]["name"], "port": service["spec"]["ports"][0]["port"]}]
    assert proxy["spec"]["virtualhost"]["tls"]["secretName"] == one(docs, "Certificate")["spec"]["secretName"]


def readonly_profile(installation: Doc, profile: str) -> bool:
    files = installation["spec"]["configuration"].get("files", {})
    return any(re.search(rf"<{profile}>\s*<readonly>1</readonly>", content) for content in files.values())


# ---- the CLI ----------------------------------------------------------------------------------


def cli_command(args: list[str]) -> tuple[list[str], list[str]]:
    first_option = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
    return args[:first_option], args[first_option:]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_omni_command_in_the_manifests_is_a_real_cli_command(overlay: str) -> None:
    docs = render(overlay)
    root = typer.main.get_command(app)
    missing = []
    for owner, _spec, container in omni_containers(docs):
        assert container.get("command", ["omni-telemetry"]) == ["omni-telemetry"], label(owner, container)
        path, rest = cli_command(container_args(container, container_env(docs, container, SECRETS)))
        if path[0] not in root.commands:  # type: ignore[attr-defined]
            missing.append(path[0])
            continue
        assert CliRunner().invoke(app, [*path, "--help"]).exit_code == 0
        command = root
        for part in path:
            command = command.commands[part]  # type: ignore[attr-defined]
        command.make_context(" ".join(path), list(rest))  # unknown flags or bad values raise
    assert set(missing) <= {"serve"}, f"not CLI commands: {missing}"
    if missing:
        pytest.skip("`omni-telemetry serve` (the health API) is not in this tree's CLI yet")


# ---- the OpenTelemetry Collector ----------------------------------------------------------------


def otel_config(docs: Docs) -> dict[str, Any]:
    spec = one(docs, "Deployment", "otel-collector")["spec"]["template"]["spec"]
    mount = spec["containers"][0]["volumeMounts"][0]
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    return yaml.safe_load(configmap(docs, volume["configMap"]["name"])["config.yaml"])


def created_tables(ddl: list[str]) -> set[tuple[str, str]]:
    return {(db, table) for db, table in re.findall(r"CREATE TABLE IF NOT EXISTS `([^`]+)`\.`([^`]+)`", "\n".join(ddl))}


def otel_findings(docs: Docs, settings: OmniSettings) -> list[str]:
    exporter = otel_config(docs)["exporters"]["clickhouse"]
    tables = created_tables(render_schema(schema_options(settings)))
    out = []
    if exporter.get("create_schema", True):
        out.append("create_schema must be false: the schema Job owns the DDL")
    for kind, table in exporter["metrics_tables"].items():
        if (exporter["database"], table["name"]) not in tables:
            out.append(f"metrics_tables.{kind} names {exporter['database']}.{table['name']}, which the schema does not create")
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_otel_collector_writes_only_tables_the_schema_creates(overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(overlay)
    spec = one(docs, "Job", "omni-schema")["spec"]["template"]["spec"]
    settings = settings_of(docs, spec, spec["containers"][0], tmp_path, monkeypatch)
    assert created_tables(render_schema(schema_options(settings)))
    assert otel_findings(docs, settings) == []
    config = otel_config(docs)
    assert config["service"]["pipelines"]["metrics"]["exporters"] == ["clickhouse"]
    exporter = config["exporters"]["clickhouse"]
    installation = chi(docs)
    endpoint = urlsplit(exporter["endpoint"])
    assert (endpoint.hostname, endpoint.port) == (chi_service_host(installation), chi_ports(installation)["tcp"])
    assert exporter["username"] in chi_users(installation)
    env_var = re.fullmatch(r"\$\{env:(\w+)\}", exporter["password"])
    container = one(docs, "Deployment", "otel-collector")["spec"]["template"]["spec"]["containers"][0]
    assert env_var and env_var.group(1) in {e["name"] for e in container["env"]}
    assert re.fullmatch(r"otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+", container["image"])

    broken = copy.deepcopy(docs)
    cm = next(d for d in broken if d["kind"] == "ConfigMap" and "config.yaml" in d.get("data", {}))
    cm["data"]["config.yaml"] = cm["data"]["config.yaml"].replace("name: otel_metrics_sum\n", "name: otel_metrics_sums\n")
    assert otel_findings(broken, settings) == ["metrics_tables.sum names otel.otel_metrics_sums, which the schema does not create"]


# ---- Grafana ----------------------------------------------------------------------------------


def folder_annotation() -> str:
    values = yaml.safe_load((MANIFESTS / "grafana" / "values-sidecars.yaml").read_text())
    return values["sidecar"]["dashboards"]["folderAnnotation"]


def dashboard_findings(docs: Docs) -> list[str]:
    maps = [d for d in of_kind(docs, "ConfigMap") if d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    out = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        holders = [m for m in maps if path.name in m.get("data", {})]
        if len(holders) != 1:
            out.append(f"{path.name}: in {len(holders)} dashboard ConfigMaps, expected 1")
            continue
        (holder,) = holders
        if holder["data"][path.name] != path.read_text():
            out.append(f"{path.name}: ConfigMap {holder['metadata']['name']} differs from dashboards/generated/")
        if len(holder["data"]) != 1:
            out.append(f"{holder['metadata']['name']}: one dashboard per ConfigMap")
        if folder_annotation() not in holder["metadata"].get("annotations", {}):
            out.append(f"{holder['metadata']['name']}: no {folder_annotation()} annotation (the sidecar's folderAnnotation)")
        if holder["metadata"].get("namespace") != NAMESPACE:
            out.append(f"{holder['metadata']['name']}: not in {NAMESPACE}")
    return out


@pytest.mark.skipif(not (DASHBOARDS / "kustomization.yaml").is_file(), reason="dashboards/generated/ is not in this tree")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dashboard_configmaps_are_exactly_the_generated_json(overlay: str) -> None:
    docs = render(overlay)
    assert list(DASHBOARDS.glob("*.json")), "dashboards/generated/ holds no dashboard"
    assert dashboard_findings(docs) == []
    broken = copy.deepcopy(docs)
    target = next(d for d in broken if d["metadata"].get("labels", {}).get("grafana_dashboard") == "1")
    key = next(iter(target["data"]))
    target["data"][key] = target["data"][key].replace("}", ', "edited": true}', 1)
    assert any("differs" in f for f in dashboard_findings(broken))


def test_the_grafana_datasource_uses_the_read_only_user_and_a_referenced_secret() -> None:
    docs = render("overlays/replicated")
    holder = next(d for d in docs if d["metadata"].get("labels", {}).get("grafana_datasource") == "1")
    assert holder["kind"] == "ConfigMap", "a datasource holds no credential: no Secret in git"
    (content,) = holder["data"].values()
    (datasource,) = yaml.safe_load(content)["datasources"]
    assert datasource["type"] == "grafana-clickhouse-datasource"
    data = datasource["jsonData"]
    installation = chi(docs)
    assert data["host"] == chi_service_host(installation)
    assert data["protocol"] == "native" and data["port"] == chi_ports(installation)["tcp"]
    assert readonly_profile(installation, chi_users(installation)[data["username"]]["profile"])
    settings_yaml = yaml.safe_load(configmap(docs, by_prefix(docs, "ConfigMap", "omni-settings")["metadata"]["name"])["omni.yaml"])
    assert data["defaultDatabase"] == settings_yaml["database"]
    variable = re.fullmatch(r"\$(\w+)", datasource["secureJsonData"]["password"])
    assert variable, "the password belongs in Grafana's environment, not in the manifest"

    values = yaml.safe_load((MANIFESTS / "grafana" / "values-sidecars.yaml").read_text())
    assert "grafana-clickhouse-datasource" in values["plugins"]
    ref = values["envValueFrom"][variable.group(1)]["secretKeyRef"]
    reader = chi_users(installation)[data["username"]]["password"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == (reader["name"], reader["key"])
    sidecar = values["sidecar"]
    assert sidecar["datasources"]["enabled"] and sidecar["dashboards"]["enabled"]
    assert sidecar["datasources"]["label"] == "grafana_datasource" and sidecar["dashboards"]["label"] == "grafana_dashboard"
    assert NAMESPACE in sidecar["datasources"]["searchNamespace"] and NAMESPACE in sidecar["dashboards"]["searchNamespace"]


# ---- the image --------------------------------------------------------------------------------


def image_findings(docs: Docs) -> list[str]:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    return [
        f"{label(o, c)}: {c['image']} is not {OMNI_IMAGE}:{version} (pyproject.toml)"
        for o, _s, c in omni_containers(docs) if c["image"] != f"{OMNI_IMAGE}:{version}"
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_our_image_tag_is_the_package_version(overlay: str) -> None:
    docs = render(overlay)
    assert omni_containers(docs) and image_findings(docs) == []
    broken = copy.deepcopy(docs)
    one(broken, "Deployment", "omni-health")["spec"]["template"]["spec"]["containers"][0]["image"] = f"{OMNI_IMAGE}:0.0.9"
    assert len(image_findings(broken)) == 1


# ---- NetworkPolicies: exactly the flows needed ----------------------------------------------------


def ours(docs: Docs, name: str) -> Peer:
    workload = next(d for d in docs if d["kind"] in {"Deployment", "StatefulSet", "Job"} and d["metadata"]["name"] == name)
    return Peer(NAMESPACE, pod_labels(workload), name=name)


def flows(docs: Docs) -> tuple[list[tuple[Peer, Peer, int, str]], list[tuple[Peer, Peer, int, str]]]:
    """(needed, forbidden) flows, with the platform's peers placed where omni-cluster says."""
    v = by_prefix(docs, "ConfigMap", "omni-cluster")["data"]
    ch = Peer(NAMESPACE, pod_labels(chi(docs)), name="clickhouse")
    api = Peer(None, ip="10.96.0.1", name="kubernetes-api")
    internet = Peer(None, ip="93.184.216.34", name="internet")
    dns = Peer("kube-system", {"k8s-app": "kube-dns"}, name="dns")
    grafana = Peer(v["GRAFANA_NAMESPACE"], {"app.kubernetes.io/name": "grafana"}, name="grafana")
    envoy = Peer(v["CONTOUR_NAMESPACE"], {"app": "envoy"}, name="envoy")
    operator = Peer(v["CLICKHOUSE_OPERATOR_NAMESPACE"], {"app": "clickhouse-operator"}, name="operator")
    platform_otel = Peer(v["OTEL_COLLECTOR_NAMESPACE"], {"app.kubernetes.io/name": "otelcol"}, name="platform-otel")
    app_pod = Peer("shop", {"app": "shop"}, name="app")
    collector_names = [d["metadata"]["name"] for d in collectors(docs)]
    otel, ingest, health, schema = (ours(docs, n) for n in ("otel-collector", "omni-ingest", "omni-health", "omni-schema"))
    targets = [
        (api, 6443), (api, 443),
        (Peer(v["MAYASTOR_NAMESPACE"], {"app": "io-engine"}), 9502), (Peer(v["MAYASTOR_NAMESPACE"], {"app": "api-rest"}), 8081),
        (Peer(v["CONTOUR_NAMESPACE"], {"app": "envoy"}), 8002), (Peer(v["CONTOUR_NAMESPACE"], {"app": "contour"}), 8000),
        (Peer(v["KUMA_NAMESPACE"], {"app": "kuma-control-plane"}), 5680), (Peer(v["KUMA_NAMESPACE"], {"app": "kuma-control-plane"}), 5681),
        (app_pod, 5670), (Peer(v["KUBEVIRT_NAMESPACE"], {"kubevirt.io": "virt-handler"}), 8443),
        (Peer(v["CDI_NAMESPACE"], {"app": "cdi-deployment"}), 8080),
        (Peer(v["ARGOCD_NAMESPACE"], {"app.kubernetes.io/name": "argocd-application-controller"}), 8082),
        (ch, 8123), (otel, 4317), (otel, 4318), (ingest, 4318),
    ]
    needed = [(ours(docs, c), t, p, "TCP") for c in collector_names for t, p in targets]
    needed += [(ours(docs, n), dns, 53, "UDP") for n in ("otel-collector", "omni-ingest", "omni-health", "omni-schema", *collector_names)]
    needed += [
        (otel, ch, 9000, "TCP"), (app_pod, otel, 4317, "TCP"), (app_pod, otel, 4318, "TCP"),
        (platform_otel, ingest, 4318, "TCP"),
        (ingest, ch, 8123, "TCP"), (schema, ch, 8123, "TCP"), (health, ch, 8123, "TCP"),
        (grafana, ch, 9000, "TCP"), (envoy, health, 8080, "TCP"), (operator, ch, 8123, "TCP"), (ch, dns, 53, "UDP"),
    ]
    keepers = of_kind(docs, "ClickHouseKeeperInstallation")
    if keepers:
        keeper = Peer(NAMESPACE, pod_labels(keepers[0]), name="keeper")
        needed += [(ch, ch, 9009, "TCP"), (ch, ch, 9000, "TCP"), (ch, keeper, 2181, "TCP"), (keeper, keeper, 9444, "TCP"), (operator, keeper, 2181, "TCP")]
    forbidden = [
        (app_pod, ch, 9000), (app_pod, ch, 8123), (app_pod, health, 8080), (app_pod, ingest, 4318),
        (grafana, health, 8080), (grafana, ch, 8123), (envoy, ch, 9000), (envoy, ingest, 4318),
        (health, otel, 4317), (otel, ingest, 4318), (health, api, 6443), (health, internet, 443), (otel, ch, 8123), (otel, internet, 443),
        (ch, internet, 443), (ingest, api, 6443), (schema, api, 6443),
    ]
    forbidden_flows = [(s, t, p, "TCP") for s, t, p in forbidden]
    forbidden_flows += [(ours(docs, c), internet, 80, "TCP") for c in collector_names]
    forbidden_flows += [(ours(docs, c), ch, 9000, "TCP") for c in collector_names]
    return needed, forbidden_flows


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_flows_the_pipeline_needs(overlay: str) -> None:
    docs = render(overlay)
    needed, forbidden = flows(docs)
    blocked = [f"{s} -> {t}:{p}/{proto}" for s, t, p, proto in needed if not allowed(docs, s, t, p, proto)]
    assert blocked == [], "needed flows the policies block"
    open_ = [f"{s} -> {t}:{p}/{proto}" for s, t, p, proto in forbidden if allowed(docs, s, t, p, proto)]
    assert open_ == [], "flows the policies should block"


def test_without_the_default_deny_the_forbidden_flows_open() -> None:
    docs = tuple(d for d in render("overlays/single-node") if not (d["kind"] == "NetworkPolicy" and d["metadata"]["name"] in {"default-deny", "clickhouse", "omni-health"}))
    _needed, forbidden = flows(docs)
    assert any(allowed(docs, s, t, p, proto) for s, t, p, proto in forbidden)


# ---- Services, RBAC, Argo CD ----------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_select_one_workload_and_target_its_named_ports(overlay: str) -> None:
    docs = render(overlay)
    for service in of_kind(docs, "Service"):
        matches = [d for d in of_kind(docs, "Deployment", "StatefulSet") if service["spec"]["selector"].items() <= pod_labels(d).items()]
        assert len(matches) == 1, f"Service {service['metadata']['name']} selects {len(matches)} workloads"
        names = {p["name"] for c in matches[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= names


def test_rbac_is_exactly_what_discovery_documents() -> None:
    block = re.search(r"```yaml\n(.*?)```", (REPO / "collectors" / "discovery" / "RBAC.md").read_text(), re.S)
    assert block is not None
    documented = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(block.group(1)) if d}
    for overlay in OVERLAYS:
        docs = render(overlay)
        for (kind, name), expected in documented.items():
            assert one(docs, kind, name)["rules"] == expected["rules"]
        accounts = {d["spec"]["template"]["spec"]["serviceAccountName"] for d in collectors(docs)}
        assert len(accounts) == 1
        for kind, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
            binding = one(docs, kind)
            assert (role_kind, binding["roleRef"]["name"]) in documented
            assert binding["subjects"] == [{"kind": "ServiceAccount", "name": accounts.pop() if False else next(iter(accounts)), "namespace": NAMESPACE}]


def wave(doc: Doc) -> int:
    return int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_sync_waves_order_clickhouse_then_the_schema_job_then_our_workloads(overlay: str) -> None:
    docs = render(overlay)
    storage = max(wave(d) for d in of_kind(docs, "ClickHouseInstallation", "ClickHouseKeeperInstallation"))
    schema = one(docs, "Job", "omni-schema")
    assert schema["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
    assert storage < wave(schema) < min(wave(d) for d in of_kind(docs, "Deployment", "StatefulSet"))


def test_the_application_syncs_an_overlay_into_a_restricted_namespace_with_its_parameters() -> None:
    (application,) = render("argocd")
    params = yaml.safe_load((MANIFESTS / "argocd" / "params.yaml").read_text())["data"]
    assert application["metadata"]["namespace"] == "argocd"
    spec = application["spec"]
    assert spec["project"] == params["project"] and spec["source"]["repoURL"] == params["repoURL"]
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert {"CreateNamespace=true", "ServerSideApply=true"} <= set(spec["syncPolicy"]["syncOptions"])
    path = spec["source"]["path"]
    assert path.startswith("platform_manifests/") and str(Path(path).relative_to("platform_manifests")) in OVERLAYS
    docs = render(str(Path(path).relative_to("platform_manifests")))
    namespace = one(docs, "Namespace")
    assert spec["destination"]["namespace"] == namespace["metadata"]["name"] == NAMESPACE
    managed = spec["syncPolicy"]["managedNamespaceMetadata"]["labels"]
    assert managed["pod-security.kubernetes.io/enforce"] == "restricted"
    assert managed.items() <= namespace["metadata"]["labels"].items()
    assert wave(application) > 0, "after the platform's operators"


def test_argocd_parameters_reach_the_application() -> None:
    """The project is a parameter: changing params.yaml changes the rendered Application."""
    text = (MANIFESTS / "argocd" / "kustomization.yaml").read_text()
    targets = set(re.findall(r"fieldPath: data\.(\w+)", text))
    assert {"project", "repoURL", "targetRevision", "path", "server"} <= targets
    assert json.dumps(render("argocd")).count("set-by-params") == 0
