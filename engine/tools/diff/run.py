"""The whole diff: both sides resolved and compiled, per policy its semantic changes and its impact."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from slapolicy.tools.diff.changes import Change, semantic_changes
from slapolicy.tools.diff.impact import Impact, corpus_lines, generated_corpus, impact
from slapolicy.tools.diff.sides import compile_side, resolve


@dataclass
class PolicyDiff:
    name: str
    old_label: str | None
    new_label: str | None
    changes: list = field(default_factory=list)
    impact: Impact | None = None

    def to_json(self) -> dict:
        return {"policy": self.name, "old": self.old_label, "new": self.new_label,
                "changes": [c.to_json() for c in self.changes],
                "impact": self.impact.to_json() if self.impact else None}


def local_impact(old_side, new_side, corpus, n, seed, as_of, workers=1, compiled=None,
                 repositories=(None, None)) -> Impact:
    """The local engine: the corpus file streamed (or a generated corpus), over `workers` processes."""
    if corpus:
        return impact(old_side, new_side, corpus_lines(corpus), str(corpus), as_of, workers, compiled=compiled,
                      repositories=repositories)
    a, b = compiled
    items = enumerate(generated_corpus(a, b, n, seed), start=1)
    return impact(old_side, new_side, items, f"generated corpus, seed {seed}", as_of, workers, compiled=compiled,
                  repositories=repositories)


def diff(old_spec: str, new_spec: str, corpus=None, n: int = 1000, seed: int = 0, cwd=None,
         as_of: dt.datetime | None = None, workers: int = 1, impact_fn=None) -> list[PolicyDiff]:
    """Semantic changes and impact of every policy of both sides.

    `as_of` is the instant lifecycle outcomes are taken at (default: now, once for the whole run);
    `impact_fn(old_side, new_side, corpus, n, seed, as_of, compiled=(old, new))` replaces the local
    engine (the Spark one: slapolicy.backends.spark.diff_impact)."""
    old_files = resolve(old_spec, new_spec, cwd)
    new_files = resolve(new_spec, old_spec, cwd)
    if len(old_files) == 1 and len(new_files) == 1:  # two single files: compare them whatever their names
        old_files[next(iter(new_files))] = old_files.pop(next(iter(old_files)))  # keeps `.vocabulary`
    old_c, new_c = compile_side(old_files), compile_side(new_files)
    as_of = as_of or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    out = []
    for name in list(new_c) + [k for k in old_c if k not in new_c]:
        a, b = old_c.get(name), new_c.get(name)
        pd = PolicyDiff(name, old_files[name][0] if a else None, new_files[name][0] if b else None)
        if a is None:
            pd.changes.append(Change("policy", f"policy '{name}' added"))
        elif b is None:
            pd.changes.append(Change("policy", f"policy '{name}' removed"))
        else:
            pd.changes = semantic_changes(a, b)
            if a.content_hash != b.content_hash:
                if impact_fn is not None:
                    pd.impact = impact_fn(old_files[name], new_files[name], corpus, n, seed, as_of, compiled=(a, b))
                else:
                    pd.impact = local_impact(old_files[name], new_files[name], corpus, n, seed, as_of, workers, (a, b),
                                             (getattr(old_files, "vocabulary", None), getattr(new_files, "vocabulary", None)))
        out.append(pd)
    return out


def any_impact(diffs) -> bool:
    return any(d.impact is not None and d.impact.changed for d in diffs)


def any_errors(diffs) -> list:
    """The corpus lines that could not be decided (the first ones), once per run."""
    for d in diffs:
        if d.impact is not None and d.impact.errors:
            return d.impact.error_examples
    return []
