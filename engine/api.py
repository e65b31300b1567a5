"""The facade: load, check and evaluate policies. Used by the CLI, the server and the tests.

    from slapolicy.api import load_policy
    policy = load_policy("advantshop")              # an id (bundled policies/) or a path
    decision = policy.evaluate({"id": "T-1", ...}, as_of=None)

Compiled policies are cached by file path and content hash, immutable and safe to share between
threads; each evaluation uses its own state.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from slapolicy.decide.evaluate import evaluate
from slapolicy.decide.jsonio import MAX_DOCUMENT_CHARS, dumps_bytes, orjson, too_large_line
from slapolicy.decide.tickets import _one_step, parse_ticket, validate_ticket
from slapolicy.language.diagnostics import Diagnostic, InputError, PolicyError, PolicyNotFound, TicketError
from slapolicy.language.digest import sha256_hex, text_digest
from slapolicy.language.files import read_policy_file  # (language.load re-exports it; it brings the YAML loader)
from slapolicy.language.resources import VOCABULARY_FILE
from slapolicy.language.source import Span

if TYPE_CHECKING:
    from slapolicy.decide.decision import Decision
    from slapolicy.language.compile import CompiledPolicy

__all__ = ["load_policy", "check_file", "check_paths", "Policy", "PolicyError", "TicketError",
           "PolicyNotFound", "policy_ids", "resolve_policy_path", "parse_timestamp"]


class CheckResult:
    """the diagnostics of one checked file (a plain class: a dataclass costs every start ~1 ms)"""

    def __init__(self, file: str, text: str, diagnostics: list) -> None:
        self.file, self.text, self.diagnostics = file, text, diagnostics

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return (self.file, self.text, self.diagnostics) == (other.file, other.text, other.diagnostics)
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return f"CheckResult(file={self.file!r}, text={self.text!r}, diagnostics={self.diagnostics!r})"

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _compile_text(text: str, file: str, repository: tuple[str, str] | None = None,
                  cached: bool = False, text_sha: str | None = None) -> CompiledPolicy:
    """Run stages 1-5 on a policy text; raise PolicyError with every error found. `repository`: the
    (text, label) of the repository's vocabulary file, when it is not the file beside `file`; `cached`:
    the compile cache may answer (slapolicy.language.cache; only for a policy that reads no other file);
`text_sha`: the text's text_digest when the caller has it (load_policy: the text is hashed once).

    The cyclic garbage collector is paused meanwhile: compiling allocates many long-lived objects and
    nothing cyclic to free, and its full collections made the load of a large policy superlinear
    (5,000 rules: most of 13.8 s)."""
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        return _compile_text_now(text, file, repository, cached, text_sha)
    finally:
        if paused:
            # what was allocated meanwhile goes to the oldest generation as it is (freeze + unfreeze: no
            # traversal), instead of being traversed by the first young collection after gc.enable() (5,000
            # rules: 0.23 s of 2.2); it is examined at the next full collection, as any long-lived object
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _reads_other_files(text: str, file: str) -> bool:
    """A policy whose check reads more than its text (a vocabulary, an ICS holidays file): never cached,
    since the cache's key is the text alone."""
    beside = Path(file).parent / "vocabulary.yaml" if not file.startswith("<") else None  # language.vocabulary
    return ("vocabulary:" in text or "holidays_file" in text
            or (beside is not None and beside.exists()))


def _compile_text_now(text: str, file: str, repository, cached: bool, text_sha: str | None) -> CompiledPolicy:
    from slapolicy.language.compile import compile_policy

    cached = cached and repository is None and not _reads_other_files(text, file)
    if cached:  # the compile cache (slapolicy.language.cache): a checked policy as plain JSON, by content
        from slapolicy.language import cache

        text_sha = text_sha or text_digest(text)
        digest = text_sha[:16]  # the base vocabulary: no key

        checked = cache.fetch(text, file, text_sha)
        if checked is not None:
            return compile_policy(checked, digest)
    from slapolicy.language.check import check_policy
    from slapolicy.language.load import load_yaml
    from slapolicy.language.schema import validate_policy

    loaded = load_yaml(text, file)
    problems = validate_policy(loaded)
    if problems:
        raise PolicyError(problems, {file: text})
    try:
        checked = check_policy(loaded, repository=repository,
                               holiday_source=cache.holiday_store() if cached else None)  # (the entry's holidays)
        if checked.errors:
            raise PolicyError(checked.errors, {file: text})
        deep = limit_problems(checked)
        if deep:
            raise PolicyError(deep, {file: text})
        vocab_key = checked.vocabulary.key if checked.vocabulary is not None else ""
        digest = (sha256_hex((text + vocab_key).encode("utf-8")) if vocab_key  # its vocabulary is part of it
                  else text_sha or text_digest(text))[:16]
        if cached:
            cache.store(text_sha, file, checked)
        return compile_policy(checked, digest)
    except RecursionError:  # e.g. a chain of hundreds of definitions, each using the one before
        raise PolicyError([Diagnostic("policy-too-deep", "the policy nests too deeply to be checked (a chain of "
                                      "definitions or an expression that is hundreds of levels deep)",
                                      Span(file, 1, 1, 1, 2))], {file: text}) from None


