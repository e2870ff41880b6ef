"""Progress of long work: a callback the library calls, and the bar the command line draws with it.

The library takes an optional ``progress(done, total, phase)`` and knows nothing of terminals: ``phase`` is
a stable code (:data:`PHASES`), ``done`` and ``total`` count what that phase works through (tables, rows,
hazards, steps). Without a callback the library does no counting at all. The command line passes
:func:`terminal` (a tqdm bar on stderr, nothing when stderr is not a terminal or with ``--quiet``); the app
passes one that moves an ``st.progress``.

>>> seen = []
>>> list(counted(iter("abcde"), 5, lambda *a: seen.append(a), "trace", every=2))
['a', 'b', 'c', 'd', 'e']
>>> seen
[(0, 5, 'trace'), (2, 5, 'trace'), (4, 5, 'trace'), (5, 5, 'trace')]
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

Progress = Callable[[int, int, str], None]
T = TypeVar("T")

# The phases, in the words of the command line (the app has its own, in app_pages/words.yaml: progress)
PHASES = {  # phase: (what the bar says, what it counts)
    "read": ("reading and checking", "tables"),
    "links": ("checking references", "steps"),
    "write": ("writing", "rows"),
    "trace": ("tracing", "hazards"),
    "generate": ("generating", "steps"),
    "parts": ("tracing in parts", "parts"),
}
EVERY = 500  # hazards between two calls: a call costs microseconds, a hazard's chain about a hundred


def counted(items: Iterable[T], total: int, progress: Progress, phase: str, every: int = EVERY) -> Iterator[T]:
    """``items`` unchanged, calling ``progress`` at the start, every ``every`` items and at the end."""
    done = 0
    progress(0, total, phase)
    for item in items:
        yield item
        done += 1
        if not done % every:
            progress(done, total, phase)
    progress(done, total, phase)


def write(store: Any, dataset: Any, progress: Progress | None = None) -> Any:
    """``store.write(dataset)``, telling ``progress`` of the rows written where the store takes a callback
    (the SQLite store does; a store without one is written to all the same)."""
    if progress and "progress" in inspect.signature(store.write).parameters:
        return store.write(dataset, progress=progress)
    return store.write(dataset)


@contextmanager
def terminal(quiet: bool = False, stream: IO[str] | None = None) -> Iterator[Progress | None]:
    """A callback drawing one tqdm bar per phase on ``stream`` (stderr); ``None`` — no counting at all —
    with ``quiet`` or when the stream is not a terminal, so that pipes and logs get no bar."""
    stream = stream or sys.stderr
    if quiet or not stream.isatty():
        yield None
        return
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(done: int, total: int, phase: str) -> None:
        bar = bars.get(phase)
        if bar is None:
            for old in bars.values():
                old.close()
            desc, unit = PHASES.get(phase, (phase, "it"))
            bar = bars[phase] = tqdm(total=total, desc=desc, unit=" " + unit, file=stream, leave=False,
                                     dynamic_ncols=True, mininterval=0.2)
        if total != bar.total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()
