"""Stage 1: load a policy's YAML safely, keeping the position of every value.

`load_yaml(text, file)` returns a `Loaded` with the plain data (dicts, lists, str, int, float,
bool, None; YAML dates become ISO strings) and `spans`, a map from a key path tuple such as
("tier_rules", 2, "when") to the Span of that value (and ("...", "#key") for the key itself).
Duplicate keys are errors, not silent overwrites.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import yaml
from slapolicy.language.diagnostics import Diagnostic, PolicyError
from slapolicy.language.source import Span

MAX_BYTES = 2_000_000
# libyaml's safe loader when PyYAML was built with it (several times faster), else the pure-Python one
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class ScalarInfo:
    span: Span
    style: str | None  # None plain, "'" / '"' quoted, "|" / ">" block


@dataclass
class Loaded:
    file: str
    text: str
    data: object
    spans: dict[tuple, ScalarInfo] = field(default_factory=dict)

    def span(self, path: tuple) -> Span:
        """The span of the value at `path`, or of its closest ancestor that has one."""
        path = tuple(path)
        while path:
            info = self.spans.get(path)
            if info is not None:
                return info.span
            path = path[:-1]
        info = self.spans.get(())
        return info.span if info else Span(self.file, 1, 1, 1, 2)

    def key_span(self, path: tuple) -> Span:
        info = self.spans.get(tuple(path) + ("#key",))
        return info.span if info else self.span(path)


def _span(file: str, node) -> Span:
    s, e = node.start_mark, node.end_mark
    return Span(file, s.line + 1, s.column + 1, e.line + 1, e.column + 1)


class _Builder(yaml.constructor.SafeConstructor):
    pass


def load_yaml(text: str, file: str, allow_aliases: bool = False) -> Loaded:
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise PolicyError([Diagnostic("file-too-large", f"policy file is larger than {MAX_BYTES} bytes",
                                      Span(file, 1, 1, 1, 2))], {file: text})
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark else Span(file, 1, 1)
        raise PolicyError([Diagnostic("yaml-syntax", f"{exc.problem or exc.context}", span)], {file: text}) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Diagnostic("yaml-syntax", str(exc), Span(file, 1, 1, 1, 2))], {file: text}) from None
    loaded = Loaded(file, text, None)
    problems: list[Diagnostic] = []
    constructor = _Builder()

    def build(node, path):
        loaded.spans[path] = ScalarInfo(_span(file, node), getattr(node, "style", None))
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Diagnostic("yaml-key", "mapping keys must be plain text", _span(file, key_node)))
                    continue
                key = key_node.value  # keys are text: `on:` stays "on", not YAML 1.1's True
                if key in out:
                    problems.append(Diagnostic("duplicate-key", f"key '{key}' appears twice in this mapping",
                                               _span(file, key_node)))
                    continue
                loaded.spans[path + (key, "#key")] = ScalarInfo(_span(file, key_node), key_node.style)
                out[key] = build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(child, path + (i,)) for i, child in enumerate(node.value)]
        return _scalar(node)

    def _scalar(node):
        if node.tag == "tag:yaml.org,2002:merge" or node.tag.startswith("!"):
            problems.append(Diagnostic("yaml-tag", f"tag {node.tag} is not allowed in a policy", _span(file, node)))
            return None
        value = constructor.construct_object(node)
        if isinstance(value, (dt.datetime, dt.date)):
            return value.isoformat()
        return value

    if node is None:
        raise PolicyError([Diagnostic("empty-policy", "the policy file is empty", Span(file, 1, 1, 1, 2))], {file: text})
    if not allow_aliases and _has_alias(node):
        problems.append(Diagnostic("yaml-alias", "anchors and aliases are not allowed in a policy", _span(file, node)))
    loaded.data = build(node, ())
    if problems:
        raise PolicyError(problems, {file: text})
    return loaded


def _has_alias(root) -> bool:
    """True if a node is shared (an alias): refuse them, they hide structure and allow billion laughs."""
    seen, stack = set(), [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            return True
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.extend((k, v))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return False