MAX_DEFINITION_DEPTH = 100  # definitions resting on definitions; evaluation recurses once per level


def limit_problems(checked) -> list:
    """Diagnostics for a checked policy beyond the structural limits (a chain of definitions too long to
    evaluate without deep recursion); every pipeline that compiles a policy calls it after the checker."""
    deep = _too_deep_definition(checked)
    if deep is None:
        return []
    return [Diagnostic("definition-too-deep", f"definition '{deep}' rests on a chain of more than "
                       f"{MAX_DEFINITION_DEPTH} definitions", checked.loaded.key_span(("definitions", deep)))]


def _too_deep_definition(checked):
    """The first definition whose chain of definitions (each using the next) is longer than the limit."""
    direct = {}
    for path, expr in checked.exprs.items():
        if len(path) == 3 and path[0] == "definitions":
            direct[path[1]] = sorted({r[1] for r in expr.resolved.values() if r[0] == "def"})
    depth: dict = {}
    for root in direct:
        stack = [(root, False)]
        while stack:  # post-order without recursion; cycles were refused by the checker
            name, expanded = stack.pop()
            if name in depth:
                continue
            if expanded:
                depth[name] = 1 + max((depth.get(d, 0) for d in direct.get(name, ())), default=0)
                continue
            stack.append((name, True))
            stack.extend((d, False) for d in direct.get(name, ()) if d not in depth)
        if depth[root] > MAX_DEFINITION_DEPTH:
            return root
    return None


def compile_text(text: str, file: str = "<text>"):
    """Check and compile a policy text (e.g. an edition kept by the monitor store); PolicyError if it fails."""
    return _compile_text(text, file)


def check_text(text: str, file: str) -> CheckResult:
    try:
        compiled = _compile_text(text, file)
    except PolicyError as exc:  # excerpts only from the texts the error carries (none for a non-policy)
        return CheckResult(file, exc.texts.get(file, ""), exc.diagnostics)
    return CheckResult(file, text, sorted(compiled.warnings, key=Diagnostic.sort_key))


def check_file(path: str | os.PathLike[str]) -> CheckResult:
    path = Path(path)
    file = _display(path)
    if path.name == VOCABULARY_FILE:  # a repository's vocabulary extension (slapolicy.language.vocabulary)
        from slapolicy.language.vocabulary import check_file as check_vocabulary

        text, diagnostics, _vocab, _loaded = check_vocabulary(path)
        return CheckResult(file, text, diagnostics)
    try:
        text = read_policy_file(path, file)
    except PolicyError as exc:
        return CheckResult(file, "", exc.diagnostics)
    return check_text(text, file)


def policy_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Policy files named by `paths` (files or directories; tests and coverage files are skipped)."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.glob("*.yaml") if f.name.count(".") == 1 and f.name != VOCABULARY_FILE))
        else:
            out.append(p)
    return out


