"""Stage 1: load a policy's YAML safely, keeping the position of every value.

`load_yaml(text, file)` returns a `Loaded` with the plain data (dicts, lists, str, int, float,
bool, None; YAML dates become ISO strings) and `spans`, a map from a key path tuple such as
("tier_rules", 2, "when") to the Span of that value (and ("...", "#key") for the key itself).
Duplicate keys are errors, not silent overwrites.

Nothing in a policy file can make the loader amplify, execute or reach outside it (README "Input
limits", docs/diagnostics.md): anchors and aliases are refused before anything is expanded (test
files, which may share tickets through aliases, are capped at MAX_NODES built values); every tag
but the standard ones of plain data is refused; nesting is capped at MAX_DEPTH, integers at
MAX_INT_DIGITS digits; `.nan` / `.inf` are refused. `read_policy_file(path)` (slapolicy.language.files, with `Loaded`,
`ScalarInfo` and `expr_span`: re-exported here) is the one reader of policy and test files for every
command and the server: regular files only (a FIFO, a device or a
directory is refused without being opened for a blocking read), at most MAX_BYTES, UTF-8; a symlink
only to a regular file in the link's own directory tree (a ConfigMap-style `..data/` link works; a
link to /etc/passwd is refused and its content never read). A file that
is plain text (one scalar) is `not-a-policy`, reported without an excerpt of its text.
"""
from __future__ import annotations

import datetime as dt
import math

from slapolicy.language.diagnostics import Diagnostic, PolicyError
from slapolicy.language.files import (MAX_BYTES, Loaded, ScalarInfo, expr_span,  # noqa: F401 (re-exported)
                                      read_policy_file)
from slapolicy.language.source import Span

MAX_DEPTH = 64  # mappings / lists nested in a policy (the deepest bundled one is 6)
MAX_INT_DIGITS = 40
MAX_NODES = 500_000  # values built from one file: caps what aliases (test files only) may expand to
_STANDARD_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")}
# PyYAML is imported on the first load_yaml, not with this module: reading a policy file (read_policy_file)
# and a start from the compile cache (slapolicy.language.cache) do not need it (about 20 ms a start)


def _span(file: str, node) -> Span:
    s, e = node.start_mark, node.end_mark
    return Span(file, s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def _yaml():
    """PyYAML, and libyaml's safe loader when PyYAML was built with it (several times faster), else the
    pure-Python one"""
    import yaml

    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, file: str, allow_aliases: bool = False, test_file: bool = False) -> Loaded:
    """The file's data and spans; PolicyError with every problem. A policy is a mapping; a test file
    (`test_file`) a list of cases, and may share tickets through aliases (`allow_aliases`)."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise PolicyError([Diagnostic("file-too-large", f"policy file is larger than {MAX_BYTES} bytes",
                                      Span(file, 1, 1, 1, 2))])
    yaml, loader = _yaml()
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark else Span(file, 1, 1)
        raise PolicyError([Diagnostic("yaml-syntax", f"{exc.problem or exc.context}", span)], {file: text}) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Diagnostic("yaml-syntax", str(exc), Span(file, 1, 1, 1, 2))], {file: text}) from None
    except RecursionError:  # the pure-Python composer on deep nesting
        raise PolicyError([Diagnostic("yaml-too-deep", f"values are nested deeper than {MAX_DEPTH} levels",
                                      Span(file, 1, 1, 1, 2))]) from None
    loaded = Loaded(file, text, None)
    problems: list[Diagnostic] = []
    constructor = yaml.constructor.SafeConstructor()
    built = 0

    class _Stop(Exception):
        pass

    def build(node, path):
        nonlocal built
        built += 1
        if built > MAX_NODES:
            problems.append(Diagnostic("yaml-too-large", f"the file expands to more than {MAX_NODES} values "
                                       "(aliases repeat what they name)", _span(file, node)))
            raise _Stop
        if len(path) > MAX_DEPTH:
            problems.append(Diagnostic("yaml-too-deep", f"values are nested deeper than {MAX_DEPTH} levels",
                                       _span(file, node)))
            raise _Stop
        loaded.spans[path] = ScalarInfo(_span(file, node), getattr(node, "style", None))
        if node.tag not in _STANDARD_TAGS:
            problems.append(Diagnostic("yaml-tag", f"tag {node.tag} is not allowed in a policy (only plain data)",
                                       _span(file, node)))
            return None
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Diagnostic("yaml-key", "mapping keys must be plain text", _span(file, key_node)))
                    continue
                if key_node.tag not in _STANDARD_TAGS:
                    problems.append(Diagnostic("yaml-tag", f"tag {key_node.tag} is not allowed in a policy "
                                               "(only plain data)", _span(file, key_node)))
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
        if node.tag == "tag:yaml.org,2002:int":
            digits = sum(c.isdigit() or c in "abcdefABCDEF" for c in node.value)
            if digits > MAX_INT_DIGITS:
                problems.append(Diagnostic("yaml-number", f"an integer of {digits} digits; the limit is "
                                           f"{MAX_INT_DIGITS}", _span(file, node)))
                return None
        if node.tag == "tag:yaml.org,2002:str":  # what SafeConstructor.construct_yaml_str returns, without its call
            return node.value
        try:
            value = constructor.construct_object(node)
        except Exception as exc:  # noqa: BLE001 - 2026-02-30, `!!timestamp x` (AttributeError in PyYAML)
            problems.append(Diagnostic("yaml-value", f"cannot read this value: {str(exc).splitlines()[0][:200]}",
                                       _span(file, node)))
            return None
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Diagnostic("yaml-number", f"{node.value} is not a finite number", _span(file, node)))
            return None
        if isinstance(value, (dt.datetime, dt.date)):
            return value.isoformat()
        return value

    if node is None:
        raise PolicyError([Diagnostic("empty-policy", "the policy file is empty", Span(file, 1, 1, 1, 2))], {file: text})
    if isinstance(node, yaml.ScalarNode) or (test_file and not isinstance(node, yaml.SequenceNode)):
        # not a policy: no excerpt of its text (it may be any file a link or a typo pointed at)
        raise PolicyError([Diagnostic("test-file", "a test file is a list of cases", Span(file, 1, 1, 1, 2))]
                          if test_file else [Diagnostic("not-a-policy", "the file is plain text, not a YAML mapping of policy keys",
                                                        Span(file, 1, 1, 1, 2))])
    if not allow_aliases and "&" in text:  # (an alias needs an anchor: no "&", no alias)
        shared = _first_alias(node)
        if shared is not None:  # refused before anything is expanded
            raise PolicyError([Diagnostic("yaml-alias", "anchors and aliases are not allowed in a policy",
                                          _span(file, shared))], {file: text})
    try:
        loaded.data = build(node, ())
    except _Stop:
        pass
    except RecursionError:
        problems.append(Diagnostic("yaml-too-deep", f"values are nested deeper than {MAX_DEPTH} levels",
                                   Span(file, 1, 1, 1, 2)))
    if problems:
        raise PolicyError(problems, {file: text})
    return loaded


def _first_alias(root):
    """The first node reached twice (an alias), or None: they hide structure and allow billion laughs."""
    import yaml

    seen, stack = set(), [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            return n
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.extend((k, v))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return None
