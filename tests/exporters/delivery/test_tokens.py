"""Every insert keeps one token through retries, the spool and a restart, so the store
deduplicates it exactly; a queue handing out no token, or a new one per attempt, fails here."""

from __future__ import annotations

from exporters.clickhouse import ClickHouseWriter
from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy, group_token
from omni_core.sink import WriteOutcome, WriteResult

FAST_RETRY = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.05)


def test_a_merged_batch_keeps_its_token_on_every_retry_and_after_a_restart(tmp_path, chdb_store, make_gauge_batch,
                                                                            self_metrics, wait_for, recording_sink):
    spool_dir = tmp_path / "spool"
    failing = recording_sink(then=WriteOutcome.RETRY)
    options = DeliveryOptions(spool_dir=spool_dir, retry=FAST_RETRY, batch_max_points=20, batch_max_age_s=3600)
    queue = DeliveryQueue(failing, options, metrics=self_metrics)
    queue.export(make_gauge_batch(10, batch=0))
    queue.export(make_gauge_batch(10, batch=1))  # 20 points: due as one insert
    wait_for(lambda: len(failing.calls) >= 4, what="retries")
    queue.shutdown(timeout_millis=100)
    assert {points for _, points in failing.calls} == {20}
    tokens = set(failing.tokens())
    assert len(tokens) == 1 and "" not in tokens

    replaying = recording_sink(store=chdb_store.writer())
    replay = DeliveryQueue(replaying, DeliveryOptions(spool_dir=spool_dir, retry=FAST_RETRY), metrics=self_metrics)
    try:
        assert replay.force_flush(20_000)
    finally:
        replay.shutdown()
    assert replaying.tokens() == list(tokens)
    assert chdb_store.rows() == 20


def test_an_insert_that_landed_before_a_crash_is_stored_once_after_the_replay(tmp_path, chdb_store, make_gauge_batch,
                                                                              self_metrics, wait_for, reorder):
    """The first attempt stores the rows but its answer is lost; the process stops during the back-off."""
    spool_dir = tmp_path / "spool"

    class LandsThenLosesTheAnswer:
        def __init__(self, writer: ClickHouseWriter) -> None:
            self.writer = writer
            self.calls = 0

        def write_batch(self, metrics_data, *, insert_token):
            self.calls += 1
            self.writer.write(metrics_data, insert_token=insert_token)
            return WriteResult(WriteOutcome.RETRY, "connection reset while reading the answer")

    landing = LandsThenLosesTheAnswer(chdb_store.writer())
    options = DeliveryOptions(spool_dir=spool_dir, retry=RetryPolicy(60, 60), batch_max_points=30,
                              batch_max_age_s=3600)
    queue = DeliveryQueue(landing, options, metrics=self_metrics)
    for i in range(3):
        queue.export(make_gauge_batch(10, batch=i))
    wait_for(lambda: landing.calls == 1 and chdb_store.rows() == 30, what="the first attempt to land")
    queue.shutdown(timeout_millis=100)

    class Reordering:
        """Sends the replay's rows in another order: only the token can recognise it."""

        def __init__(self, writer: ClickHouseWriter) -> None:
            self.writer = writer

        def write_batch(self, metrics_data, *, insert_token):
            return self.writer.write_batch(reorder(metrics_data), insert_token=insert_token)

    replay = DeliveryQueue(Reordering(chdb_store.writer()), DeliveryOptions(spool_dir=spool_dir, retry=FAST_RETRY),
                           metrics=self_metrics)
    try:
        assert replay.force_flush(20_000)
    finally:
        replay.shutdown()
    assert chdb_store.rows() == 30


def test_a_merged_token_depends_on_its_members_and_their_order():
    assert group_token(["only"]) == "only"
    assert group_token(["a", "b"]) == group_token(["a", "b"])
    assert group_token(["a", "b"]) not in {group_token(["b", "a"]), group_token(["a"]), group_token(["a", "b", "c"])}
