"""The user cache directory, and the bytecode of slapolicy's own modules kept in it.

The directory: $SLAPOLICY_CACHE_DIR, else $XDG_CACHE_HOME/slapolicy, else ~/.cache/slapolicy; one only
the user can write (created 0700; one owned by another user or writable by others is not used);
SLAPOLICY_NO_CACHE=1 turns every cache off. slapolicy.language.cache keeps the compile cache and the
stored holidays there.

The bytecode (issue 17: a fast start). When Python does not write bytecode (PYTHONDONTWRITEBYTECODE=1,
as these machines set it), an editable checkout, where pip compiled nothing, compiles every module of
slapolicy from source at every start (~270 KB on a one-ticket `evaluate`, about as long again as the rest
of the start). `install()`, called by the package root in such a run, adds a finder for `slapolicy.*`
modules only. Their loader reads Python's own bytecode when it is there and current (`__pycache__` or
under PYTHONPYCACHEPREFIX, checked by its timestamp header as Python checks it: a wheel install, where
pip compiled at install), else `<cache>/bytecode/<cache tag>/<the source's absolute path>.pyc` when its
header names this interpreter's magic number and the source's current size and modification time in
nanoseconds; else it compiles the source and writes that file (a temporary file, then renamed). Nothing
else changes: other packages' modules, a run where Python writes bytecode itself, and a run with the
cache off (or its directory unsafe) or SLAPOLICY_NO_BYTECODE=1 load as Python would. The first start of a
process that writes bytecode (a new checkout, an edit) prunes the tree of the files whose source is gone (a
checkout deleted: its path is in the file's) and of temporary files older than an hour (a writer that died);
a start that writes nothing looks at nothing. The loaded code is what `compile()` makes of
the same source file, under the same file name (tracebacks unchanged).
"""
from __future__ import annotations

import marshal
import os
import stat
import sys
from types import CodeType
from importlib.machinery import PathFinder, SourceFileLoader

# what importlib.util re-exports, from the import system's own module (always loaded): importlib.util
# would import contextlib, collections and functools at every start
from importlib._bootstrap_external import MAGIC_NUMBER, cache_from_source


def directory() -> str | None:
    """the cache directory (created), or None when the cache is off or the directory is not safe"""
    if os.environ.get("SLAPOLICY_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("SLAPOLICY_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "slapolicy")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.stat(base)
    except OSError:
        return None
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        return None  # another user could plant entries
    return base


def _header(info: os.stat_result) -> bytes:
    """this module's header: the magic number, the source's modification time in ns and its size"""
    return MAGIC_NUMBER + info.st_mtime_ns.to_bytes(8, "little") + (info.st_size & 0xFFFFFFFF).to_bytes(4, "little")


def _standard_header(info: os.stat_result) -> bytes:
    """the header of Python's own timestamp-checked .pyc for this source (PEP 552, flags 0)"""
    return (MAGIC_NUMBER + bytes(4) + (int(info.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
            + (info.st_size & 0xFFFFFFFF).to_bytes(4, "little"))


STALE_WRITE_SECONDS = 3600  # a temporary file older than this is a dead writer's (here and in the compile cache)


class CachedLoader(SourceFileLoader):
    """a slapolicy module's loader: Python's own bytecode when it is there and current (a wheel install, or
    a checkout run once without PYTHONDONTWRITEBYTECODE), else the bytecode kept under `root`, else the
    source, compiled and kept under `root`"""

    root = ""
    pruned = False  # (this process has pruned the tree: `_write`)

    def get_code(self, fullname):
        source_path = self.get_filename(fullname)
        try:
            info = os.stat(source_path)
        except OSError:
            return super().get_code(fullname)
        standard = _data(cache_from_source(source_path))  # a wheel's, or a checkout's from a run that wrote them
        if standard is not None:
            if standard[4:8] != bytes(4):  # hash-checked (pip under SOURCE_DATE_EPOCH): Python's own check
                return super().get_code(fullname)
            code = _code(standard, _standard_header(info))
            if code is not None:
                return code
        kept = os.path.join(self.root, os.path.abspath(source_path).lstrip(os.sep) + ".pyc")
        header = _header(info)
        code = _code(_data(kept), header)
        if code is None:
            code = self.source_to_code(self.get_data(source_path), source_path)
            _write(kept, header + marshal.dumps(code))
        return code


def _data(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _code(data: bytes | None, header: bytes):
    """the code object of bytecode file contents `data` when its header is `header`, else None"""
    if data is None or data[:16] != header:
        return None
    try:
        code = marshal.loads(memoryview(data)[16:])
    except (ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def _write(path: str, data: bytes) -> None:
    """write `data` to `path` through a temporary file (a reader sees the old file or the new, never half); the
    first write of a process prunes the tree first (`prune`)"""
    if not CachedLoader.pruned:
        CachedLoader.pruned = True
        prune(CachedLoader.root)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except OSError:
        pass  # a full or read-only disk: the module still loads, from source


def prune(root: str, now: float | None = None) -> int:
    """remove from the bytecode tree `root` the kept files whose source file is gone and the temporary files
    older than an hour; the number removed"""
    import time

    now = time.time() if now is None else now
    removed = 0
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            try:
                if name.endswith(".pyc"):  # (<root>/<the source's absolute path>.pyc)
                    if os.path.exists(os.sep + os.path.relpath(path, root)[:-4]):  # (its leading separator: stripped)
                        continue
                elif not (name.endswith(".tmp") and os.stat(path).st_mtime < now - STALE_WRITE_SECONDS):
                    continue
                os.unlink(path)
                removed += 1
            except (OSError, ValueError):
                pass
    for folder, _, _ in sorted(os.walk(root), reverse=True):  # (folders left empty, deepest first)
        if folder != root:
            try:
                os.rmdir(folder)
            except OSError:
                pass
    return removed


class BytecodeFinder:
    """finds `slapolicy.*` modules as Python's path finder does, and gives those loaded from source files the
    CachedLoader"""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if not name.startswith("slapolicy.") or not sys.dont_write_bytecode:
            return None
        spec = PathFinder.find_spec(name, path, target)
        if spec is None or type(spec.loader) is not SourceFileLoader or not spec.origin:
            return spec
        spec.loader = CachedLoader(spec.loader.name, spec.loader.path)
        return spec

    @classmethod
    def invalidate_caches(cls):
        pass


def install() -> None:
    """add the finder (once) when Python writes no bytecode, SLAPOLICY_NO_BYTECODE is not set and the
    cache directory is usable"""
    if not sys.dont_write_bytecode or any(f is BytecodeFinder for f in sys.meta_path):
        return
    if os.environ.get("SLAPOLICY_NO_BYTECODE", "") not in ("", "0"):
        return
    tag = sys.implementation.cache_tag
    base = directory() if tag else None
    if base is None:
        return
    CachedLoader.root = os.path.join(base, "bytecode", tag)
    sys.meta_path.insert(0, BytecodeFinder)
