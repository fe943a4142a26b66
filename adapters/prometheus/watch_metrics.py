"""Watch metrics: open watchers, events sent, watchers dropped for falling behind.

Read at scrape time from the counts the watch hub and the watch server keep, so the
watch code needs no metrics port of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


class WatchCollector(Collector):
    def __init__(
        self,
        watchers: Callable[[], int],
        events_sent: Callable[[], Mapping[str, int]],
        dropped_behind: Callable[[], int],
        refused: Callable[[], int] = lambda: 0,
    ) -> None:
        self._watchers = watchers
        self._events_sent = events_sent
        self._dropped_behind = dropped_behind
        self._refused = refused

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield GaugeMetricFamily(
            "registry_watchers", "Open /watch/0.1 streams following the change feed",
            value=self._watchers(),
        )
        sent = CounterMetricFamily(
            "registry_watch_events_sent", "Watch event lines written, by type "
            "(PUT, DELETE, SYNCED, PROGRESS, ERROR, ...)", labels=["type"],
        )
        for event_type, count in sorted(self._events_sent().items()):
            sent.add_metric([event_type], count)
        yield sent
        yield CounterMetricFamily(
            "registry_watchers_dropped_behind",
            "Watchers ended because they fell more than the queue limit behind (a slow reader)",
            value=self._dropped_behind(),
        )
        yield CounterMetricFamily(
            "registry_watches_refused",
            "/watch/0.1 streams refused at the watch limit (--max-watches)",
            value=self._refused(),
        )


def register_watch_metrics(
    registry: CollectorRegistry,
    watchers: Callable[[], int],
    events_sent: Callable[[], Mapping[str, int]],
    dropped_behind: Callable[[], int],
    refused: Callable[[], int] = lambda: 0,
) -> None:
    registry.register(WatchCollector(watchers, events_sent, dropped_behind, refused))
