"""The Kustomize layout under platform_manifests/, built with the real ``kubectl kustomize``.

Why these checks: the manifests restate facts the code owns (settings keys, CLI commands,
table names, RBAC rules, the cluster name that switches the DDL). Loading the rendered
settings with the real settings model and parsing the rendered commands with the real CLI
keeps the two from drifting apart; the policy checks are what the namespace's
``restricted`` Pod Security level and the platform's CI gate would reject.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from typer.testing import CliRunner

from exporters.clickhouse import TableNames, render_schema
from omni_telemetry._wiring import schema_options
from omni_telemetry.cli import app
from omni_telemetry.settings import OmniSettings, load_settings

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "platform_manifests"
KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

KUSTOMIZATIONS = sorted(str(p.parent.relative_to(MANIFESTS)) for p in MANIFESTS.rglob("kustomization.yaml"))
OVERLAYS = ["overlays/dev", "overlays/prod"]
DEPLOYABLE = [k for k in KUSTOMIZATIONS if k != "argocd"]
NAMESPACE = "observability"
OMNI_IMAGE = "ghcr.io/omni-telemetry/omni-telemetry"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
LONG_RUNNING_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}
OPERATOR_KINDS = {"ClickHouseInstallation", "ClickHouseKeeperInstallation"}
#: Secrets the prod overlay expects to exist already (documented in overlays/prod).
OUT_OF_BAND_SECRETS = {"clickhouse-users", "omni-storage", "omni-ingest-token"}


@functools.cache
def render(kustomization: str) -> tuple[dict[str, Any], ...]:
    proc = subprocess.run(
        [KUBECTL, "kustomize", str(MANIFESTS / kustomization)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, f"kubectl kustomize {kustomization} failed:\n{proc.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(proc.stdout) if doc)


def of_kind(docs: tuple[dict[str, Any], ...], *kinds: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in kinds]


def one(docs: tuple[dict[str, Any], ...], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_specs(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(owner, pod spec) for workloads and for the operator-managed pod templates."""
    for doc in docs:
        if doc["kind"] in WORKLOAD_KINDS:
            yield doc, doc["spec"]["template"]["spec"]
        elif doc["kind"] in OPERATOR_KINDS:
            for template in doc["spec"].get("templates", {}).get("podTemplates", []):
                yield doc, template["spec"]


