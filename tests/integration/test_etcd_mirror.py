"""The watched read copy against a real etcd: fresh, read-your-writes, and off when etcd is."""

import etcd3
import pytest
import trio
from etcd_fixtures import etcd_member  # noqa: F401  (fixture)

from adapters.etcd.repository import EtcdServiceRepository
from adapters.etcd.watched_repository import WatchedServiceRepository
from application.ports import StorageUnavailable


async def _eventually(predicate, timeout=10.0):
    with trio.fail_after(timeout):
        while not await predicate():
            await trio.sleep(0.01)


async def test_reads_follow_writes_from_other_clients_and_our_own(etcd_member):  # noqa: F811
    url = etcd_member.endpoint.tcp_client_url
    host, port = url.removeprefix("http://").rsplit(":", 1)
    foreign = etcd3.client(host=host, port=int(port))  # another writer, e.g. a Go instance
    foreign.put("before", "1")
    repo = WatchedServiceRepository(EtcdServiceRepository(url, timeout=2.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(repo.run)
        assert repo.ready
        assert await repo.get("before") == "1"

        await repo.put("mine", '{"a":1}')
        assert await repo.get("mine") == '{"a":1}'  # read-your-writes, no waiting
        assert await repo.delete("mine") == 1
        assert await repo.get("mine") is None

        foreign.put("theirs", "2")
        await _eventually(lambda: _equals(repo.get("theirs"), "2"))
        foreign.delete("before")
        await _eventually(lambda: _equals(repo.get("before"), None))
        assert await repo.list() == {"theirs": "2"}
        # all of that was served by the copy: it never had to be rebuilt
        assert repo.ready and repo.rebuilds == 0
        nursery.cancel_scope.cancel()


async def test_copy_turns_off_when_etcd_stops_and_reads_fail_instead_of_going_stale(
    etcd_member,  # noqa: F811
):
    repo = WatchedServiceRepository(EtcdServiceRepository(etcd_member.endpoint.tcp_client_url,
                                                          timeout=1.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(repo.run)
        await repo.put("k", "v")
        await etcd_member.stop()
        with trio.fail_after(10):
            while repo.ready:
                await trio.sleep(0.01)
        with pytest.raises(StorageUnavailable):
            await repo.get("k")
        await etcd_member.start()
        await _eventually(lambda: _true(repo.ready), timeout=30)
        assert await repo.get("k") == "v"
        nursery.cancel_scope.cancel()


async def _equals(awaitable, expected):
    return await awaitable == expected


async def _true(value):
    return value
