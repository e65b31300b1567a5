"""The facade: load, check and evaluate policies. Used by the CLI, the server and the tests.

    from slapolicy.api import load_policy
    policy = load_policy("advantshop")              # an id (bundled policies/) or a path
    decision = policy.evaluate({"id": "T-1", ...}, as_of=None)

Compiled policies are cached by file path and content hash, immutable and safe to share between
threads; each evaluation uses its own state.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from slapolicy.decide.evaluate import evaluate
from slapolicy.decide.tickets import validate_ticket
from slapolicy.language.diagnostics import Diagnostic, InputError, PolicyError, PolicyNotFound, TicketError
from slapolicy.language.source import Span

__all__ = ["load_policy", "check_file", "check_paths", "Policy", "PolicyError", "TicketError",
           "PolicyNotFound", "policy_ids", "resolve_policy_path", "parse_timestamp"]


@dataclass
class CheckResult:
    file: str
    text: str
    diagnostics: list

    @property
    def errors(self):
        return [d for d in self.diagnostics if d.severity == "error"]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _compile_text(text: str, file: str, cached: bool = False):
    """Run stages 1-5 on a policy text; raise PolicyError with every error found.

    The cyclic garbage collector is paused meanwhile: compiling allocates many long-lived objects and
    nothing cyclic to free, and its full collections made the load of a large policy superlinear
    (5,000 rules: most of 13.8 s)."""
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        return _compile_text_now(text, file, cached)
    finally:
        if paused:
            gc.enable()


def _compile_text_now(text: str, file: str, cached: bool = False):
    from slapolicy.language.compile import compile_policy

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    if cached:  # the compile cache (slapolicy.language.cache): a checked policy as plain JSON, by content
        from slapolicy.language import cache

        checked = cache.fetch(text, file)
        if checked is not None:
            return compile_policy(checked, digest)
    from slapolicy.language.check import check_policy
    from slapolicy.language.load import load_yaml
    from slapolicy.language.schema import validate_policy

    loaded = load_yaml(text, file)
    problems = validate_policy(loaded)
    if problems:
        raise PolicyError(problems, {file: text})
    checked = check_policy(loaded)
    if checked.errors:
        raise PolicyError(checked.errors, {file: text})
    if cached:
        cache.store(text, file, checked)
    return compile_policy(checked, digest)


def check_text(text: str, file: str) -> CheckResult:
    try:
        compiled = _compile_text(text, file)
    except PolicyError as exc:
        return CheckResult(file, text, exc.diagnostics)
    return CheckResult(file, text, sorted(compiled.warnings, key=Diagnostic.sort_key))


def check_file(path) -> CheckResult:
    path = Path(path)
    file = _display(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return CheckResult(file, "", [Diagnostic("unreadable", f"cannot read the file: {exc}", Span(file, 1, 1, 1, 2))])
    return check_text(text, file)


def policy_files(paths) -> list[Path]:
    """Policy files named by `paths` (files or directories; tests and coverage files are skipped)."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.glob("*.yaml") if f.name.count(".") == 1))
        else:
            out.append(p)
    return out


def check_paths(paths) -> list[CheckResult]:
    return [check_file(p) for p in policy_files(paths)]


def default_policies_dir() -> Path:
    from slapolicy.language.resources import policies_dir

    return policies_dir()


def policy_ids(policies_dir=None) -> list[str]:
    d = Path(policies_dir) if policies_dir else default_policies_dir()
    return sorted(f.stem for f in d.glob("*.yaml") if f.name.count(".") == 1 and "@" not in f.stem)


def resolve_policy_path(id_or_path: str, policies_dir=None) -> Path:
    candidate = Path(id_or_path)
    # a path has a YAML suffix or a directory part; a bare word is an id (a file named like an id in the
    # working directory must not replace the bundled policy)
    if candidate.suffix in (".yaml", ".yml") or len(candidate.parts) > 1:
        if not candidate.is_file():
            raise PolicyNotFound(f"policy file '{id_or_path}' does not exist")
        return candidate
    d = Path(policies_dir) if policies_dir else default_policies_dir()
    path = d / f"{id_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(policy_ids(d)) or "none"
        raise PolicyNotFound(f"unknown policy '{id_or_path}' (known in {_display(d)}: {known})")
    return path


class Policy:
    """A checked, compiled policy ready to evaluate tickets, with all its editions.

    `compiled` is the current edition (the latest `effective_from`); older editions live in files
    `<id>@<effective_from>.yaml` beside it. A ticket is decided by the edition in force at its
    `created_at` (in the policy's time zone), unless `edition=` forces one.
    """

    def __init__(self, compiled, editions=()):
        self.compiled = compiled
        # (effective_from or "", compiled), oldest first; the current one included
        self.editions = sorted(editions or [(compiled.effective_from or "", compiled)], key=lambda e: e[0])

    @property
    def id(self):
        return self.compiled.id

    @property
    def version(self):
        return self.compiled.version

    @property
    def content_hash(self):
        return self.compiled.content_hash

    def edition_names(self) -> list[str]:
        return [name or "current" for name, _ in self.editions]

    def select(self, created_at: dt.datetime, edition: str | None = None):
        """The compiled edition for a ticket: forced by name, or the one in force at created_at."""
        if edition is not None:
            for name, compiled in self.editions:
                if edition in (name, compiled.version) or (edition == "current" and compiled is self.compiled):
                    return compiled, "forced"
            raise PolicyNotFound(f"policy '{self.id}' has no edition '{edition}' "
                                 f"(editions: {', '.join(self.edition_names())})", code="unknown-edition")
        if len(self.editions) == 1:
            return self.compiled, "only"
        day = created_at.astimezone(self.compiled.timezone).date().isoformat()
        chosen = None
        for name, compiled in self.editions:
            if not name or name <= day:
                chosen = compiled
        if chosen is None:
            return self.editions[0][1], "earliest"  # the ticket predates every edition
        return chosen, "in_force"

    def evaluate(self, ticket: dict, as_of=None, explain: bool = True, edition: str | None = None) -> dict:
        """Validate a ticket (decoded JSON) and decide it. Raises TicketError on a bad ticket."""
        return self.decide(validate_ticket(ticket), as_of, explain, edition)

    def evaluate_json(self, data, as_of=None, explain: bool = True, edition: str | None = None) -> dict:
        """Decode, validate and decide one ticket's JSON (bytes or text) in one step (msgspec when the ticket
        is valid). Raises json.JSONDecodeError (with line and column) or TicketError."""
        from slapolicy.decide.tickets import parse_ticket

        return self.decide(parse_ticket(data), as_of, explain, edition)

    def decide(self, normal: dict, as_of=None, explain: bool = True, edition: str | None = None) -> dict:
        """Decide a validated, normalised ticket (slapolicy.decide.tickets.validate_ticket)."""
        if isinstance(as_of, str):
            as_of = parse_timestamp(as_of)
        compiled, why = self.select(normal["created_at"], edition)
        decision = evaluate(compiled, normal, as_of=as_of, explain=explain)
        if len(self.editions) > 1 or edition is not None:
            decision["policy"]["edition"] = compiled.effective_from or "current"
            decision["policy"]["edition_chosen"] = why
        return decision


