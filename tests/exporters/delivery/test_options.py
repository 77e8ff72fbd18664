"""Delivery settings that cannot work are refused at start, naming the settings to change."""

from __future__ import annotations

import pytest

from exporters.delivery import DeliveryOptions, RetryPolicy
from omni_core.errors import ConfigError
from omni_telemetry._wiring import delivery_options
from omni_telemetry.settings import OmniSettings, load_settings


def test_a_first_wait_longer_than_the_longest_is_refused_naming_both_settings():
    with pytest.raises(ConfigError) as caught:
        RetryPolicy(initial_interval_s=60, max_interval_s=30)
    assert "retry_initial_s" in str(caught.value) and "retry_max_s" in str(caught.value)


def test_the_settings_are_not_silently_raised_to_fit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no config file of the developer's is read
    with pytest.raises(ConfigError) as caught:
        load_settings(None, retry_initial_s=60, retry_max_s=30)
    assert "retry_initial_s" in str(caught.value) and "retry_max_s" in str(caught.value)


def test_coalescing_and_byte_bounds_reach_the_queue_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = OmniSettings(queue_max_bytes=1234567, batch_max_samples=777, batch_max_age_s=2.5)
    options = delivery_options(settings, "clickhouse")
    assert (options.max_memory_bytes, options.batch_max_points, options.batch_max_age_s) == (1234567, 777, 2.5)


@pytest.mark.parametrize("field, value", [("max_memory_bytes", 0), ("batch_max_points", 0), ("batch_max_age_s", -1)])
def test_bounds_that_cannot_work_are_refused(field, value):
    with pytest.raises(ConfigError):
        DeliveryOptions(**{field: value})
