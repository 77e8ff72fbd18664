"""Generated JSON: deterministic, current schema, no Angular panels, loads into Grafana's own
dashboard model (grafana-foundation-sdk), and `dashboards check` catches stale files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dashboards import ALLOWED_PANEL_TYPES, DASHBOARDS, GENERATED_DIR, build_files, check_files, write_files
from omni_core.errors import StaleDashboards
from omni_telemetry.cli import app

ANGULAR_TYPES = {"graph", "singlestat", "table-old", "grafana-piechart-panel", "grafana-worldmap-panel",
                 "flant-statusmap-panel", "natel-discrete-panel", "marcuscalidus-svg-panel"}


def _documents() -> dict[str, dict]:
    return {name: json.loads(text) for name, text in build_files().items() if name.endswith(".json")}


def test_building_twice_gives_identical_bytes_with_sorted_keys() -> None:
    first, second = build_files(), build_files()
    assert first == second
    for name, text in first.items():
        if name.endswith(".json"):
            assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_dashboards_have_stable_unique_uids_and_no_grafana_owned_fields() -> None:
    documents = _documents()
    assert sorted(d["uid"] for d in documents.values()) == sorted(DASHBOARDS)
    for name, document in documents.items():
        assert name == f"{document['uid']}.json"
        assert document["id"] is None and document["version"] == 0
        ids = [p["id"] for p in document["panels"]]
        assert len(ids) == len(set(ids))


def test_no_angular_panel_type_and_a_current_schema_version() -> None:
    for document in _documents().values():
        assert document["schemaVersion"] >= 39
        types = {p["type"] for p in document["panels"]}
        assert types <= ALLOWED_PANEL_TYPES and not types & ANGULAR_TYPES, types


def test_every_dashboard_has_datasource_and_cluster_variables_first() -> None:
    for document in _documents().values():
        variables = document["templating"]["list"]
        assert variables[0]["type"] == "datasource" and variables[0]["query"] == "grafana-clickhouse-datasource"
        assert variables[1]["name"] == "cluster"
        assert len(variables) >= 3 or document["uid"] == "omni-overview"


def test_kustomization_generates_one_labelled_configmap_per_dashboard() -> None:
    kustomization = yaml.safe_load(build_files()["kustomization.yaml"])
    assert kustomization["generatorOptions"]["labels"] == {"grafana_dashboard": "1"}
    assert "grafana_folder" in kustomization["generatorOptions"]["annotations"]
    files = [entry["files"] for entry in kustomization["configMapGenerator"]]
    assert files == [[f"{uid}.json"] for uid in DASHBOARDS]


def test_committed_files_are_up_to_date() -> None:
    assert check_files(GENERATED_DIR) == len(DASHBOARDS) + 1


def test_check_fails_on_a_stale_file_with_a_diff_and_passes_after_build(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    write_files(out)
    stale = out / "omni-kuma.json"
    stale.write_text(stale.read_text().replace('"Kuma service mesh"', '"Kuma (old title)"'))
    (out / "omni-removed.json").write_text("{}\n")
    with pytest.raises(StaleDashboards) as caught:
        check_files(out)
    assert set(caught.value.files) == {"omni-kuma.json", "omni-removed.json"}
    assert '-  "title": "Kuma (old title)"' in caught.value.diff and '+  "title": "Kuma service mesh"' in caught.value.diff

    runner = CliRunner()
    failed = runner.invoke(app, ["dashboards", "check", "--out", str(out)])
    assert failed.exit_code == 1
    assert "Kuma (old title)" in failed.stdout and "dashboards build" in failed.stderr

    built = runner.invoke(app, ["dashboards", "build", "--out", str(out)])
    assert built.exit_code == 0
    assert not (out / "omni-removed.json").exists()
    assert runner.invoke(app, ["dashboards", "check", "--out", str(out)]).exit_code == 0


def test_generated_json_round_trips_through_the_grafana_foundation_sdk_model() -> None:
    sdk = pytest.importorskip("grafana_foundation_sdk.models.dashboard", reason="grafana-foundation-sdk not installed")
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    for document in _documents().values():
        model = sdk.Dashboard.from_json(document)
        back = json.loads(json.dumps(model, cls=JSONEncoder))
        assert back["uid"] == document["uid"] and back["schemaVersion"] == document["schemaVersion"]
        assert [p["type"] for p in back["panels"]] == [p["type"] for p in document["panels"]]
        assert [p["gridPos"] for p in back["panels"]] == [p["gridPos"] for p in document["panels"]]
        assert [[t["rawSql"] for t in p.get("targets", [])] for p in back["panels"]] == [
            [t["rawSql"] for t in p.get("targets", [])] for p in document["panels"]
        ]
        assert back["panels"][0]["targets"][0]["datasource"] == document["panels"][0]["targets"][0]["datasource"]
        assert [(v["name"], v["type"]) for v in back["templating"]["list"]] == [
            (v["name"], v["type"]) for v in document["templating"]["list"]
        ]
        queries = [v for v in back["templating"]["list"] if v["type"] == "query"]
        assert all(v["query"]["rawSql"] and v["includeAll"] and v["multi"] for v in queries)
