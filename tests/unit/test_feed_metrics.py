"""What the alert feed exports for Prometheus (streams/feed.py, streams/metrics.py)."""

from dataclasses import replace

from streams.arms_keys import arms_key
from streams.feed import AlertFeed
from streams.metrics import Metrics
from tests.webfakes import alert_event


def sample(metrics: Metrics, name: str, **labels) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_an_arms_race_is_a_borders_level_never_a_segments():
    metrics = Metrics()
    feed = AlertFeed("unused:9092", "alerts", metrics=metrics)
    feed.fold(alert_event("KGZ-TJK-07", level="critical"))
    arms = alert_event("KGZ-TJK-07", level="warning", opened_at="2021-01-01T00:00:00Z")
    feed.fold(replace(arms, segment_id=arms_key("KGZ-TJK"), alert_id="al-arms-kgz-tjk"))
    assert sample(metrics, "borderwatch_segment_escalation_level", segment_id="KGZ-TJK-07", border="KGZ-TJK") == 3
    assert sample(metrics, "borderwatch_arms_race_level", border="KGZ-TJK") == 2
    segments = {s.labels["segment_id"] for m in metrics.registry.collect()
                if m.name == "borderwatch_segment_escalation_level" for s in m.samples}
    assert segments == {"KGZ-TJK-07"}, "the arms key must not be counted among the segments"
    feed.fold(replace(arms, segment_id=arms_key("KGZ-TJK"), alert_id="al-arms-kgz-tjk", transition="resolved",
                      level="none", seq=2, at="2022-01-01T00:00:00Z", resolved_at="2022-01-01T00:00:00Z"))
    assert sample(metrics, "borderwatch_arms_race_level", border="KGZ-TJK") == 0
