"""The server's policies: a directory watched for changes, swapped in atomically.

`PolicyStore(directory)` keeps an immutable `Snapshot` (policy id -> Policy, plus the files it
refused and why). `poll()` reads every policy file of the directory (`<id>.yaml` and its editions
`<id>@<date>.yaml`; tests and coverage files are not policies), and for each id whose content
changed runs the whole pipeline through `slapolicy.api.load_policy`:

* it passes: the new Policy replaces the old one in a new Snapshot, assigned in one step (requests
  that already hold the old snapshot finish with it; no request ever sees half a reload);
* it fails the checker: the new text is refused, the last good Policy keeps serving, and the
  refusal (every diagnostic with file:line:col) is kept in the snapshot for /readyz and logged once;
* the file is gone on two polls in a row (so that an editor that deletes and rewrites is not
  mistaken for a removal): the policy is no longer served.

A changed file is swapped in only when it is complete: its size, mtime and content must be the same on
two polls in a row (a file still being written is `pending` on /readyz and the old version keeps
serving), and the same again after it was loaded. The safe way to deploy is still write + rename
(`mv new.yaml advantshop.yaml` in the same directory: the new text appears at once, whole); an
in-place save is picked up once it has stood still for one poll interval. Any failure of any file (a
checker error, a file that is not a regular file or too large, even a defect of the loader) is a
refusal recorded for /readyz; the other files' changes still go in. Files are read with the one
safe reader (slapolicy.language.load.read_policy_file): the watcher never blocks on a FIFO or a device.

A file's content is read and hashed again only when its stat (size, mtime, ctime, inode, device) changed
since it was last hashed, or when it was changed within `RACY_NS` (2 s) before that reading began (as git's
"racily clean" rule: timestamps are coarse, so a second write within the same tick as the one hashed
would leave the stat unchanged; a rewrite that restores the size and mtime still moves the ctime, which no
user can set): a watched directory that does not change is stat()ed each poll, not read.

A directory that cannot be read keeps everything as it is and is reported as a problem.
`start(interval)` runs `poll()` on a daemon thread every `interval` seconds.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("slapolicy.server")
RACY_NS = 2_000_000_000  # a file changed less than this before its reading began is read again on the next poll


@dataclass(frozen=True)
class Refusal:
    """A policy text that failed its check (or could not be read): why, and since when."""

    policy: str
    files: tuple
    diagnostics: tuple  # Diagnostic.to_json() dicts
    text: str  # the diagnostics formatted as `slapolicy check` prints them, with caret excerpts
    since: str

    def to_json(self, serving) -> dict:
        return {"policy": self.policy, "files": list(self.files), "since": self.since,
                "serving": None if serving is None else {"version": serving.version, "hash": serving.content_hash},
                "diagnostics": list(self.diagnostics), "text": self.text}


@dataclass(frozen=True)
class Snapshot:
    policies: dict = field(default_factory=dict)  # id -> slapolicy.api.Policy
    refused: dict = field(default_factory=dict)  # id -> Refusal
    problem: str | None = None  # the directory itself cannot be read
    loaded_at: str = ""
    pending: dict = field(default_factory=dict)  # id -> since: changed on disk, waiting for it to stand still


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class PolicyStore:
    def __init__(self, directory, on_change=None):
        self.directory = Path(directory)
        self.snapshot = Snapshot()
        self.on_change = on_change  # callback(event: str, policy_id: str) for metrics
        self._fingerprints: dict = {}  # id -> ((file name, sha256), ...) last attempted
        self._missing: dict = {}  # id -> consecutive polls without its file
        self._pending: dict = {}  # id -> (fingerprint seen on the last poll, since): not yet stable
        self._digests: dict = {}  # file name -> (its stat key, its digest, when its reading began): `_fingerprint`
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0

    # -- reading the directory ------------------------------------------------------------------
    def _scan(self) -> dict:
        """id -> ((file name, size, mtime, sha256 of its text or why it cannot be read), ...) for every policy
        file of the directory, read with the safe reader (never blocks, never reads past the size cap)."""
        groups: dict = {}
        digests = self._digests
        seen = set()
        for f in sorted(self.directory.glob("*.yaml")):
            if f.name.count(".") != 1:
                continue  # <id>.tests.yaml, <id>.coverage.yaml
            policy_id = f.stem.split("@", 1)[0]
            seen.add(f.name)
            groups.setdefault(policy_id, []).append(_fingerprint(f, digests))
        for name in [n for n in digests if n not in seen]:  # (files gone: their digests too)
            del digests[name]
        # an edition file without its current file is not a policy (as slapolicy.api.policy_ids)
        return {pid: tuple(files) for pid, files in groups.items() if any(n == f"{pid}.yaml" for n, *_ in files)}

    def poll(self) -> bool:
        """Look at the directory once; load what changed and stood still. True if the snapshot changed."""
        with self._poll_lock:
            self.polls += 1
            old = self.snapshot
            if not self.directory.is_dir():
                problem = f"policies directory '{self.directory}' does not exist or is not a directory"
                if old.problem != problem:
                    log.error("%s; still serving %d policies", problem, len(old.policies))
                    self.snapshot = Snapshot(old.policies, old.refused, problem, old.loaded_at, old.pending)
                    return True
                return False
            try:
                found = self._scan()
            except OSError as exc:
                problem = f"cannot read the policies directory '{self.directory}': {exc}"
                if old.problem != problem:
                    log.error("%s; still serving %d policies", problem, len(old.policies))
                    self.snapshot = Snapshot(old.policies, old.refused, problem, old.loaded_at, old.pending)
                    return True
                return False
            policies, refused = dict(old.policies), dict(old.refused)
            changed = old.problem is not None
            first = not old.loaded_at
            for pid, fingerprint in found.items():
                self._missing.pop(pid, None)
                if self._fingerprints.get(pid) == fingerprint:
                    changed |= self._pending.pop(pid, None) is not None  # changed back: nothing to load
                    continue
                seen = self._pending.get(pid)
                if not first and (seen is None or seen[0] != fingerprint):
                    # changed since the last poll: wait until it stands still for one poll
                    changed |= seen is None
                    self._pending[pid] = (fingerprint, seen[1] if seen else _now())
                    continue
                try:
                    loaded = self._load(pid, fingerprint)
                except _StillChanging as exc:  # it changed while being loaded: wait again
                    self._pending[pid] = (exc.fingerprint, _now())
                    continue
                self._pending.pop(pid, None)
                self._fingerprints[pid] = fingerprint
                changed = True
                if isinstance(loaded, Refusal):
                    refused[pid] = loaded
                    prior = policies.get(pid)
                    keep = (f"still serving version {prior.version} (hash {prior.content_hash})" if prior
                            else "not served")
                    log.error("policy '%s' refused (%s):\n%s", pid, keep, loaded.text)
                    self._notify("refused", pid)
                    continue
                policy = loaded
                prior = policies.get(pid)
                policies[pid] = policy
                refused.pop(pid, None)
                if prior is None:
                    log.info("policy '%s' loaded: version %s, hash %s", pid, policy.version, policy.content_hash)
                    self._notify("loaded", pid)
                elif prior is not policy or pid in old.refused:
                    log.info("policy '%s' reloaded: version %s, hash %s (was version %s, hash %s)", pid,
                             policy.version, policy.content_hash, prior.version, prior.content_hash)
                    self._notify("reloaded", pid)
            for pid in set(policies) | set(refused) | set(self._pending):
                if pid in found:
                    continue
                self._missing[pid] = self._missing.get(pid, 0) + 1
                if self._missing[pid] < 2 and old.loaded_at:  # seen missing once: wait one more poll
                    continue
                policies.pop(pid, None)
                refused.pop(pid, None)
                self._pending.pop(pid, None)
                self._fingerprints.pop(pid, None)
                self._missing.pop(pid, None)
                changed = True
                log.warning("policy '%s' removed: its file is gone from %s", pid, self.directory)
                self._notify("removed", pid)
            pending = {pid: since for pid, (_, since) in sorted(self._pending.items())}
            if not changed and old.loaded_at and pending == old.pending:
                return False
            self.snapshot = Snapshot(policies, refused, None, _now(), pending)
            return True

    def _load(self, pid, fingerprint):
        """The Policy of `pid`, or its Refusal; _StillChanging if the files changed while it was loaded."""
        from slapolicy.api import PolicyError, PolicyNotFound, load_policy

        files = tuple(name for name, *_ in fingerprint)
        try:
            # by path, so that a file named like the id in the working directory cannot interfere
            result = load_policy(str(self.directory / f"{pid}.yaml"))
        except (PolicyError, PolicyNotFound) as exc:
            result = _refusal(pid, files, exc)
        except Exception as exc:  # a defect of the loader is a refusal too: never a silent skip
            log.exception("policy '%s': the loader failed", pid)
            result = Refusal(pid, files, ({"code": "internal-error", "severity": "error",
                                           "message": f"the loader failed ({exc.__class__.__name__}); the server log "
                                                      "has details", "file": files[0], "line": 1, "col": 1},),
                             f"{files[0]}:1:1: error: internal-error: the loader failed ({exc.__class__.__name__})",
                             _now())
        now = tuple(_fingerprint(self.directory / name, self._digests) for name in files)
        if now != fingerprint:
            raise _StillChanging(now)
        return result

    def _notify(self, event, pid):
        if self.on_change is not None:
            try:
                self.on_change(event, pid)
            except Exception:  # metrics must never break a reload
                log.exception("on_change callback failed")

    # -- the watcher thread ---------------------------------------------------------------------
    def start(self, interval: float = 1.0):
        if interval <= 0 or self._thread is not None:
            return
        self._stop.clear()

        def run():
            while not self._stop.wait(interval):
                try:
                    self.poll()
                except Exception:  # keep watching whatever happens; the last snapshot keeps serving
                    log.exception("policy watcher: poll failed")

        self._thread = threading.Thread(target=run, name="slapolicy-policy-watcher", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class _StillChanging(Exception):
    def __init__(self, fingerprint):
        self.fingerprint = fingerprint


def _fingerprint(path: Path, digests: dict) -> tuple:
    """(name, size, mtime_ns, sha256 of the text or why it cannot be read) of one file, without blocking.
    `digests` (file name -> (stat key, digest, when its reading began)): the digest of a file whose stat is the
    same as when it was hashed, and that had not changed within RACY_NS before that, is taken from there
    instead of reading the file again (see the module's docstring); a file hashed is kept there."""
    from slapolicy.language.diagnostics import PolicyError
    from slapolicy.language.load import read_policy_file

    try:
        info = path.stat()
        size, mtime = info.st_size, info.st_mtime_ns
    except OSError as exc:
        return (path.name, -1, 0, f"unreadable: {exc.strerror}")
    key = (size, mtime, info.st_ctime_ns, info.st_ino, info.st_dev)
    kept = digests.get(path.name)
    if kept is not None and kept[0] == key and max(mtime, info.st_ctime_ns) < kept[2] - RACY_NS:
        return (path.name, size, mtime, kept[1])
    began = time.time_ns()  # (the filesystem's timestamps are of the same clock, in coarser steps)
    try:
        digest = hashlib.sha256(read_policy_file(path, path.name).encode("utf-8")).hexdigest()
    except PolicyError as exc:
        digest = f"refused: {exc.diagnostics[0].code}"
    digests[path.name] = (key, digest, began)
    return (path.name, size, mtime, digest)


def _refusal(pid, files, exc) -> Refusal:
    from slapolicy.api import PolicyError

    if isinstance(exc, PolicyError):
        diagnostics = tuple(d.to_json() for d in exc.diagnostics)
        text = exc.format()
    else:
        diagnostics = ({"code": "not-found", "severity": "error", "message": str(exc)},)
        text = str(exc)
    return Refusal(pid, files, diagnostics, text, _now())
