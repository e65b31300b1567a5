"""Ordered, chunked work over processes: `ordered_map(fn, chunks, workers)` yields fn(chunk) for each
chunk in input order, computed by `workers` forked processes (the parent's loaded policies are
inherited, nothing is re-loaded or pickled but the chunks and the results). One worker, or a single
chunk, runs in this process without a pool.

Used by `slapolicy evaluate --jsonl --workers N`; reusable for any line-oriented batch (chunks of
bytes lines in, bytes out) where the output must keep the input's order.
"""
from __future__ import annotations

import itertools
import os

_fn = None  # the function the forked workers run (inherited, not pickled)


def _call(chunk):
    return _fn(chunk)


def default_workers() -> int:
    """the cores this process may run on"""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def chunks(stream, size: int):
    """lists of at most `size` lines of a binary stream"""
    while True:
        chunk = list(itertools.islice(stream, size))
        if not chunk:
            return
        yield chunk


def ordered_map(fn, items, workers: int):
    """fn(item) for each item, in order; `workers` > 1 forks a pool once there is a second item"""
    global _fn
    items = iter(items)
    first = next(items, None)
    if first is None:
        return
    second = next(items, None)
    if workers <= 1 or second is None:
        yield fn(first)
        if second is not None:
            yield fn(second)
            for item in items:
                yield fn(item)
        return
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # no fork on this platform: one process
        yield fn(first)
        yield fn(second)
        for item in items:
            yield fn(item)
        return
    import collections

    _fn = fn
    window = collections.deque()  # at most 2 chunks a worker in flight: memory stays flat in the input size
    with context.Pool(workers) as pool:
        for item in itertools.chain((first, second), items):
            window.append(pool.apply_async(_call, (item,)))
            if len(window) >= 2 * workers:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()
    _fn = None
