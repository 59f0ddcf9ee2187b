"""Reading many machines at once: each read is dozens of round trips to VBoxSVC, which
answers several clients' threads at a time.

Measured in the sandbox (50 powered-off machines, 70 calls each, 2 CPUs): one
thread reads them in 0.75-0.83 s, four threads in 0.55-0.60 s; three machines
(the first on the calling thread, then two at once) take 46-47 ms instead of 54
(medians of 25).

The bindings describe an object's class to Python the first time an object of it
is used, and two threads doing that at once can leave a description without
methods (see ``Ctx.session``).  So the first item that reads a machine is read on
the calling thread, which builds the descriptions of every class a read touches;
the other items are read by a few worker threads.  Where the threads of this
process do not share one COM apartment, everything is read on the calling thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from hosted.backend.virtualbox.context import Ctx

T = TypeVar("T")
R = TypeVar("R")

WIDTH = 4  # threads: more do not help on 2 CPUs (8 were slower), and VBoxSVC serves them all
MIN_ITEMS = 2  # items left after the first: one alone is read on the calling thread


def each(ctx: Ctx, items: Sequence[T], read: Callable[[T], R | None],
         warmed: Callable[[R | None], bool] = lambda result: result is not None) -> list[R | None]:
    """``read`` of every item, in order.  Serial until a result is ``warmed`` (by default: not
    None; the descriptions are built then), then up to WIDTH threads.  An exception of ``read``
    is raised here, on the calling thread."""
    results: list[R | None] = []
    for index, item in enumerate(items):
        results.append(read(item))
        if warmed(results[-1]):
            rest = items[index + 1:]
            break
    else:
        return results
    if len(rest) < MIN_ITEMS or not ctx.threads.shared:
        return results + [read(item) for item in rest]

    def attached(item: T) -> R | None:
        ctx.threads.attach()
        return read(item)

    with ThreadPoolExecutor(max_workers=min(WIDTH, len(rest)), thread_name_prefix="hosted-read") as pool:
        return results + list(pool.map(attached, rest))
