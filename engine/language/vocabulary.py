"""The ticket vocabulary a policy sees: the contract's (the base) plus its extensions.

A policy repository may keep a `vocabulary.yaml` beside its policies, and a policy may have a
`vocabulary:` key; both have the shape of schemas/vocabulary.schema.json (extra `topics`, extra
`values` of other enum fields, new `fields` with a type and a description). They are merged onto
the bundled ticket schema, the repository's first, then the policy's. An extension adds and never
redefines: a base field or value named again is the diagnostic `vocabulary-redefines`.

The result is a `Vocabulary`: the merged ticket JSON Schema, the checker's type tree, and a `key`
("" for the base; else a digest of the merged schema) that validators and forms cache by. The
checker puts it in the CheckedPolicy and the compiler in the CompiledPolicy, so every later
stage (ticket validation, lint, the workbench form, the corpus) uses the policy's own vocabulary.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from slapolicy.language.diagnostics import ERROR, Diagnostic, PolicyError
from slapolicy.language.load import Loaded, load_yaml
from slapolicy.language.resources import VOCABULARY_FILE
from slapolicy.language.schema import describe_error, did_you_mean, schema_json, validator
from slapolicy.language.source import Span
from slapolicy.language.types import Type, _from_schema, vocabulary

_DATE = {"type": "string", "format": "date", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"}


@dataclass(frozen=True, eq=False)
class Vocabulary:
    schema: dict  # the merged ticket JSON Schema (do not mutate: it is shared)
    type: Type  # the type tree the checker resolves names against
    key: str = ""  # "" for the contract vocabulary; else a digest of the merged schema
    sources: tuple = ()  # the files whose extensions it holds
    fields: tuple = ()  # (dotted path, schema node) of the added fields, in order
    values: tuple = ()  # (dotted field, value) of the added enum values, in order

    @property
    def extended(self) -> bool:
        return bool(self.key)


@lru_cache(maxsize=None)
def base() -> Vocabulary:
    """The contract vocabulary (CONTRACT section 2), unextended."""
    return Vocabulary(schema_json("ticket"), vocabulary())


def _node(schema: dict, dotted: str):
    node = schema
    for part in dotted.split("."):
        node = (node.get("properties") or {}).get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def _paths(schema: dict, prefix: str = "") -> list[str]:
    out = []
    for name, sub in (schema.get("properties") or {}).items():
        dotted = f"{prefix}.{name}" if prefix else name
        out.append(dotted)
        if sub.get("type") == "object":
            out.extend(_paths(sub, dotted))
    return out


def _field_node(spec: dict) -> dict:
    kind = spec["type"]
    node: dict
    if kind == "enum":
        values = spec.get("values") or {}
        node = {"enum": list(values), "enumDescriptions": list(values.values())}
    elif kind == "object":
        node = {"type": "object", "additionalProperties": False, "properties": {}}
    elif kind == "date":
        node = dict(_DATE)
    elif kind == "timestamp":
        node = {k: v for k, v in base().schema["properties"]["created_at"].items() if k != "description"}
    else:
        node = {"type": kind}
        for bound in ("minimum", "maximum"):
            if bound in spec:
                node[bound] = spec[bound]
    node["description"] = spec["description"]
    return node


class _Merge:
    def __init__(self):
        self.schema = copy.deepcopy(base().schema)
        self.base_paths = set(_paths(base().schema))
        self.origin: dict = {}  # added field or (field, value) -> the file that added it
        self.fields: list = []
        self.values: list = []
        self.sources: list = []
        self.diags: list = []

    def add(self, data: dict, loaded: Loaded, prefix: tuple = ()):
        """Merge one extension (schema-valid data) located in `loaded` under `prefix`."""
        if not data:
            return
        self.sources.append(loaded.file)
        where = loaded.file
        fields = data.get("fields") or {}
        for dotted in sorted(fields, key=lambda d: d.count(".")):  # an object before its fields
            self.add_field(dotted, fields[dotted], loaded, prefix + ("fields", dotted), where)
        groups = [("topic", data.get("topics") or {}, prefix + ("topics",))]
        groups += [(f, vals, prefix + ("values", f)) for f, vals in (data.get("values") or {}).items()]
        for dotted, values, path in groups:
            self.add_values(dotted, values, loaded, path, where)

    def error(self, code, message, span, hint=None):
        self.diags.append(Diagnostic(code, message, span, ERROR, hint))

    def add_field(self, dotted, spec, loaded, path, where):
        parent_path, _, name = dotted.rpartition(".")
        parent = _node(self.schema, parent_path) if parent_path else self.schema
        span = loaded.key_span(path)
        if dotted in self.base_paths:
            self.error("vocabulary-redefines", f"'{dotted}' is a field of the contract vocabulary; an extension "
                       "adds fields and cannot redefine one", span)
            return
        if dotted in self.origin:
            self.error("vocabulary-redefines", f"'{dotted}' is already added by {self.origin[dotted]}", span)
            return
        if parent is None or parent.get("type") != "object":
            hint = did_you_mean(parent_path, [p for p in _paths(self.schema) if (_node(self.schema, p) or {}).get("type") == "object"])
            self.error("vocabulary-parent", f"'{dotted}': '{parent_path}' is not an object field of the ticket "
                       "vocabulary (add it first with type: object)", span, f"did you mean '{hint}'?" if hint else None)
            return
        kind = spec["type"]
        if (kind == "enum") != ("values" in spec):
            self.error("vocabulary-field", f"'{dotted}': " + ("a field of type enum needs `values`" if kind == "enum"
                                                             else f"`values` is for enum fields, not {kind}"), span)
            return
        if kind not in ("integer", "number") and ({"minimum", "maximum"} & set(spec)):
            self.error("vocabulary-field", f"'{dotted}': minimum / maximum are for integer and number fields", span)
            return
        parent.setdefault("properties", {})[name] = _field_node(spec)
        self.origin[dotted] = where
        self.fields.append((dotted, parent["properties"][name]))

    def add_values(self, dotted, values, loaded, path, where):
        node = _node(self.schema, dotted)
        if node is None:
            hint = did_you_mean(dotted, _paths(self.schema))
            self.error("vocabulary-unknown-field", f"'{dotted}' is not a ticket field", loaded.key_span(path),
                       f"did you mean '{hint}'?" if hint else None)
            return
        if "enum" not in node:
            self.error("vocabulary-not-enum", f"'{dotted}' is not an enum field: only enum fields take extra values",
                       loaded.key_span(path))
            return
        base_node = _node(base().schema, dotted) or {}
        for value, meaning in values.items():
            span = loaded.key_span(path + (value,))
            if value in (base_node.get("enum") or ()):
                self.error("vocabulary-redefines", f"'{value}' is already a value of '{dotted}' in the contract "
                           "vocabulary; an extension adds values and cannot redefine one", span)
                continue
            if (dotted, value) in self.origin or value in node["enum"]:
                self.error("vocabulary-redefines", f"'{value}' is already a value of '{dotted}' (added by "
                           f"{self.origin.get((dotted, value), self.origin.get(dotted, 'an extension'))})", span)
                continue
            node["enum"].append(value)
            if "enumDescriptions" in node:
                node["enumDescriptions"].append(meaning)
            else:
                node["description"] = (node.get("description") or "") + f"; {value}: {meaning}"
            self.origin[(dotted, value)] = where
            self.values.append((dotted, value))

    def result(self) -> Vocabulary:
        if not self.fields and not self.values:
            return base()
        key = hashlib.sha256(json.dumps(self.schema, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
        return Vocabulary(self.schema, _from_schema(self.schema), key, tuple(self.sources), tuple(self.fields),
                          tuple(self.values))


def validate_extension(data, loaded: Loaded, prefix: tuple = ()) -> list[Diagnostic]:
    """Schema diagnostics of extension data (a vocabulary file, or a policy's `vocabulary:`)."""
    out = []
    for err in validator("vocabulary").iter_errors(data):
        path, msg = describe_error(err)
        full = prefix + tuple(path)
        span = loaded.key_span(full[:-1]) if path and path[-1] == "#key" else loaded.span(full)
        out.append(Diagnostic("schema", msg, span))
    return out


# -- the repository's vocabulary.yaml ------------------------------------------------------------

_file_cache: dict = {}


def check_file(path) -> tuple[str, list[Diagnostic], Vocabulary, Loaded | None]:
    """(text, diagnostics, merged vocabulary, loaded) of a vocabulary file, checked as a policy is:
    YAML, the vocabulary schema, then the merge onto the contract vocabulary. Cached by content."""
    path = Path(path)
    file = _display(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return "", [Diagnostic("unreadable", f"cannot read the file: {exc}", Span(file, 1, 1, 1, 2))], base(), None
    key = (file, hashlib.sha256(text.encode("utf-8")).hexdigest())
    hit = _file_cache.get(key)
    if hit is None:
        hit = _check_text(text, file)
        _file_cache.clear() if len(_file_cache) > 64 else None
        _file_cache[key] = hit
    return hit


def _check_text(text: str, file: str):
    try:
        loaded = load_yaml(text, file)
    except PolicyError as exc:
        if exc.diagnostics and exc.diagnostics[0].code == "empty-policy":  # an empty file extends nothing
            return text, [], base(), None
        return text, list(exc.diagnostics), base(), None
    diags = validate_extension(loaded.data, loaded)
    if diags:
        return text, sorted(diags, key=Diagnostic.sort_key), base(), loaded
    merge = _Merge()
    merge.add(loaded.data, loaded)
    return text, sorted(merge.diags, key=Diagnostic.sort_key), merge.result() if not merge.diags else base(), loaded


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def repository_file(policy_file: str) -> Path | None:
    """The vocabulary file of the repository a policy file is in (beside it), if there is one."""
    p = Path(policy_file)
    if not p.is_file():  # a text that is not a file (stdin, a test, the workbench) has no repository
        return None
    candidate = p.parent / VOCABULARY_FILE
    return candidate if candidate.is_file() else None


def policy_vocabulary(loaded: Loaded, repository=None) -> tuple[Vocabulary, list[Diagnostic]]:
    """The vocabulary a (schema-valid) policy sees, and the diagnostics of its extensions. `repository`,
    (text, label) of a vocabulary file, stands for the file beside the policy (a git revision's, in diff)."""
    data = loaded.data if isinstance(loaded.data, dict) else {}
    repo = repository_file(loaded.file) if repository is None else repository[1]
    own = data.get("vocabulary")
    if repo is None and not own:
        return base(), []
    merge = _Merge()
    diags: list = []
    if repo is not None:
        _text, problems, _vocab, repo_loaded = check_file(repo) if repository is None else _check_text(*repository)
        errors = [d for d in problems if d.severity == ERROR]
        if errors:
            label = _display(repo) if repository is None else repo
            diags.append(Diagnostic("bad-vocabulary", f"the repository vocabulary {label} does not check "
                                    f"({len(errors)} error(s), first: {errors[0].span}: {errors[0].message}); "
                                    f"run slapolicy check {label}", loaded.span(("id",))))
        elif repo_loaded is not None:
            merge.add(repo_loaded.data, repo_loaded)
    if own:
        merge.add(own, loaded, ("vocabulary",))
    return merge.result(), diags + merge.diags
