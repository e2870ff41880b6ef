"""Batch work and Python's cyclic garbage collector.

Loading a province or tracing half a million hazards creates millions of long-lived objects and no
reference cycles. The cyclic collector would walk them again and again (it tripled the cost of tracing),
while reference counting frees them anyway; so batch work pauses it, and what stays is frozen out of its
reach. The engine's objects are built without cycles (an explanation holds no reference to the engine)
so that nothing frozen or left uncollected here outlives its last reference.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def gc_paused(freeze: bool = True) -> Iterator[None]:
    """Pause the cyclic collector; afterwards, freeze the survivors so that it never walks them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
