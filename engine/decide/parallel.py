"""Chunked work over local processes, results in input order, memory flat in the input's length.

    for result in ordered_map(setup, (policy_text,), work, chunks(lines, 2000), workers=2):
        ...   # work(state, chunk) of each chunk, in the order of the chunks

* `setup(*setup_args)` runs once in each worker process and returns its state (e.g. compiled policies
  built from the policy text shipped as a plain string: nothing compiled is pickled); `work(state,
  chunk)` runs in a worker for each chunk. Both must be module-level functions (pickled by name).
* At most `window` chunks (default 2 per worker) are in flight: the input is read as the results are
  taken, never all at once (multiprocessing.Pool.imap would read the whole input ahead).
* workers <= 1 runs everything in this process, with the same functions: one code path to test.

Shared by `slapolicy diff --corpus --workers N` (ordered_map: state built in each worker from plain text)
and `evaluate --jsonl --workers N` (forked_map: forked workers inherit the compiled policy).
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque

_STATE = None  # the state of this worker process (set by _init)


def _init(setup, args):
    global _STATE
    _STATE = setup(*args)


def _run(work, chunk):
    return work(_STATE, chunk)


def chunks(items, size: int):
    """Lists of up to `size` consecutive items (the last may be shorter)."""
    it = iter(items)
    while True:
        block = list(itertools.islice(it, size))
        if not block:
            return
        yield block


def ordered_map(setup, setup_args, work, blocks, workers: int = 1, window: int | None = None):
    """Yield work(state, block) for every block, in order, computed by `workers` processes."""
    if workers <= 1:
        state = setup(*setup_args)
        for block in blocks:
            yield work(state, block)
        return
    window = window or 2 * workers
    pool = multiprocessing.get_context().Pool(workers, initializer=_init, initargs=(setup, setup_args))
    try:
        pending: deque = deque()
        for block in blocks:
            pending.append(pool.apply_async(_run, (work, block)))
            if len(pending) >= window:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        pool.close()
    finally:
        pool.terminate()
        pool.join()


# -- forked workers: the parent's compiled policy is inherited, nothing is pickled but chunks and results ----
# (`slapolicy evaluate --jsonl --workers N`: chunks of binary lines in, JSON Lines bytes out)
_fn = None  # the function the forked workers run (inherited, not pickled)


def _call(chunk):
    return _fn(chunk)


def default_workers() -> int:
    """the cores this process may run on"""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def forked_map(fn, items, workers: int):
    """fn(item) for each item, in order; `workers` > 1 forks a pool once there is a second item (no fork on
    this platform, or one item: this process)"""
    global _fn
    items = iter(items)
    first = next(items, None)
    if first is None:
        return
    second = next(items, None)
    try:
        context = multiprocessing.get_context("fork") if workers > 1 and second is not None else None
    except ValueError:
        context = None
    if context is None:
        yield fn(first)
        if second is not None:
            yield fn(second)
            for item in items:
                yield fn(item)
        return
    _fn = fn
    window: deque = deque()  # at most 2 chunks a worker in flight: memory stays flat in the input size
    try:
        with context.Pool(workers) as pool:
            for item in itertools.chain((first, second), items):
                window.append(pool.apply_async(_call, (item,)))
                if len(window) >= 2 * workers:
                    yield window.popleft().get()
            while window:
                yield window.popleft().get()
    finally:
        _fn = None
