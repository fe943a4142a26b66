"""Watches show in /metrics: open watchers, events sent, watchers dropped (issue 26)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from adapters.prometheus.watch_metrics import register_watch_metrics


def test_the_watch_counts_are_read_at_scrape_time() -> None:
    registry = CollectorRegistry()
    counts = {"watchers": 2, "dropped": 0}
    sent = {"PUT": 3, "PROGRESS": 1}
    register_watch_metrics(registry, lambda: counts["watchers"], lambda: sent,
                           lambda: counts["dropped"])
    counts.update(watchers=1, dropped=1)
    sent["DELETE"] = 1
    value = registry.get_sample_value
    assert value("registry_watchers") == 1
    assert value("registry_watch_events_sent_total", {"type": "PUT"}) == 3
    assert value("registry_watch_events_sent_total", {"type": "DELETE"}) == 1
    assert value("registry_watchers_dropped_behind_total") == 1
    text = generate_latest(registry).decode()
    assert "# TYPE registry_watch_events_sent_total counter" in text
