"""The HTTP API's part of the daemon's composition root (docs/http.md).

Names the concrete HTTP adapters and hands them the same use cases, store,
watch feed and quorum view as the libp2p protocols, taken from the daemon's
ServiceContainer.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio

from adapters.files.http_tokens_file import HttpTokensFile
from adapters.http.app import HttpParts, build_app
from adapters.http.server import HttpLimits, serve_http
from adapters.prometheus.http_metrics import PrometheusHttpWrites
from application.http_access import HttpAccess
from application.http_health import health
from application.http_registry import HttpRegistry
from application.prometheus_targets import TargetGroup, prometheus_targets
from application.status import instance_status
from domain.instance_status import InstanceStatus
from domain.status_merge import with_each_members_own_figures
from entrypoints.service.container import ServiceContainer
from entrypoints.service.http_settings import HttpSettings

log = logging.getLogger("registry-service")

_HEALTH_PROBE = "registry-health-probe"  # a name read from the local copy; absent is fine


class HttpApi:
    def __init__(
        self, settings: HttpSettings, container: ServiceContainer,
        limits: HttpLimits | None = None,
    ) -> None:
        self.settings = settings
        self.limits = limits or HttpLimits(max_connections=settings.max_connections)
        # A bad tokens file stops the start here; SIGHUP reloads it.
        self.tokens = None if settings.tokens_file is None else HttpTokensFile(
            settings.tokens_file)
        self._container = container

    def _parts(
        self,
        targets: Callable[[], Awaitable[list[TargetGroup]]],
        status: Callable[[], Awaitable[InstanceStatus]],
    ) -> HttpParts:
        # Built once etcd runs: the store's singletons must not be made before.
        container, settings = self._container, self.settings
        metrics = container.metrics()
        repository = container.repository()
        local_reads = container.local_reads()
        registry = HttpRegistry(
            repository=repository, writer=repository, hub=container.watch_hub(),
            history=container.history(), metrics=metrics,
            writes=PrometheusHttpWrites(metrics.registry), local_reads=local_reads,
            quorum=container.quorum(),
        )
        return HttpParts(
            registry=registry,
            access=HttpAccess(self.tokens, open_reads=settings.loopback),
            hub=container.watch_hub(),
            history=container.history(),
            status=status,
            health=functools.partial(
                health, container.quorum(),
                functools.partial(local_reads.get_with_revision, _HEALTH_PROBE)),
            targets=targets,
        )

    def app(self, others: Callable[[InstanceStatus], Awaitable[Sequence[InstanceStatus]]]) -> Any:
        """The ASGI app; ``others`` asks the other instances for their status."""
        return build_app(self._parts(
            functools.partial(prometheus_targets, self._status, others),
            functools.partial(self._every_members_status, others),
        ))

    async def _every_members_status(
        self, others: Callable[[InstanceStatus], Awaitable[Sequence[InstanceStatus]]]
    ) -> InstanceStatus:
        """As `registry-service status --json --every-member`: each member's raft index and
        db size as its own instance answers them (a silent one keeps null)."""
        first = await self._status()
        return with_each_members_own_figures(first, await others(first))

    async def _status(self) -> InstanceStatus:
        identity = self._container.status_identity()  # known once the node listens
        return await instance_status(self._container.status_source(), identity())  # type: ignore[operator]

    async def run(
        self, others: Callable[[InstanceStatus], Awaitable[Sequence[InstanceStatus]]], *,
        task_status: Any = trio.TASK_STATUS_IGNORED,
    ) -> None:
        s = self.settings
        app = self.app(others)
        async with trio.open_nursery() as nursery:
            host, port = await nursery.start(functools.partial(
                serve_http, app, s.host, s.port, self.limits, cert=s.cert, key=s.key))
            shown = f"[{host}]" if ":" in host else host
            log.info("HTTP API at %s://%s:%d/v1/", "https" if s.cert else "http", shown, port)
            task_status.started((host, port))
