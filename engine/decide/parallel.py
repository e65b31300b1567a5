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
# (`slapolicy evaluate --jsonl --workers N`: blocks of binary lines in, JSON Lines bytes out). No
# multiprocessing.Pool: its three helper threads, per-result condition variables and 0.1 s polling of the
# workers cost the parent more CPU than its own work (futex, wait4 and poll calls by the thousand); here each
# worker has a pipe in and a pipe out, the parent one poll loop, and frames are a length and a pickle.
import pickle  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402

_FRAME = struct.Struct("<Q")
_END = object()


def default_workers() -> int:
    """the cores this process may run on"""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _read_exact(fd, n: int) -> bytearray | None:
    """n bytes read straight into one buffer (no joined copies); None at the end of input"""
    buffer = bytearray(n)
    with memoryview(buffer) as view:
        got = 0
        while got < n:
            k = os.readv(fd, [view[got:]])
            if not k:
                return None
            got += k
    return buffer


def _write_all(fd, *parts) -> None:
    for data in parts:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]


def _worker(fn, inbox: int, outbox: int) -> None:
    """a forked worker: frames in, fn(item) out as (True, result) or (False, the exception), until end of input"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # an interrupted run ends without a traceback per worker
    while True:
        head = _read_exact(inbox, _FRAME.size)
        if head is None:
            return
        body = _read_exact(inbox, _FRAME.unpack(head)[0])
        if body is None:
            return
        try:
            reply = (True, fn(pickle.loads(body)))
        except BaseException as exc:  # handed to the parent, which raises it
            reply = (False, exc)
        try:
            data = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an unpicklable result or exception
            data = pickle.dumps((False, RuntimeError(f"{exc.__class__.__name__}: {exc}")), pickle.HIGHEST_PROTOCOL)
        _write_all(outbox, _FRAME.pack(len(data)), data)


def keep_freed_memory() -> None:
    """glibc's malloc: freed memory kept for reuse instead of returned to the system (trim threshold 256 MiB)
    and blocks up to 32 MiB taken from the heap instead of fresh mappings. A batch run allocates and frees
    blocks of megabytes per chunk (lines read, records joined, frames); with the defaults each came back
    as fresh pages, 1.1 page faults a line with 2 workers (sys time 4x the single process's). Memory stays
    bounded by the chunks in flight. Elsewhere (another C library) nothing changes."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (ImportError, OSError, AttributeError):
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    mallopt(M_TRIM_THRESHOLD, 256 << 20)
    mallopt(M_MMAP_THRESHOLD, 32 << 20)


def forked_map(fn, items, workers: int):
    """fn(item) for each item, in order; `workers` > 1 forks that many processes once there is a second item
    (no fork on this platform, or one item: this process). At most 2 items a worker are in flight, so memory
    stays flat in the input size; item k goes to worker k mod N and results are taken in order."""
    items = iter(items)
    first = next(items, None)
    if first is None:
        return
    second = next(items, None)
    if second is not None:
        keep_freed_memory()
    if workers <= 1 or second is None or not hasattr(os, "fork"):
        yield fn(first)
        if second is not None:
            yield fn(second)
            for item in items:
                yield fn(item)
        return
    yield from _forked(fn, itertools.chain((first, second), items), workers)


def _widen(fd) -> None:
    """a pipe buffer of 1 MiB (Linux; the default 64 KiB cost a system call and a wake-up per 64 KiB of a
    chunk)"""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


class _Worker:
    __slots__ = ("pid", "inbox", "outbox", "send", "head", "body", "got", "expected")

    def __init__(self, pid, inbox, outbox):
        self.pid, self.inbox, self.outbox = pid, inbox, outbox
        self.send = deque()  # memoryviews of frame parts not yet written
        self.head = bytearray(_FRAME.size)  # the frame being received: its length, then its body
        self.body = None
        self.got = 0
        self.expected = deque()  # the sequence numbers of the items sent, oldest first

    def receive(self, results) -> bool:
        """read what the pipe holds into the frame being received (straight into its buffer); False at the
        end of the worker's output"""
        while True:
            target = self.head if self.body is None else self.body
            try:
                with memoryview(target) as view:
                    n = os.readv(self.outbox, [view[self.got:]])
            except BlockingIOError:
                return True
            if not n:
                return False
            self.got += n
            if self.got < len(target):
                continue
            self.got = 0
            if self.body is None:
                self.body = bytearray(_FRAME.unpack(self.head)[0])
                if self.body:
                    continue
            results[self.expected.popleft()] = pickle.loads(self.body)
            self.body = None


def _forked(fn, items, workers: int):
    import gc
    import sys

    for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    pool: list[_Worker] = []
    sent = taken = 0
    exhausted = False
    gc.collect()
    gc.freeze()  # the inherited objects stay out of the workers' collections (no copy-on-write of their pages)
    try:
        for _ in range(workers):
            down_r, down_w = os.pipe()
            up_r, up_w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                code = 0
                try:
                    os.close(down_w)
                    os.close(up_r)
                    for other in pool:
                        os.close(other.inbox)
                        os.close(other.outbox)
                    _worker(fn, down_r, up_w)
                except BaseException:
                    code = 1
                finally:
                    os._exit(code)
            os.close(down_r)
            os.close(up_w)
            _widen(down_w)
            _widen(up_r)
            os.set_blocking(down_w, False)
            os.set_blocking(up_r, False)
            pool.append(_Worker(pid, down_w, up_r))
    except BaseException:
        gc.unfreeze()
        _stop(pool, True)
        raise
    gc.unfreeze()
    try:
        results: dict = {}
        by_fd = {}
        while True:
            while taken in results:
                ok, value = results.pop(taken)
                taken += 1
                if not ok:
                    raise value
                yield value
            while not exhausted and sent - taken < 2 * workers:
                item = next(items, _END)
                if item is _END:
                    exhausted = True
                    break
                w = pool[sent % workers]
                body = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
                w.send.append(memoryview(_FRAME.pack(len(body))))
                w.send.append(memoryview(body))
                w.expected.append(sent)
                sent += 1
            if exhausted and taken == sent:
                return
            poller = select.poll()
            by_fd.clear()
            for w in pool:
                if w.send:
                    poller.register(w.inbox, select.POLLOUT)
                    by_fd[w.inbox] = w
                if w.expected:
                    poller.register(w.outbox, select.POLLIN)
                    by_fd[w.outbox] = w
            for fd, event in poller.poll():
                w = by_fd[fd]
                if fd == w.inbox:
                    if event & (select.POLLERR | select.POLLHUP):
                        raise RuntimeError(f"worker process {w.pid} ended early")
                    while w.send:
                        try:
                            n = os.write(fd, w.send[0])
                        except BlockingIOError:
                            break
                        rest = w.send[0][n:]
                        if rest:
                            w.send[0] = rest
                            break
                        w.send.popleft()
                    continue
                if not w.receive(results):
                    raise RuntimeError(f"worker process {w.pid} ended early")
    finally:
        _stop(pool, sent != taken or not exhausted)


def _stop(pool, kill: bool) -> None:
    """close the pipes (at the end of input each worker returns) and wait for the workers; `kill`: stop
    them first (an error or an interruption left items in flight)"""
    for w in pool:
        for fd in (w.inbox, w.outbox):
            try:
                os.close(fd)
            except OSError:
                pass
    for w in pool:
        try:
            if kill:
                os.kill(w.pid, signal.SIGTERM)
            os.waitpid(w.pid, 0)
        except OSError:
            pass