def vocabulary_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The repository vocabulary files (vocabulary.yaml) in the directories named by `paths`."""
    return [Path(p) / VOCABULARY_FILE for p in paths if Path(p).is_dir() and (Path(p) / VOCABULARY_FILE).is_file()]


def check_paths(paths: Iterable[str | os.PathLike[str]]) -> list[CheckResult]:
    """Check what `paths` hold and nothing else: their vocabulary files first, then their policy files."""
    return [check_file(p) for p in vocabulary_files(paths) + policy_files(paths)]


def default_policies_dir() -> Path:
    from slapolicy.language.resources import policies_dir

    return policies_dir()


def policy_ids(policies_dir: str | os.PathLike[str] | None = None) -> list[str]:
    d = Path(policies_dir) if policies_dir else default_policies_dir()
    return sorted(f.stem for f in d.glob("*.yaml") if f.name.count(".") == 1 and "@" not in f.stem
                  and f.name != VOCABULARY_FILE)


def resolve_policy_path(id_or_path: str, policies_dir: str | os.PathLike[str] | None = None) -> Path:
    candidate = Path(id_or_path)
    # a path has a YAML suffix or a directory part; a bare word is an id (a file named like an id in the
    # working directory must not replace the bundled policy)
    if candidate.suffix in (".yaml", ".yml") or len(candidate.parts) > 1:
        if not (candidate.exists() or candidate.is_symlink()) or candidate.is_dir():  # the safe reader refuses the rest
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

    def __init__(self, compiled: CompiledPolicy, editions: Iterable[tuple[str, CompiledPolicy]] = ()) -> None:
        self.compiled = compiled
        # (effective_from or "", compiled), oldest first; the current one included
        self.editions = sorted(editions or [(compiled.effective_from or "", compiled)], key=lambda e: e[0])

    @property
    def id(self) -> str:
        return self.compiled.id

    @property
    def version(self) -> str:
        return self.compiled.version

    @property
    def content_hash(self) -> str:
        return self.compiled.content_hash

    def edition_names(self) -> list[str]:
        return [name or "current" for name, _ in self.editions]

    def select(self, created_at: dt.datetime | None, edition: str | None = None) -> tuple[CompiledPolicy, str]:
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

    def prepare(self) -> None:
        """Build every edition's generated decision function now (otherwise built on a second unexplained
        decision): a parent calls it before forking workers, which then inherit it instead of each
        building its own."""
        from slapolicy.decide.evaluate import fast_decider

        for _, compiled in self.editions:
            fast_decider(compiled)

    def evaluate(self, ticket: Mapping[str, Any], as_of: str | dt.datetime | None = None, explain: bool = True,
                 edition: str | None = None, unknown_facts: bool = False, why_not: bool = True, *,
                 shared: bool = False) -> Decision:
        """Validate a ticket (decoded JSON) and decide it at `as_of` (default: now, for tickets with events).

        Raises TicketError (`invalid-ticket`) on a bad ticket, InputError (`invalid-parameter`) on a bad
        `as_of`, PolicyNotFound (`unknown-edition`) on an unknown edition. `unknown_facts` (with `explain`):
        the missing facts ranked by what they could change, which costs a re-decision per value tried.
        `why_not=False` (with `explain`): the explanation without its `why_not` block (its analyses are
        most of an explained decision's cost); the rest of the decision is the same. `shared`: see decide."""
        return self.decide(validate_ticket(ticket, self.compiled.vocabulary), as_of, explain, edition, unknown_facts,
                           why_not, shared=shared)

    def evaluate_json(self, data: bytes | str, as_of: str | dt.datetime | None = None, explain: bool = True,
                      edition: str | None = None, unknown_facts: bool = False, why_not: bool = True, *,
                      shared: bool = False) -> Decision:
        """Decode, validate and decide one ticket's JSON (bytes or text) in one step (msgspec when the ticket
        is valid and the vocabulary is the base one). Raises json.JSONDecodeError (with line and column),
        InputError (an input limit) or TicketError. `shared`: see decide."""
        return self.decide(parse_ticket(data, self.compiled.vocabulary), as_of, explain, edition, unknown_facts,
                           why_not, shared=shared)

    def decide(self, normal: dict, as_of: str | dt.datetime | None = None, explain: bool = True,
               edition: str | None = None, unknown_facts: bool = False, why_not: bool = True, *,
               shared: bool = False) -> Decision:
        """Decide a validated, normalised ticket (slapolicy.decide.tickets.validate_ticket).

        `shared=True` is for a caller that only serialises the decision with orjson and never changes it (the
        HTTP service, JSON Lines output): parts of the explanation kept from an earlier ticket (why_not's
        entries) are then orjson.Fragment objects, their JSON shared instead of copied, and an unexplained
        decision holds the policy's constant parts themselves, not copies; orjson.dumps gives the same bytes as
        without it (slapolicy.decide.shared.plain turns the fragments back into plain values)."""
        if isinstance(as_of, str):
            as_of = parse_timestamp(as_of)
        if edition is None and len(self.editions) == 1:  # (select's first answer, without the call)
            compiled, why = self.compiled, "only"
        else:
            compiled, why = self.select(normal["created_at"], edition)
        decision = evaluate(compiled, normal, as_of=as_of, explain=explain, unknown_facts=unknown_facts,
                            why_not=why_not, shared=shared)
        if len(self.editions) > 1 or edition is not None:
            decision["policy"]["edition"] = compiled.effective_from or "current"
            decision["policy"]["edition_chosen"] = why
        return cast("Decision", decision)


    def classify(self, ticket: Mapping[str, Any], edition: str | None = None) -> tuple[str, str | None]:
        """(eligibility status, tier id or None) of a ticket (decoded JSON), validated as evaluate validates it
        (the same TicketError), with the edition evaluate would choose (or `edition`).

        NOT a decision: no reasons, no missing facts, no deadlines, no assumptions, no explanation; acceptance
        stops at the first rule that refuses. It is the decision's status and tier id (the same answer, from one
        generated answer-only function, slapolicy.decide.classify): for routing and counting, not for telling
        a customer why."""
        return self.classify_validated(validate_ticket(ticket, self.compiled.vocabulary), edition)

    def classify_validated(self, normal: dict, edition: str | None = None) -> tuple[str, str | None]:
        """classify for a validated, normalised ticket (slapolicy.decide.tickets.validate_ticket): bulk use
        without validating again. NOT a decision (see classify)."""
        from slapolicy.decide.classify import classifier, reference

        if edition is None and len(self.editions) == 1:
            compiled = self.compiled
        else:
            compiled = self.select(normal["created_at"], edition)[0]
        fn = compiled.__dict__.get("_classify") or classifier(compiled)
        return fn(normal) if fn is not None else reference(compiled, normal)


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
    """The older editions of a policy file: `<id>@<effective_from>.yaml` beside it (listed, not globbed: a glob
    pattern is compiled to a regular expression at each start, and a `[` in the id would be read as one)."""
    prefix = f"{path.stem}@"
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    return sorted(path.parent / name for name in names if name.startswith(prefix) and name.endswith(".yaml"))


def load_policy(id_or_path: str | os.PathLike[str], policies_dir: str | os.PathLike[str] | None = None) -> Policy:
    """Load, check and compile a policy and its editions (cached by path and content).

    Raises PolicyNotFound / PolicyError."""
    path = resolve_policy_path(str(id_or_path), policies_dir)
    files = [path] + (edition_files(path) if "@" not in path.stem else [])
    texts = [(f, read_policy_file(f, _display(f))) for f in files]  # PolicyError if one cannot be read safely
    key = tuple((str(f.resolve()), text_digest(t)) for f, t in texts)  # (each text hashed here only)
    vocab_file = path.parent / VOCABULARY_FILE  # an edited repository vocabulary recompiles its policies
    if vocab_file.is_file():
        try:
            key += (("vocabulary", sha256_hex(vocab_file.read_bytes())),)
        except OSError:
            pass
    with _lock:
        hit = _cache.get(key[0][0])
    if hit is not None and hit[0] == key:
        return hit[1]
    compiled = [_compile_text(t, _display(f), cached=True, text_sha=sha) for (f, t), (_, sha) in zip(texts, key)]
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


def decide_line(policy: Policy, item, number: int, origin: str, as_of=None, explain: bool = True,
                edition: str | None = None, unknown_facts: bool = False, why_not: bool = True,
                shared: bool = False) -> tuple:
    """One JSON Lines line (bytes or text; None: longer than the input limit) or decoded ticket -> (the record
    `evaluate --jsonl` writes: a decision or {"line", "error"}, the message for stderr or None). Shared by
    the local engine (decide_jsonl) and the Spark engine, so both write the same records. (Nothing is imported
    in the functions on this path: in Python 3.11 a `from m import x` in a function costs ~0.6 us a call.)
    `shared`: the record is only serialised, by orjson (Policy.decide)."""
    try:
        if item is None:  # longer than the input limit (slapolicy.decide.jsonio.read_lines)
            raise too_large_line()
        if isinstance(item, (bytes, str)):
            item = item.rstrip(b"\r\n" if isinstance(item, bytes) else "\r\n")  # as evaluate_json does:
            return policy.decide(parse_ticket(item, policy.compiled.vocabulary), as_of, explain, edition,
                                 unknown_facts, why_not, shared=shared), None
        return policy.evaluate(item, as_of=as_of, explain=explain, edition=edition, unknown_facts=unknown_facts,
                               why_not=why_not, shared=shared), None
    except json.JSONDecodeError as exc:
        return ({"line": number, "error": {"code": "json-syntax", "message": f"{exc.msg} at column {exc.colno}"}},
                f"{origin}:{number}:{exc.colno}: error: json-syntax: {exc.msg}")
    except TicketError as exc:
        return {"line": number, "error": exc.to_json()}, exc.format(f"{origin}:{number}")
    except InputError as exc:  # beyond an input limit (slapolicy.decide.jsonio)
        return {"line": number, "error": exc.to_json()}, f"{origin}:{number}: error: {exc.code}: {exc.message}"
    except UnicodeDecodeError as exc:
        return ({"line": number, "error": {"code": "json-syntax", "message": f"not UTF-8 text ({exc.reason})"}},
                f"{origin}:{number}: error: json-syntax: not UTF-8 text ({exc.reason})")
    except Exception as exc:  # a defect must not lose the other lines: report it in place
        return ({"line": number, "error": {"code": "internal-error", "message": f"{exc.__class__.__name__}: {exc}"}},
                f"{origin}:{number}: internal error: {exc.__class__.__name__}: {exc}")


def decide_jsonl(policy: Policy, lines, first: int, origin: str, as_of=None, explain: bool = True,
                 edition: str | None = None, unknown_facts: bool = False, why_not: bool = True) -> tuple:
    """JSON Lines (bytes lines) -> (decision records as JSON Lines bytes, messages for stderr, number of
    lines not decided); line numbers start at `first`. Every line gets a record: a decision or an error."""
    out, err = [], []
    if explain or as_of is not None or edition is not None or len(policy.editions) != 1:
        for number, line in enumerate(lines, start=first):
            record, message = decide_line(policy, line, number, origin, as_of, explain, edition, unknown_facts,
                                          why_not, True)
            if message is not None:
                err.append(message)
            out.append(dumps_bytes(record))
        return b"".join(out), err, len(err)
    # unexplained, one edition, no as_of: a bytes line that decodes in one step into a ticket without events
    # is decided by the policy's generated function (slapolicy.decide.fastpath, its `shared` variant) directly,
    # once it is built (evaluate() builds it on the second decision); any other line (bad input, events, the
    # reference deciding, a str line) by decide_line. The records are the same either way: what evaluate()
    # returns for such a ticket is the generated decision with an empty explanation.
    compiled = policy.compiled
    vocabulary = compiled.vocabulary
    decode = None
    if (vocabulary is None or not vocabulary.key) and orjson is not None:
        decode = _one_step()[0]
    fast = _shared(compiled) if decode is not None else None
    dumps, newline = (orjson.dumps, orjson.OPT_APPEND_NEWLINE) if orjson is not None else (None, None)
    append = out.append
    for number, line in enumerate(lines, start=first):
        if fast is not None and line.__class__ is bytes and len(line) <= MAX_DOCUMENT_CHARS:
            try:
                t = decode(line.rstrip(b"\r\n"))
                if not t.get("events"):
                    decided = fast(t)  # (the decoder adds the defaults)
                    if decided is not None:  # (its explanation: empty, as evaluate() returns it)
                        append(dumps(decided[0], option=newline))
                        continue
            except Exception:  # (noqa: BLE001) not vouched for, or anything else: decide_line answers
                pass
        record, message = decide_line(policy, line, number, origin, as_of, explain, edition, unknown_facts,
                                      why_not, True)
        if message is not None:
            err.append(message)
        append(dumps_bytes(record))
        if fast is None and decode is not None:
            fast = _shared(compiled)
    return b"".join(out), err, len(err)


def _shared(compiled):
    """the generated decision function that puts the policy's constant fragments in its decisions (not
    copies: each is serialised at once), once evaluate() has built the generated function; else None"""
    fast = compiled.__dict__.get("_fast")
    return getattr(fast, "shared", None) if fast is not None else None