def containers(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    for owner, spec in pod_specs(docs):
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            yield owner, spec, container


def label(owner: dict[str, Any], container: dict[str, Any]) -> str:
    return f"{owner['kind']}/{owner['metadata']['name']} container {container['name']}"


def by_prefix(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any] | None:
    """A generated object by its base name (kustomize appends a content hash)."""
    found = [d for d in of_kind(docs, kind) if re.fullmatch(rf"{re.escape(name)}(-[a-z0-9]{{10}})?", d["metadata"]["name"])]
    assert len(found) <= 1
    return found[0] if found else None


def secret_value(docs: tuple[dict[str, Any], ...], name: str, key: str) -> str | None:
    secret = next((d for d in of_kind(docs, "Secret") if d["metadata"]["name"] == name), None)
    if secret is None:
        return None
    if key in secret.get("stringData", {}):
        return secret["stringData"][key]
    return base64.b64decode(secret["data"][key]).decode()


def configmap(docs: tuple[dict[str, Any], ...], name: str) -> dict[str, str]:
    found = [d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == name]
    assert found, f"ConfigMap {name} is referenced but not rendered"
    return found[0]["data"]


def chi(docs: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    return one(docs, "ClickHouseInstallation")


def chi_service_host(installation: dict[str, Any]) -> str:
    """The CR-level Service the operator creates, per the service template's generateName."""
    name = installation["metadata"]["name"]
    templates = {t["name"]: t for t in installation["spec"]["templates"]["serviceTemplates"]}
    template = templates[installation["spec"]["defaults"]["templates"]["serviceTemplate"]]
    return f"{template['generateName'].replace('{chi}', name)}.{installation['metadata']['namespace']}.svc"


def chi_ports(installation: dict[str, Any]) -> dict[str, int]:
    templates = {t["name"]: t for t in installation["spec"]["templates"]["serviceTemplates"]}
    template = templates[installation["spec"]["defaults"]["templates"]["serviceTemplate"]]
    return {p["name"]: p["port"] for p in template["spec"]["ports"]}


def chi_users(installation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for key, value in installation["spec"]["configuration"]["users"].items():
        user, _, setting = key.partition("/")
        users.setdefault(user, {})[setting] = value
    return users


# ---- the builds ----------------------------------------------------------------------------


def test_layout_has_the_base_the_clickhouse_variants_both_overlays_and_the_application() -> None:
    expected = {"base", "clickhouse/base", "clickhouse/overlays/prod", "overlays/dev", "overlays/prod", "argocd"}
    assert expected <= set(KUSTOMIZATIONS)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_kustomization_builds(kustomization: str) -> None:
    docs = render(kustomization)
    assert docs, f"{kustomization} renders nothing"
    for doc in docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name")


@pytest.mark.parametrize("kustomization", DEPLOYABLE)
def test_namespaced_objects_name_their_namespace_and_only_the_ca_role_leaves_observability(kustomization: str) -> None:
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    for doc in render(kustomization):
        if doc["kind"] in cluster_scoped:
            assert "namespace" not in doc["metadata"]
            continue
        expected = "kubevirt" if doc["kind"] in ("Role", "RoleBinding") else NAMESPACE
        assert doc["metadata"].get("namespace") == expected, f"{doc['kind']}/{doc['metadata']['name']}"


# ---- policy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kustomization", DEPLOYABLE)
def test_every_pod_meets_the_restricted_pod_security_standard(kustomization: str) -> None:
    for owner, spec, container in containers(render(kustomization)):
        pod_sc = spec.get("securityContext", {})
        sc = container.get("securityContext", {})
        where = label(owner, container)
        assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, where
        assert sc.get("allowPrivilegeEscalation") is False, where
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
        assert not sc.get("capabilities", {}).get("add"), where
        assert not sc.get("privileged", False), where
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
        assert seccomp.get("type") == "RuntimeDefault", where
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC"), where


@pytest.mark.parametrize("kustomization", DEPLOYABLE)
def test_our_workloads_run_as_10001_on_a_read_only_root_with_sized_scratch_volumes(kustomization: str) -> None:
    for owner, spec, container in containers(render(kustomization)):
        if owner["kind"] not in WORKLOAD_KINDS:
            continue  # ClickHouse images run as their own uid 101
        pod_sc = spec.get("securityContext", {})
        sc = container["securityContext"]
        where = label(owner, container)
        assert sc.get("runAsUser", pod_sc.get("runAsUser")) == 10001, where
        assert sc.get("runAsGroup", pod_sc.get("runAsGroup")) == 10001, where
        assert sc.get("readOnlyRootFilesystem") is True, where
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        assert "emptyDir" in volumes[mounts["/tmp"]], f"{where}: /tmp must be a writable emptyDir"
        for volume in volumes.values():
            if "emptyDir" in volume:
                assert volume["emptyDir"].get("sizeLimit"), f"{where}: emptyDir {volume['name']} is unbounded"


@pytest.mark.parametrize("kustomization", DEPLOYABLE)
def test_every_container_requests_and_limits_cpu_memory_and_ephemeral_storage(kustomization: str) -> None:
    for owner, _spec, container in containers(render(kustomization)):
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            missing = {"cpu", "memory", "ephemeral-storage"} - set(resources.get(bound, {}))
            assert not missing, f"{label(owner, container)}: no {bound} for {sorted(missing)}"


@pytest.mark.parametrize("kustomization", DEPLOYABLE)
def test_long_running_containers_have_distinct_probes_on_declared_ports(kustomization: str) -> None:
    seen = 0
    for owner, _spec, container in containers(render(kustomization)):
        if owner["kind"] not in LONG_RUNNING_KINDS:
            continue
        seen += 1
        where = label(owner, container)
        readiness, liveness = container.get("readinessProbe"), container.get("livenessProbe")
        assert readiness and liveness, f"{where}: needs readiness and liveness probes"
        assert readiness != liveness, f"{where}: identical probes restart pods that are merely busy"
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe in (readiness, liveness):
            port = probe["httpGet"]["port"]
            assert port in ports or port in ports.values(), f"{where}: probe port {port} is not declared"
    assert seen or kustomization.startswith("clickhouse")


@pytest.mark.parametrize("kustomization", DEPLOYABLE)
def test_every_image_is_pinned_to_a_tag_or_digest(kustomization: str) -> None:
    for owner, _spec, container in containers(render(kustomization)):
        image = container["image"]
        if "@sha256:" in image:
            continue
        name, _, tag = image.rpartition(":")
        assert name and "/" not in tag, f"{label(owner, container)}: {image} has no tag"
        assert tag != "latest", f"{label(owner, container)}: {image} floats"


def test_our_image_tag_is_the_project_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    images = {c["image"] for _o, _s, c in containers(render("base")) if c["image"].startswith(OMNI_IMAGE)}
    assert images == {f"{OMNI_IMAGE}:{version}"}


@pytest.mark.parametrize("kustomization", OVERLAYS)
def test_pods_reference_only_rendered_configmaps_and_documented_secrets(kustomization: str) -> None:
    docs = render(kustomization)
    configmaps = {d["metadata"]["name"] for d in of_kind(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"] for d in of_kind(docs, "Secret")}
    wanted_configmaps: set[str] = set()
    wanted_secrets: set[str] = set()
    for _owner, spec, container in containers(docs):
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                wanted_configmaps.add(volume["configMap"]["name"])
            if "secret" in volume:
                wanted_secrets.add(volume["secret"]["secretName"])
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                wanted_configmaps.add(source["configMapRef"]["name"])
        for env in container.get("env", []):
            if "secretKeyRef" in env.get("valueFrom", {}):
                wanted_secrets.add(env["valueFrom"]["secretKeyRef"]["name"])
    for user in chi_users(chi(docs)).values():
        wanted_secrets.add(user["password"]["valueFrom"]["secretKeyRef"]["name"])
    assert wanted_configmaps <= configmaps
    missing = wanted_secrets - secrets
    assert missing == (OUT_OF_BAND_SECRETS if kustomization == "overlays/prod" else set())


@pytest.mark.parametrize("kustomization", DEPLOYABLE)
def test_services_select_pods_and_target_their_named_ports(kustomization: str) -> None:
    docs = render(kustomization)
    for service in of_kind(docs, "Service"):
        selector = service["spec"]["selector"]
        matches = [
            d for d in of_kind(docs, "Deployment")
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matches) == 1, f"Service {service['metadata']['name']} selects {len(matches)} Deployments"
        names = {p["name"] for c in matches[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names


# ---- RBAC as documented -----------------------------------------------------------------------


def test_rbac_is_exactly_what_discovery_documents() -> None:
    text = (REPO / "collectors" / "discovery" / "RBAC.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block is not None
    documented = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(block.group(1)) if d}
    docs = render("base")
    for (kind, name), expected in documented.items():
        rendered = one(docs, kind, name)
        assert rendered["rules"] == expected["rules"]
        assert rendered["metadata"].get("namespace") == expected["metadata"].get("namespace")
    collector = one(docs, "Deployment", "omni-collector")
    account = collector["spec"]["template"]["spec"]["serviceAccountName"]
    one(docs, "ServiceAccount", account)
    for kind, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        binding = one(docs, kind)
        assert (role_kind, binding["roleRef"]["name"]) in documented
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]


# ---- settings and CLI against the code --------------------------------------------------------


def omni_containers(docs: tuple[dict[str, Any], ...]) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    return [(o, s, c) for o, s, c in containers(docs) if c["image"].startswith(OMNI_IMAGE)]


def container_env(docs: tuple[dict[str, Any], ...], container: dict[str, Any], stand_in_dsn: str) -> dict[str, str]:
    """The environment the kubelet would give the container; Secrets not in git get a stand-in."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmap(docs, source["configMapRef"]["name"]))
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]["secretKeyRef"]
        value = secret_value(docs, ref["name"], ref["key"])
        env[item["name"]] = value if value is not None else stand_in_dsn
    return env


def config_path_in(args: list[str]) -> str:
    return args[args.index("--config") + 1]


def rendered_settings(
    docs: tuple[dict[str, Any], ...], spec: dict[str, Any], container: dict[str, Any],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> OmniSettings:
    """Load the container's settings file through the real settings model, with its env."""
    config = Path(config_path_in(container["args"]))
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(config.parent))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    data = configmap(docs, volume["configMap"]["name"])
    path = tmp_path / container["name"] / config.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data[config.name])
    stand_in = f"http://omni_writer:stand-in@{chi_service_host(chi(docs))}:8123"
    for name in list(os.environ):
        if name.upper().startswith("OMNI_"):
            monkeypatch.delenv(name)
    for name, value in container_env(docs, container, stand_in).items():
        monkeypatch.setenv(name, value)
    return load_settings(path)


@pytest.mark.parametrize("kustomization", OVERLAYS)
def test_every_omni_container_loads_its_settings_with_the_real_model(
    kustomization: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(kustomization)
    installation = chi(docs)
    found = omni_containers(docs)
    assert {o["metadata"]["name"] for o, _s, _c in found} == {"omni-collector", "omni-ingest", "omni-schema"}
    for owner, spec, container in found:
        settings = rendered_settings(docs, spec, container, tmp_path, monkeypatch)
        dsn = urlsplit(settings.storage_dsn)
        assert f"{dsn.hostname}" == chi_service_host(installation), label(owner, container)
        assert dsn.port == chi_ports(installation)["http"]
        assert dsn.username in chi_users(installation)
        assert settings.cluster_name == kustomization.rsplit("/", 1)[1]


@pytest.mark.parametrize("kustomization", OVERLAYS)
def test_collector_settings_match_its_deployment(
    kustomization: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(kustomization)
    collector = one(docs, "Deployment", "omni-collector")
    spec = collector["spec"]["template"]["spec"]
    container = spec["containers"][0]
    settings = rendered_settings(docs, spec, container, tmp_path, monkeypatch)

    assert settings.discovery_enabled and settings.discovery_mode == "in-cluster"
    assert spec["serviceAccountName"] and spec.get("automountServiceAccountToken", True)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert settings.metrics_port == ports["metrics"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/metrics"

    # Everything the collector writes lands on a sized emptyDir, since the root is read-only.
    volumes = {v["name"]: v for v in spec["volumes"]}
    writable = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"] if "emptyDir" in volumes[m["name"]]}
    for path in (settings.spool_dir, settings.discovery_ca_dir):
        assert path and any(Path(path).is_relative_to(mount) for mount in writable), path
    spool_volume = next(v for m, v in writable.items() if Path(settings.spool_dir).is_relative_to(m))
    assert settings.spool_max_bytes < parse_quantity(spool_volume["emptyDir"]["sizeLimit"])
    scratch = sum(parse_quantity(v["emptyDir"]["sizeLimit"]) for v in writable.values())
    assert scratch <= parse_quantity(container["resources"]["limits"]["ephemeral-storage"])


def parse_quantity(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", quantity)
    assert match, quantity
    return int(match.group(1)) * units.get(match.group(2), 1)


def test_prod_schema_is_rendered_on_the_clickhouse_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render("overlays/prod")
    installation = chi(docs)
    clusters = installation["spec"]["configuration"]["clusters"]
    assert [c["layout"] for c in clusters] == [{"shardsCount": 1, "replicasCount": 2}]
    keeper = one(docs, "ClickHouseKeeperInstallation")
    assert keeper["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"] == 3
    assert installation["spec"]["configuration"]["zookeeper"]["nodes"] == [
        {"host": f"keeper-{keeper['metadata']['name']}", "port": 2181}
    ]

    job = one(docs, "Job", "omni-schema")
    spec = job["spec"]["template"]["spec"]
    settings = rendered_settings(docs, spec, spec["containers"][0], tmp_path, monkeypatch)
    assert settings.storage_cluster == clusters[0]["name"]
    ddl = "\n".join(render_schema(schema_options(settings)))
    assert f"ON CLUSTER `{clusters[0]['name']}`" in ddl
    assert "ReplicatedMergeTree" in ddl and "ENGINE = Distributed" in ddl


def test_dev_schema_is_single_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render("overlays/dev")
    assert not of_kind(docs, "ClickHouseKeeperInstallation")
    job = one(docs, "Job", "omni-schema")
    spec = job["spec"]["template"]["spec"]
    settings = rendered_settings(docs, spec, spec["containers"][0], tmp_path, monkeypatch)
    assert settings.storage_cluster is None
    assert "ON CLUSTER" not in "\n".join(render_schema(schema_options(settings)))


def test_dev_storage_dsn_uses_the_writer_password_clickhouse_is_given() -> None:
    docs = render("overlays/dev")
    dsn = urlsplit(secret_value(docs, by_prefix(docs, "Secret", "omni-storage")["metadata"]["name"], "dsn") or "")
    users = chi_users(chi(docs))
    ref = users[dsn.username]["password"]["valueFrom"]["secretKeyRef"]
    assert dsn.password == secret_value(docs, ref["name"], ref["key"])
    assert users["omni_reader"]["profile"] != "default"


def cli_command(args: list[str]) -> tuple[list[str], list[str]]:
    """Split container args into the subcommand path and the rest (the first option starts it)."""
    first_option = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
    return args[:first_option], args[first_option:]


@pytest.mark.parametrize("kustomization", OVERLAYS)
def test_every_omni_command_in_the_manifests_is_a_real_cli_command(kustomization: str) -> None:
    root = typer.main.get_command(app)
    runner = CliRunner()
    for owner, _spec, container in omni_containers(render(kustomization)):
        assert container.get("command", ["omni-telemetry"]) == ["omni-telemetry"], label(owner, container)
        path, rest = cli_command(container["args"])
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"{label(owner, container)}: `omni-telemetry {' '.join(path)}` is not a command"
        command = root
        for part in path:
            command = command.commands[part]  # type: ignore[attr-defined]
        # Click parses the options exactly as it would at start: unknown flags or bad values fail.
        command.make_context(" ".join(path), list(rest))


# ---- OpenTelemetry Collector, Grafana, Argo CD ----------------------------------------------------


@pytest.mark.parametrize("kustomization", OVERLAYS)
def test_otel_collector_writes_our_tables_without_creating_them(
    kustomization: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(kustomization)
    deployment = one(docs, "Deployment", "otel-collector")
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    volume = next(v for v in spec["volumes"] if v["name"] == container["volumeMounts"][0]["name"])
    config = yaml.safe_load(configmap(docs, volume["configMap"]["name"])["config.yaml"])

    pipeline = config["service"]["pipelines"]["metrics"]
    assert pipeline == {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": ["clickhouse"]}
    exporter = config["exporters"]["clickhouse"]
    assert exporter["create_schema"] is False

    collector = one(docs, "Deployment", "omni-collector")["spec"]["template"]["spec"]
    settings = rendered_settings(docs, collector, collector["containers"][0], tmp_path, monkeypatch)
    assert exporter["database"] == settings.database
    ours = TableNames(exponential_histogram=settings.exp_histogram_table)
    assert {kind: t["name"] for kind, t in exporter["metrics_tables"].items()} == {
        kind: getattr(ours, kind) for kind in ("gauge", "sum", "summary", "histogram", "exponential_histogram")
    }
    installation = chi(docs)
    endpoint = urlsplit(exporter["endpoint"])
    assert (endpoint.hostname, endpoint.port) == (chi_service_host(installation), chi_ports(installation)["tcp"])
    assert exporter["username"] in chi_users(installation)
    env_var = re.fullmatch(r"\$\{env:(\w+)\}", exporter["password"])
    assert env_var and env_var.group(1) in {e["name"] for e in container["env"]}
    assert re.fullmatch(r"otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+", container["image"])


def test_grafana_datasource_is_provisioned_for_the_read_only_user() -> None:
    docs = render("overlays/dev")
    secret = next(d for d in of_kind(docs, "Secret") if d["metadata"].get("labels", {}).get("grafana_datasource") == "1")
    (content,) = secret["stringData"].values()
    (datasource,) = yaml.safe_load(content)["datasources"]
    assert datasource["type"] == "grafana-clickhouse-datasource"
    data = datasource["jsonData"]
    assert "server" not in data
    installation = chi(docs)
    assert data["host"] == chi_service_host(installation)
    assert data["protocol"] == "native" and data["port"] == chi_ports(installation)["tcp"]
    assert chi_users(installation)[data["username"]]["profile"] != "default"
    settings_yaml = yaml.safe_load(configmap(docs, by_prefix(docs, "ConfigMap", "omni-settings")["metadata"]["name"])["omni.yaml"])
    assert data["defaultDatabase"] == settings_yaml["database"]
    assert datasource["secureJsonData"]["password"].startswith("$"), "the password belongs in Grafana's env"


def test_argocd_application_syncs_the_prod_overlay_into_a_restricted_namespace() -> None:
    (application,) = render("argocd")
    assert application["kind"] == "Application" and application["metadata"]["namespace"] == "argocd"
    assert int(application["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) >= 0
    spec = application["spec"]
    assert spec["project"]
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert {"CreateNamespace=true", "ServerSideApply=true"} <= set(spec["syncPolicy"]["syncOptions"])

    path = spec["source"]["path"]
    assert path.startswith("platform_manifests/") and (REPO / path / "kustomization.yaml").is_file()
    docs = render(str(Path(path).relative_to("platform_manifests")))
    namespace = one(docs, "Namespace")
    assert spec["destination"]["namespace"] == namespace["metadata"]["name"] == NAMESPACE
    managed = spec["syncPolicy"]["managedNamespaceMetadata"]["labels"]
    assert managed["pod-security.kubernetes.io/enforce"] == "restricted"
    assert managed.items() <= namespace["metadata"]["labels"].items()


@pytest.mark.parametrize("kustomization", OVERLAYS)
def test_sync_waves_order_clickhouse_then_schema_then_writers(kustomization: str) -> None:
    docs = render(kustomization)

    def wave(doc: dict[str, Any]) -> int:
        return int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))

    storage = max(wave(d) for d in of_kind(docs, *OPERATOR_KINDS))
    schema = one(docs, "Job", "omni-schema")
    assert schema["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
    assert storage < wave(schema) < min(wave(d) for d in of_kind(docs, "Deployment"))
