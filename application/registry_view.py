"""A local copy of the registry (or of a prefix, or of some names), kept current by a watch.

The view answers ``lookup`` from memory: no I/O, no await, nothing that can block. It
keeps each record packed (application/compact_record.py: ServiceInfo's fields without
their names, about half the JSON) and makes a ServiceInfo of it on lookup, in about a
microsecond.

The view is fed watch events (``apply``) by ``application.registry_view_feed`` and is told
when a stream to an instance opens or is lost (``following`` / ``lost``), so that it can
say how fresh it is: :class:`ViewFreshness`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from application.compact_record import Stored, content_hash, pack, unpack
from application.ports import Clock
from domain.service_info import ServiceInfo
from domain.watch_wire import EventType, WatchEvent, WatchRequest

log = logging.getLogger(__name__)


class ViewFreshness(msgspec.Struct, frozen=True, kw_only=True):
    """How current a view is.

    ``revision``: every change up to this registry revision is in the view.
    ``following``: the peer id of the registry-service whose watch stream feeds the view,
    or None while none does. ``silent``: that instance has not been heard since the stream
    opened, or has answered neither a line nor a ping for a while (1.2 s in the library;
    after 4 s the view leaves it for another).
    ``cut_off``: it says it lost its etcd quorum (no changes reach it). ``synced``: the
    view has held a complete state at least once. ``stale_since``: wall-clock time
    (``time.time()``) since when the view is not known current (not synced, or no live
    instance followed: none, silent or cut off); None while it is current.
    """

    revision: int
    following: str | None
    silent: bool
    cut_off: bool
    synced: bool
    stale_since: float | None

    @property
    def current(self) -> bool:
        return self.stale_since is None

    @property
    def live(self) -> bool:
        """Whether the view follows an instance that answers and has its quorum."""
        return self.following is not None and not self.silent and not self.cut_off


class ViewChange:
    """One record's change as the view applied it. ``old`` and ``new`` are the records
    before and after (None: absent), made on first access (UnreadableRecord if one was
    not ServiceInfo JSON); ``revision`` the registry revision of the change (of the whole
    new state after a RESET)."""

    __slots__ = ("_new", "_old", "name", "new_stored", "old_stored", "revision")

    def __init__(
        self, name: str, old_stored: Stored | None, new_stored: Stored | None, revision: int
    ) -> None:
        self.name = name
        self.old_stored = old_stored
        self.new_stored = new_stored
        self.revision = revision
        self._old: ServiceInfo | None = None
        self._new: ServiceInfo | None = None

    @property
    def old(self) -> ServiceInfo | None:
        if self._old is None and self.old_stored is not None:
            self._old = unpack(self.name, self.old_stored)
        return self._old

    @property
    def new(self) -> ServiceInfo | None:
        if self._new is None and self.new_stored is not None:
            self._new = unpack(self.name, self.new_stored)
        return self._new

    @property
    def deleted(self) -> bool:
        return self.new_stored is None

    @property
    def content_hash_changed(self) -> bool:
        """Whether the ContentHash differs (or the record appeared or went): cached
        instances of the old one are no longer instances of this service."""
        return content_hash(self.old_stored) != content_hash(self.new_stored)

    def __repr__(self) -> str:
        kind = "delete" if self.deleted else "put"
        return f"ViewChange({kind} {self.name!r} at {self.revision})"


ChangeListener = Callable[[ViewChange], object]


class RegistryView:
    """The records, the revision they are current to, and who is told of changes.

    ``request`` says which names the view holds (all, a prefix, a set of names); ``clock``
    gives wall-clock seconds for ``stale_since``.
    """

    def __init__(self, request: WatchRequest, clock: Clock) -> None:
        self.request = request
        self._clock = clock
        self._records: dict[str, Stored] = {}
        self._rebuild: dict[str, Stored] | None = None  # a state arriving (before SYNCED)
        self._revision = 0
        self._names_at_revision: set[str] = set()  # changed at _revision (one transaction)
        self._synced = False
        self._following: str | None = None
        self._cut_off = False
        self._unconfirmed = False
        self._silent = False
        self._stale_since: float | None = clock()
        self._listeners: list[ChangeListener] = []
        self.changes_applied = 0
        # Why the last watch could not go on (for diagnosis), or None.
        self.last_failure: str | None = None

    # --- reading (from memory only) ---------------------------------------------------

    def lookup(self, name: str) -> ServiceInfo | None:
        """The record of ``name`` as the view holds it, or None; UnreadableRecord if it is
        not ServiceInfo JSON (as get_service)."""
        stored = self._records.get(name)
        if stored is None:
            return None
        return unpack(name, stored)

    def names(self) -> list[str]:
        return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, name: object) -> bool:
        return name in self._records

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def freshness(self) -> ViewFreshness:
        return ViewFreshness(
            revision=self._revision, following=self._following, silent=self._silent,
            cut_off=self._cut_off, synced=self._synced, stale_since=self._stale_since,
        )

    # --- change notifications ------------------------------------------------------------

    def on_change(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(change)`` for each change applied from now on (in the feeding
        task, in revision order; it must not block). Returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    # --- feeding ----------------------------------------------------------------------

    def since_revision(self) -> int:
        """Where a new watch must start: after the last revision held, or (0) from a whole
        state when the view has none yet."""
        return self._revision if self._synced else 0

    def following(self, provider: str, *, was_cut_off: bool = False) -> None:
        """A watch stream to ``provider`` is open and feeds the view. ``was_cut_off``: it
        said it was cut off from its quorum last time; it counts as such until the new
        stream's first line (a cut-off instance sends CutOff first) says otherwise."""
        self._following = provider
        self._cut_off = self._unconfirmed = was_cut_off
        # Not current before a first sign of life: opening a stream to a stopped process
        # can succeed (the request sits in the socket's buffer).
        self._silent = True
        if not self._synced:
            self._rebuild = {}  # the stream starts with the whole state
        self._refresh_staleness()

    def lost(self) -> None:
        """The stream that fed the view is gone (the instance died, stopped answering, or
        ended the watch); the view keeps what it has and is stale until the next one."""
        self._following = None
        self._silent = False
        self._rebuild = None if self._synced else {}
        self._refresh_staleness()

    def instance_silent(self, provider: str, silent: bool) -> None:
        """The instance followed has stopped answering (True), or answers again (False)."""
        if provider == self._following:
            self._silent = silent
            self._refresh_staleness()

    def apply(self, event: WatchEvent) -> None:
        kind = event.type
        if self._silent:  # a line from the instance followed: it is alive
            self._silent = False
            self._refresh_staleness()
        if self._unconfirmed:
            self._unconfirmed = False
            self._cut_off = kind is EventType.PROGRESS and event.cut_off is True
            self._refresh_staleness()
        if kind is EventType.PUT:
            self._put(event.name or "", event.info_str or "", event.revision or 0)
        elif kind is EventType.DELETE:
            self._delete(event.name or "", event.revision or 0)
        elif kind is EventType.SYNCED:
            self._synced_at(event.revision or 0)
        elif kind is EventType.RESET:
            self._rebuild = {}  # the whole state follows, then SYNCED
        elif kind is EventType.PROGRESS:
            if (event.revision or 0) > self._revision:
                self._revision = event.revision or 0
                self._names_at_revision = set()
            if event.cut_off is not None:
                self._cut_off = event.cut_off
                self._refresh_staleness()

    def _put(self, name: str, info_str: str, revision: int) -> None:
        if self._rebuild is not None:
            self._rebuild[name] = pack(info_str)
            return
        if self._seen(name, revision):
            return
        old = self._records.get(name)
        new = self._records[name] = pack(info_str)
        self._changed(ViewChange(name, old, new, revision))

    def _delete(self, name: str, revision: int) -> None:
        if self._seen(name, revision):
            return
        old = self._records.pop(name, None)
        if old is not None:
            self._changed(ViewChange(name, old, None, revision))

    def _seen(self, name: str, revision: int) -> bool:
        """Whether this change is in the view already; if not, the view is now at its
        revision. One etcd transaction writes several names at one revision: a change at
        the view's revision is new unless its name was changed at that revision."""
        if revision > self._revision:
            self._revision = revision
            self._names_at_revision = {name}
            return False
        if revision == self._revision and name not in self._names_at_revision:
            self._names_at_revision.add(name)
            return False
        log.warning("ignoring a change to %r at revision %d: the view has it (at %d)",
                    name, revision, self._revision)
        return True

    def _synced_at(self, revision: int) -> None:
        state, self._rebuild = self._rebuild or {}, None
        before, self._records = self._records, state  # one swap: a lookup sees one or the other
        self._revision = revision
        self._names_at_revision = set()
        self._synced = True
        self._refresh_staleness()
        if self._listeners:
            for name, old in before.items():
                new = state.get(name)
                if new != old:
                    self._changed(ViewChange(name, old, new, revision))
            for name, new in state.items():
                if name not in before:
                    self._changed(ViewChange(name, None, new, revision))

    def _changed(self, change: ViewChange) -> None:
        self.changes_applied += 1
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # one listener's bug must not stop the view
                log.exception("a registry view change listener failed on %r", change)

    def _refresh_staleness(self) -> None:
        current = (self._synced and self._following is not None and not self._cut_off
                   and not self._silent)
        if current:
            self._stale_since = None
        elif self._stale_since is None:
            self._stale_since = self._clock()
