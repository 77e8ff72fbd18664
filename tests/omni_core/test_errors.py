"""The error tree keeps context in attributes and the message raw; describe() joins them."""

from __future__ import annotations

import pytest

from omni_core.errors import (
    ConfigError,
    ExpositionError,
    ExpositionLimitExceeded,
    OmniError,
    SpoolCorrupt,
    StorageError,
    TargetHTTPError,
    TargetUnreachable,
)


def test_config_error_keeps_field_apart_from_the_message():
    error = ConfigError("unsupported scheme 'mysql'", field="storage_dsn")
    assert str(error) == "unsupported scheme 'mysql'"
    assert error.field == "storage_dsn"
    assert error.describe() == "storage_dsn: unsupported scheme 'mysql'"
    assert ConfigError("no targets").describe() == "no targets"


def test_scrape_error_keeps_target_apart_from_the_message():
    error = TargetUnreachable("cannot connect", target="http://10.0.0.5:9502/metrics")
    assert str(error) == "cannot connect"
    assert error.target == "http://10.0.0.5:9502/metrics"
    assert error.describe() == "http://10.0.0.5:9502/metrics: cannot connect"
    assert error.describe(with_target=False) == "cannot connect"


def test_exposition_error_keeps_line_and_target_apart_from_the_message():
    error = ExpositionLimitExceeded("line longer than 1048576 bytes", line=7, target="http://t/m")
    assert str(error) == "line longer than 1048576 bytes" == error.problem
    assert error.line == 7
    assert error.describe() == "http://t/m: line 7: line longer than 1048576 bytes"
    assert ExpositionError("empty body").describe() == "empty body"


def test_http_error_keeps_status_code_and_keyword_arguments_still_work():
    error = TargetHTTPError("HTTP 503", target="http://t/m", status_code=503)
    assert (str(error), error.status_code, error.target) == ("HTTP 503", 503, "http://t/m")


def test_spool_corrupt_is_a_storage_error_in_the_tree():
    error = SpoolCorrupt("spooled batch 0001.batch cannot be read")
    assert isinstance(error, StorageError) and isinstance(error, OmniError)
    with pytest.raises(StorageError):
        raise error
