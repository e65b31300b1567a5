"""Both sides of a diff: policy files, directories or git revisions, read and compiled."""
from __future__ import annotations

import subprocess
from collections import OrderedDict
from pathlib import Path

VOCABULARY = "vocabulary.yaml"  # a side's repository vocabulary (slapolicy.language.vocabulary): `.vocabulary`


class DiffError(Exception):
    """Bad input: a side that cannot be read, compiled, or found in git."""


def _git(args, cwd) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiffError(f"git is not available: {exc}") from None
    if proc.returncode != 0:
        raise DiffError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"git {' '.join(args)} failed")
    return proc.stdout


def _is_revision(spec: str, cwd) -> bool:
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], cwd)
        return True
    except DiffError:
        return False


def _policy_name(name: str) -> bool:
    return name.endswith(".yaml") and name.count(".") == 1 and name != VOCABULARY


def _read_path(path: Path) -> "OrderedDict[str, tuple[str, str]]":
    from slapolicy.api import _display

    out: OrderedDict = OrderedDict()
    files = sorted(p for p in path.glob("*.yaml") if _policy_name(p.name)) if path.is_dir() else [path]
    from slapolicy.language.diagnostics import PolicyError
    from slapolicy.language.load import read_policy_file

    vocab = (path if path.is_dir() else path.parent) / VOCABULARY
    for f in files + ([vocab] if vocab.is_file() else []):
        try:
            out[f.stem] = (_display(f), read_policy_file(f, _display(f)))  # the one safe reader
        except PolicyError as exc:
            raise DiffError(exc.diagnostics[0].format()) from None
    if vocab.is_file():
        out.vocabulary = out.pop(vocab.stem)[::-1]
    return out


def _read_rev(rev: str, path: str, cwd) -> "OrderedDict[str, tuple[str, str]]":
    rel = path if path.startswith("./") or path.startswith("/") else "./" + path
    if rel.startswith("/"):
        top = _git(["rev-parse", "--show-toplevel"], cwd).strip()
        try:
            rel = str(Path(rel).resolve().relative_to(Path(top).resolve()))
        except ValueError:
            raise DiffError(f"'{path}' is not inside the git repository {top}") from None
        if rel == ".":  # the repository's top: `rev:` names its tree
            rel = ""
    kind = _git(["cat-file", "-t", f"{rev}:{rel}"], cwd).strip()
    out: OrderedDict = OrderedDict()
    if kind == "tree":
        # --full-tree: from a subdirectory, ls-tree would otherwise filter the tree by that subdirectory
        names = _git(["ls-tree", "--full-tree", "--name-only", f"{rev}:{rel}"], cwd).split()
        inside = f"{rel.rstrip('/')}/" if rel else ""
        for name in sorted(n for n in names if _policy_name(n)):
            out[name[:-5]] = (f"{rev}:{inside}{name}", _git(["show", f"{rev}:{inside}{name}"], cwd))
        if VOCABULARY in names:
            out.vocabulary = (_git(["show", f"{rev}:{inside}{VOCABULARY}"], cwd), f"{rev}:{inside}{VOCABULARY}")
        return out
    name = Path(path).name
    out[name[:-5] if name.endswith(".yaml") else name] = (f"{rev}:{rel}", _git(["show", f"{rev}:{rel}"], cwd))
    inside = f"{Path(rel).parent.as_posix()}/"
    if VOCABULARY in _git(["ls-tree", "--full-tree", "--name-only", f"{rev}:{inside}"], cwd).split():
        out.vocabulary = (_git(["show", f"{rev}:{inside}{VOCABULARY}"], cwd), f"{rev}:{inside}{VOCABULARY}")
    return out


def resolve(spec: str, other: str | None = None, cwd=None) -> "OrderedDict[str, tuple[str, str]]":
    """policy name -> (label, text) for one side of a diff."""
    from slapolicy.api import _display, default_policies_dir

    cwd = cwd or Path.cwd()
    path = Path(spec)
    if path.exists():
        return _read_path(path)
    if ":" in spec and not Path(spec.split(":", 1)[0]).exists():
        rev, _, sub = spec.partition(":")
        if not _is_revision(rev or "HEAD", cwd):
            raise DiffError(f"'{rev}' is not a git revision (in '{spec}')")
        return _read_rev(rev or "HEAD", sub or ".", cwd)
    if _is_revision(spec, cwd):
        if other is not None and Path(other).exists():
            return _read_rev(spec, _display(Path(other)) if not Path(other).is_absolute() else other, cwd)
        if other is not None and ":" in other:
            return _read_rev(spec, other.partition(":")[2], cwd)
        here = Path(cwd).resolve()  # a policy repository of one's own (slapolicy init), else the bundled policies
        mine = any(_policy_name(p.name) for p in here.glob("*.yaml"))
        return _read_rev(spec, str(here if mine else default_policies_dir().resolve()), cwd)  # absolute: from any cwd
    raise DiffError(f"'{spec}' is neither a policy file, a directory nor a git revision")


def compile_side(files) -> "OrderedDict[str, object]":
    from slapolicy.api import _compile_text
    from slapolicy.language.diagnostics import PolicyError

    out: OrderedDict = OrderedDict()
    repository = getattr(files, "vocabulary", None)
    for name, (label, text) in files.items():
        try:
            out[name] = _compile_text(text, label, repository)
        except PolicyError as exc:
            raise DiffError(exc.format()) from None
    return out
