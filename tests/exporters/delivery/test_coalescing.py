"""Queued batches are merged into large inserts by points and by age, like the Collector's
batch processor, and nothing is lost or doubled on the way."""

from __future__ import annotations

from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy

FAST_RETRY = RetryPolicy(initial_interval_s=0.01, max_interval_s=0.05)


def test_batches_are_inserted_together_once_they_reach_the_point_bound(recording_sink, make_gauge_batch,
                                                                       self_metrics, wait_for):
    sink = recording_sink()
    queue = DeliveryQueue(sink, DeliveryOptions(batch_max_points=50, batch_max_age_s=3600, retry=FAST_RETRY),
                          metrics=self_metrics)
    try:
        for i in range(4):
            queue.export(make_gauge_batch(25, batch=i))
        wait_for(lambda: len(sink.calls) == 2, what="two inserts of 50 points")
    finally:
        queue.shutdown()
    assert [points for _, points in sink.calls] == [50, 50]


def test_a_batch_is_inserted_alone_once_it_is_old_enough(recording_sink, make_gauge_batch, self_metrics, wait_for):
    sink = recording_sink()
    queue = DeliveryQueue(sink, DeliveryOptions(batch_max_points=1_000, batch_max_age_s=0.05, retry=FAST_RETRY),
                          metrics=self_metrics)
    try:
        queue.export(make_gauge_batch(7))
        wait_for(lambda: len(sink.calls) == 1, what="the age to flush the batch without force_flush")
    finally:
        queue.shutdown()
    assert [points for _, points in sink.calls] == [7]


def test_merging_never_exceeds_the_point_bound(recording_sink, make_gauge_batch, self_metrics):
    sink = recording_sink()
    queue = DeliveryQueue(sink, DeliveryOptions(batch_max_points=50, batch_max_age_s=3600, retry=FAST_RETRY),
                          metrics=self_metrics)
    try:
        for points in (30, 30, 20, 60):
            queue.export(make_gauge_batch(points))
        assert queue.force_flush(20_000)
    finally:
        queue.shutdown()
    # 30+30 > 50, 30+20 fits, 60 is larger than the bound on its own and goes alone.
    assert [points for _, points in sink.calls] == [30, 50, 60]


def test_shutdown_inserts_what_waits_to_be_merged(chdb_store, make_gauge_batch, self_metrics):
    queue = DeliveryQueue(chdb_store.writer(), DeliveryOptions(batch_max_age_s=3600, retry=FAST_RETRY),
                          metrics=self_metrics)
    for i in range(5):
        queue.export(make_gauge_batch(10, batch=i))
    queue.shutdown()
    assert chdb_store.rows() == 50
