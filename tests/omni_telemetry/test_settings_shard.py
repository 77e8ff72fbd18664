"""The shard settings: the replica's bucket from the environment or a StatefulSet pod name,
and errors that name the fields to fix."""

from __future__ import annotations

import os

import pytest

from collectors import TargetShard
from omni_core.errors import ConfigError
from omni_telemetry.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OMNI_"):
            monkeypatch.delenv(name)


def test_one_collector_scrapes_every_target_by_default() -> None:
    assert load_settings().target_shard() == TargetShard(0, 1)


def test_the_index_and_count_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_SHARD_COUNT", "4")
    monkeypatch.setenv("OMNI_SHARD_INDEX", "3")
    assert load_settings().target_shard() == TargetShard(3, 4)


@pytest.mark.parametrize(("pod", "index"), [("omni-collector-0", 0), ("omni-collector-2", 2), ("collector-10", 10)])
def test_the_index_is_the_ordinal_of_the_statefulset_pod(monkeypatch: pytest.MonkeyPatch, pod: str, index: int) -> None:
    monkeypatch.setenv("OMNI_SHARD_COUNT", "11")
    monkeypatch.setenv("OMNI_SHARD_POD_NAME", pod)
    assert load_settings().target_shard() == TargetShard(index, 11)


def test_the_count_can_come_from_the_file_and_the_pod_name_from_the_environment(tmp_path, monkeypatch) -> None:
    config = tmp_path / "omni.yaml"
    config.write_text("shard_count: 3\n")
    monkeypatch.setenv("OMNI_SHARD_POD_NAME", "omni-collector-1")
    assert load_settings(config).target_shard() == TargetShard(1, 3)


def test_several_replicas_without_an_index_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_SHARD_COUNT", "3")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.field == "shard_index"
    assert "shard_pod_name" in str(info.value) and "0 to 2" in str(info.value)


def test_an_index_not_below_the_count_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_SHARD_COUNT", "3")
    monkeypatch.setenv("OMNI_SHARD_INDEX", "3")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.field == "shard_index"
    assert "shard_count 3" in str(info.value) and "OMNI_SHARD_INDEX" in str(info.value)


def test_a_pod_ordinal_beyond_the_count_asks_for_the_replica_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """The StatefulSet was scaled up without raising shard_count."""
    monkeypatch.setenv("OMNI_SHARD_COUNT", "2")
    monkeypatch.setenv("OMNI_SHARD_POD_NAME", "omni-collector-2")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.field == "shard_count"
    assert "omni-collector-2" in str(info.value) and "OMNI_SHARD_COUNT" in str(info.value)


@pytest.mark.parametrize("pod", ["omni-collector", "omni-collector-abc", "omni-collector-01", "7"])
def test_a_pod_name_without_an_ordinal_is_refused(monkeypatch: pytest.MonkeyPatch, pod: str) -> None:
    monkeypatch.setenv("OMNI_SHARD_POD_NAME", pod)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.field == "shard_pod_name"
    assert "-<ordinal>" in str(info.value)


def test_an_index_and_a_pod_name_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_SHARD_COUNT", "3")
    monkeypatch.setenv("OMNI_SHARD_INDEX", "1")
    monkeypatch.setenv("OMNI_SHARD_POD_NAME", "omni-collector-1")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.field == "shard_index"
    assert "shard_pod_name" in str(info.value)


@pytest.mark.parametrize(("name", "value"), [("OMNI_SHARD_COUNT", "0"), ("OMNI_SHARD_INDEX", "-1")])
def test_counts_below_one_and_negative_indexes_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.field == name.removeprefix("OMNI_").lower()