def parse_timestamp(text: str, field: str = "as_of") -> dt.datetime:
    """An RFC 3339 timestamp with a UTC offset -> an aware UTC datetime; InputError `invalid-parameter`
    (naming `field`) for anything else, including instants outside the years tickets may use."""
    from slapolicy.decide.tickets import YEARS

    problem = f"{text!r} is not an RFC 3339 timestamp with a UTC offset (e.g. 2026-03-10T11:00:00+02:00)"
    try:
        value = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        if value.tzinfo is None:
            raise InputError("invalid-parameter", f"{field}: {text!r} has no UTC offset", field)
        value = value.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError, TypeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("invalid-parameter", f"{field}: {problem}", field) from None
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise InputError("invalid-parameter", f"{field}: {text!r} is outside the years {YEARS[0]}-{YEARS[1]}", field)
    return value


_cache: dict = {}
_lock = threading.Lock()


def edition_files(path: Path) -> list[Path]:
    """The older editions of a policy file: `<id>@<effective_from>.yaml` beside it."""
    return sorted(path.parent.glob(f"{path.stem}@*.yaml"))


def load_policy(id_or_path: str, policies_dir=None) -> Policy:
    """Load, check and compile a policy and its editions (cached by path and content).

    Raises PolicyNotFound / PolicyError."""
    path = resolve_policy_path(str(id_or_path), policies_dir)
    files = [path] + (edition_files(path) if "@" not in path.stem else [])
    texts = []
    for f in files:
        try:
            texts.append((f, f.read_text("utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError([Diagnostic("unreadable", f"cannot read the file: {exc}",
                                          Span(_display(f), 1, 1, 1, 2))]) from None
    key = tuple((str(f.resolve()), hashlib.sha256(t.encode("utf-8")).hexdigest()) for f, t in texts)
    with _lock:
        hit = _cache.get(key[0][0])
    if hit is not None and hit[0] == key:
        return hit[1]
    compiled = [_compile_text(t, _display(f), cached=True) for f, t in texts]
    current = compiled[0]
    problems = []
    for f, c in zip(files[1:], compiled[1:]):
        if c.id != current.id:
            problems.append(Diagnostic("edition-id", f"edition file has id '{c.id}', expected '{current.id}'",
                                       Span(_display(f), 1, 1, 1, 2)))
        elif not c.effective_from or c.effective_from >= (current.effective_from or "9999"):
            problems.append(Diagnostic("edition-order", "an older edition needs an effective_from before the "
                                       f"current edition's ({current.effective_from})", Span(_display(f), 1, 1, 1, 2)))
    if problems:
        raise PolicyError(problems)
    policy = Policy(current, [(c.effective_from or "", c) for c in compiled])
    with _lock:
        _cache[key[0][0]] = (key, policy)  # one entry per policy file: an edited file replaces its old entry
    return policy


def decide_jsonl(policy: Policy, lines, first: int, origin: str, as_of=None, explain: bool = True,
                 edition: str | None = None) -> tuple:
    """JSON Lines (bytes lines) -> (decision records as JSON Lines bytes, messages for stderr, number of
    lines not decided); line numbers start at `first`. Every line gets a record: a decision or an error."""
    import json

    from slapolicy.decide.jsonio import dumps_bytes

    out, err, failed = [], [], 0
    for number, line in enumerate(lines, start=first):
        try:
            record = policy.evaluate_json(line.rstrip(b"\r\n"), as_of=as_of, explain=explain, edition=edition)
        except json.JSONDecodeError as exc:
            err.append(f"{origin}:{number}:{exc.colno}: error: json-syntax: {exc.msg}")
            record = {"line": number, "error": {"code": "json-syntax", "message": f"{exc.msg} at column {exc.colno}"}}
            failed += 1
        except TicketError as exc:
            err.append(exc.format(f"{origin}:{number}"))
            record = {"line": number, "error": exc.to_json()}
            failed += 1
        except Exception as exc:  # a defect must not lose the other lines: report it in place
            err.append(f"{origin}:{number}: internal error: {exc.__class__.__name__}: {exc}")
            record = {"line": number, "error": {"code": "internal-error", "message": f"{exc.__class__.__name__}: {exc}"}}
            failed += 1
        out.append(dumps_bytes(record))
    return b"".join(out), err, failed
