"""The trio tasks of this run, and what each is suspended in: for tests that count the
tasks (and coroutine frames) a connection keeps."""

from __future__ import annotations

import trio


def all_tasks() -> list[trio.lowlevel.Task]:
    found, todo = [], [trio.lowlevel.current_root_task()]
    while todo:
        task = todo.pop()
        if task is None:
            continue
        found.append(task)
        todo += [child for nursery in task.child_nurseries for child in nursery.child_tasks]
    return found


def awaiting(task: trio.lowlevel.Task) -> list[str]:
    """The names of the coroutines ``task`` is suspended in, outermost first."""
    names, coro = [], task.coro
    while coro is not None and hasattr(coro, "cr_code"):
        names.append(coro.cr_code.co_name)
        coro = coro.cr_await
    return names
