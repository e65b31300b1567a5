"""What a start imports: the commands of slapolicy.commands.* are registered lazily (every one still reachable
by its name), and a one-ticket `evaluate` from a warm compile cache does not import the modules it does not
use (PyYAML, lark, jsonschema, the YAML loader, the checker, the vocabulary extensions, unknown facts, the
generated code: codegen and the fast path, which one decision does not run; the holidays package's data limits;
the standard library's calendar)."""
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from startprobe import run_cli

ROOT = Path(__file__).resolve().parents[1]


def test_every_command_module_command_is_reachable_by_its_name():
    from slapolicy.cli import main

    defined = {}
    for module in ("authoring", "operations", "review"):
        mod = importlib.import_module(f"slapolicy.commands.{module}")
        for value in vars(mod).values():
            if isinstance(value, click.Command) and value.name != "generate":  # corpus generate: a subcommand
                defined[value.name] = value
    ctx = click.Context(main)
    assert set(defined) <= set(main.list_commands(ctx))
    for name, command in defined.items():
        assert main.get_command(ctx, name) is command
    assert main.get_command(ctx, "no-such-command") is None
    assert {"evaluate", "explain", "serve"} <= set(main.list_commands(ctx))


_WATCHED = ("yaml", "lark", "jsonschema", "calendar", "slapolicy.commands.authoring", "slapolicy.commands.operations",
            "slapolicy.commands.review", "slapolicy.language.check", "slapolicy.language.parse", "slapolicy.language.load",
            "slapolicy.language.vocabulary", "slapolicy.decide.unknown", "slapolicy.language.codegen",
            "slapolicy.decide.fastpath", "slapolicy.calendar.holidata", "holidays")  # a warm start imports none of them


@pytest.mark.parametrize("explain", ["--explain", "--no-explain"])
def test_a_warm_one_ticket_evaluate_imports_only_what_it_uses(tmp_path, explain):
    env = {**os.environ, "SLAPOLICY_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("SLAPOLICY_NO_CACHE", None)
    args = ["evaluate", explain, "--policy", "bitrix-inc", str(ROOT / "samples" / "bitrix-inc.json")]
    first = run_cli(args, env, _WATCHED)
    assert first.returncode == 0, first.stderr
    warm = run_cli(args, env, _WATCHED)
    assert warm.returncode == 0, warm.stderr
    assert json.loads(warm.stdout) == json.loads(first.stdout)  # the cached policy decides as the checked one
    assert warm.stderr.split() == []


def test_expression_nodes_behave_as_frozen_dataclasses():
    """The tree's nodes are plain slotted classes (no dataclass generated at import): equal and hashed by class
    and fields, immutable, copied and pickled whole."""
    import copy
    import pickle

    from slapolicy.language import ast
    from slapolicy.language.parse import parse_expression

    tree = parse_expression('customer.segment == "partner" and created_at + 2 days > date(x) or not y in [1, 2.5]')
    again = parse_expression('customer.segment == "partner" and created_at + 2 days > date(x) or not y in [1, 2.5]')
    assert tree == again and hash(tree) == hash(again) and tree is not again
    assert tree != parse_expression('customer.segment == "partner" and created_at + 3 days > date(x) or not y in [1, 2.5]')
    assert ast.Literal((1, 1, 1, 2), 1, "number") != ast.Path((1, 1, 1, 2), ("x",))
    assert ast.Literal((1, 1, 1, 2), 1, "number") == ast.Literal(pos=(1, 1, 1, 2), value=1, type="number")
    assert repr(ast.Literal((1, 1, 1, 2), 1, "number")) == "Literal(pos=(1, 1, 1, 2), value=1, type='number')"
    assert str(ast.Duration(seconds=172800, text="2 days")) == "2 days"
    assert ast.Duration(months=12, text="1 year") == ast.Duration(12, 0.0, "1 year")
    for node in ast.walk(tree):
        assert not hasattr(node, "__dict__")
        with pytest.raises(AttributeError):
            node.pos = (9, 9, 9, 9)
    assert copy.deepcopy(tree) == tree and pickle.loads(pickle.dumps(tree)) == tree
    assert [type(n).__name__ for n in ast.walk(tree)][:3] == ["BoolOp", "BoolOp", "Compare"]


_GC_PROBE = """
import atexit, gc, sys
import slapolicy  # (the package itself is a library's: the CLI pauses the collector from its own import on)
starts = []
gc.callbacks.append(lambda phase, info: phase == "start" and starts.append(info["generation"]))
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, file=sys.stderr))  # runs after the CLI's
ran = []  # the collections counted when cli.py's module code starts (compiling its source may collect before)
sys.addaudithook(lambda event, args: event == "exec" and not ran
                 and getattr(args[0], "co_filename", "").endswith("cli.py") and ran.append(len(starts)))
import slapolicy.cli
print("import:", len(starts) - ran[0], gc.isenabled(), file=sys.stderr)
from slapolicy.commands.common import _load_policy
_load_policy("bitrix-inc", None)
print("load:", len(starts) - ran[0], gc.isenabled(), file=sys.stderr)
sys.argv = ["slapolicy", *sys.argv[1:]]
slapolicy.cli.main()
"""


def test_the_start_runs_no_collection_and_the_exit_traverses_nothing(tmp_path):
    """The cyclic collector is paused while click, the commands and the engine are imported and the policy is
    loaded (long-lived objects, no cycles), then on again; at exit what is alive is frozen, so the interpreter's
    last collections do not traverse it."""
    env = {**os.environ, "SLAPOLICY_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("SLAPOLICY_NO_CACHE", None)
    cmd = [sys.executable, "-c", _GC_PROBE, "evaluate", "--policy", "bitrix-inc", str(ROOT / "samples" / "bitrix-inc.json")]
    for _ in ("cold", "warm"):
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["tier"]
        (imported, on), (loaded, still_on), frozen = (line.split(": ")[1].split() for line in run.stderr.splitlines())
        assert int(imported) == 0, run.stderr  # none from cli.py's first line on (compiling it may collect)
        assert loaded == imported and on == still_on == "True" and frozen == ["True"], run.stderr
