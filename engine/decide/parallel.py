"""Chunked work over local processes, results in input order, memory flat in the input's length.

    for result in ordered_map(setup, (policy_text,), work, chunks(lines, 2000), workers=2):
        ...   # work(state, chunk) of each chunk, in the order of the chunks

* `setup(*setup_args)` runs once in each worker process and returns its state (e.g. compiled policies
  built from the policy text shipped as a plain string: nothing compiled is pickled); `work(state,
  chunk)` runs in a worker for each chunk. Both must be module-level functions (pickled by name).
* At most `window` chunks (default 2 per worker) are in flight: the input is read as the results are
  taken, never all at once (multiprocessing.Pool.imap would read the whole input ahead).
* workers <= 1 runs everything in this process, with the same functions: one code path to test.

Shared by `slapolicy diff --corpus --workers N` and any other line-by-line job (`evaluate --jsonl`).
"""
from __future__ import annotations

import itertools
import multiprocessing
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
