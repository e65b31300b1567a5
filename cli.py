"""slapolicy command line: a thin click layer over slapolicy.api.

Exit codes: 0 success; 1 tests failed / files would change; 2 bad input (unparseable JSON, a ticket
that violates the vocabulary, an unknown policy, an invalid policy file), with a message on stderr
naming the field or file:line:column. Heavy modules are imported inside the commands only.

Installed, this file is `slapolicy.cli` (engine/cli.py links to it; pyproject.toml maps engine/ to the
package `slapolicy`). Run from a checkout as `python cli.py ...`, it first makes the checkout's engine/
the package `slapolicy`, so the same modules are never loaded under two names.
"""
from __future__ import annotations

import gc

_GC = gc.isenabled()
gc.disable()  # while click and the commands are imported: long-lived objects, no cycles (resumed at the end)

import json  # noqa: E402  (after the pause: json compiles its regular expressions)
import sys  # noqa: E402

if __name__ == "__main__":  # python cli.py in a checkout: this checkout's engine/ is `slapolicy`
    import importlib.util
    import os

    _engine = os.path.join(os.path.dirname(os.path.realpath(__file__)), "engine")
    if "slapolicy" not in sys.modules and os.path.isfile(os.path.join(_engine, "__init__.py")):
        _spec = importlib.util.spec_from_file_location("slapolicy", os.path.join(_engine, "__init__.py"),
                                                       submodule_search_locations=[_engine])
        sys.modules["slapolicy"] = _package = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_package)

import click

from slapolicy.commands.common import (BAD_INPUT, _check_edition, _dumps, _InputFile,  # noqa: E402
                                      _json_error, _load_policy, _loads, _origin, _parse_as_of, _read_input,
                                      _spark_module, as_of_option, edition_option, policies_option, policy_option)


class _Commands(click.Group):
    """The group of every command; those of slapolicy.commands.* are imported when one is run or listed
    (help), so `slapolicy evaluate` does not compile their modules at each start."""

    LAZY = {"check": "authoring:check", "test": "authoring:test_cmd", "schema": "authoring:schema",
            "init": "authoring:init", "lint": "authoring:lint", "lsp": "authoring:lsp_command",
            "fmt": "authoring:fmt_cmd", "render": "authoring:render", "corpus": "authoring:corpus",
            "diff": "review:diff_cmd", "watch": "operations:watch", "import": "operations:import_cmd",
            "report": "operations:report", "serve": "operations:serve"}

    def list_commands(self, ctx):
        return sorted(set(self.commands) | set(self.LAZY))

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.LAZY:
            import importlib

            module, attr = self.LAZY[name].split(":")
            self.add_command(getattr(importlib.import_module(f"slapolicy.commands.{module}"), attr), name)
        return self.commands.get(name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="slapolicy", message="slapolicy %(version)s")
def main():
    """slapolicy: support regulations as policies; tickets get eligibility, tier, deadlines, delay reasons."""
    _freeze_at_exit()


_FREEZING = []


def _freeze_at_exit():
    """At exit the interpreter's last collections traverse every object still alive (the modules, click, the
    policy), ~20 M instructions for a one-ticket evaluate, more than its decision; frozen first (gc.freeze), they
    are not traversed. Cycles alive at exit then stay unfinalized, which Python does not promise anyway (the
    commands close what they write: `with` blocks, click's files with their context; stdout is flushed)."""
    if not _FREEZING:
        import atexit

        atexit.register(gc.freeze)
        _FREEZING.append(True)


@main.command()
@policy_option
@policies_option
@click.option("--jsonl", is_flag=True, help="JSON Lines in, one decision (or error record) per line out.")
@as_of_option
@edition_option
@click.option("--explain/--no-explain", default=True, help="Include the explanation (rules fired, facts, assumptions).")
@click.option("--backend", type=click.Choice(["python", "durable"]), default="python", show_default=True,
              help="Executor: the engine, or the rules run as a durable-rules ruleset (extra 'durable'; "
                   "no explanation, missing facts or lifecycle).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True, is_eager=True,
              help="spark: decide INPUT (JSON Lines or Parquet, any Hadoop path) on Apache Spark into --output DIR "
                   "(extra 'spark'; docs/scale.md).")
@click.option("--master", default=None, help="With --engine spark: the master URL (default: spark-submit's, else local[*]).")
@click.option("--output", default=None, help="With --engine spark: the output directory (must not exist).")
@click.option("--output-format", type=click.Choice(["parquet", "jsonl"]), default="parquet", show_default=True,
              help="With --engine spark: Parquet (line, ticket_id, error, record) or JSON Lines parts (the records).")
@click.option("--input-format", type=click.Choice(["auto", "jsonl", "parquet"]), default="auto", show_default=True,
              help="With --engine spark: auto is Parquet for *.parquet, else JSON Lines.")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="--jsonl: processes deciding chunks of lines (output in input order; default: the cores).")
@click.option("--unknown-facts", "unknown_facts", is_flag=True,
              help="With the explanation: the missing facts ranked by what they could change (eligibility, tier, "
                   "...); it decides the ticket again for each value tried.")
@click.option("--why-not/--no-why-not", "why_not", default=True,
              help="With the explanation: the why_not block (failing conditions, nearest change of facts; most of "
                   "an explained decision's cost). --no-why-not leaves it out, the rest is the same.")
@click.argument("file", type=_InputFile("r", encoding="utf-8", errors="replace"), default="-")
def evaluate(policy, policies, jsonl, as_of, edition, explain, backend, engine, master, output, output_format,
             input_format, file, workers, unknown_facts, why_not):
    """Decide one ticket (JSON object) or, with --jsonl, one ticket per line."""
    compiled = _load_policy(policy, policies)
    from slapolicy.api import TicketError

    when = _parse_as_of(as_of)
    _check_edition(compiled, edition)
    if engine == "spark":
        _spark_evaluate(policy, policies, file, when, explain, edition, master, output, output_format, input_format,
                        why_not)
        return
    if backend == "durable":
        if unknown_facts:
            click.echo("slapolicy: --unknown-facts: the durable backend explains nothing; use --backend python", err=True)
            sys.exit(BAD_INPUT)
        why_not = True  # (nothing to leave out: the durable backend's decisions have no why_not)
        compiled = _durable_backend(compiled, policy, policies, when)
    if not jsonl:
        decision = _decide_one(compiled, file, when, edition, explain, unknown_facts, why_not)
        click.echo(json.dumps(decision, ensure_ascii=False, indent=2))
        return
    origin = _origin(file)
    if backend == "python":  # binary chunks, decided by --workers processes (slapolicy.api.decide_jsonl)
        if origin == "<stdin>":
            sys.exit(_jsonl_chunks(compiled, sys.stdin.buffer, origin, when, explain, edition, workers, unknown_facts,
                                   why_not))
        with open(file.name, "rb") as stream:
            sys.exit(_jsonl_chunks(compiled, stream, origin, when, explain, edition, workers, unknown_facts, why_not))
    from slapolicy.decide.jsonio import read_lines, too_large_line
    from slapolicy.language.diagnostics import InputError

    failed = 0
    out = sys.stdout
    for number, line in enumerate(read_lines(file), start=1):
        failed += 1  # until decided
        try:
            if line is None:
                raise too_large_line()
            record = compiled.evaluate(_loads(line.rstrip("\r\n")), as_of=when, explain=explain, edition=edition)
            failed -= 1
        except json.JSONDecodeError as exc:
            click.echo(f"{origin}:{number}:{exc.colno}: error: json-syntax: {exc.msg}", err=True)
            record = {"line": number, "error": {"code": "json-syntax", "message": f"{exc.msg} at column {exc.colno}"}}
        except TicketError as exc:
            click.echo(exc.format(f"{origin}:{number}"), err=True)
            record = {"line": number, "error": exc.to_json()}
        except InputError as exc:  # beyond an input limit (slapolicy.decide.jsonio)
            click.echo(f"{origin}:{number}: error: {exc.code}: {exc.message}", err=True)
            record = {"line": number, "error": exc.to_json()}
        except Exception as exc:  # a defect must not lose the other lines: report it in place
            click.echo(f"{origin}:{number}: internal error: {exc.__class__.__name__}: {exc!r}"[:2000], err=True)
            record = {"line": number, "error": {"code": "internal-error", "message": f"{exc.__class__.__name__}"}}
        out.write(_dumps(record) + "\n")
    out.flush()
    if failed:
        sys.exit(BAD_INPUT)


CHUNK = 1 << 20  # bytes of whole lines a chunk (binary I/O, no work per line in this process, one write a chunk)


def _jsonl_chunks(compiled, stream, origin, when, explain, edition, workers, unknown_facts=False, why_not=True) -> int:
    """--jsonl over binary chunks, decided by `workers` processes in input order; the exit code"""
    from slapolicy.api import decide_jsonl
    from slapolicy.decide.jsonio import lines_of, read_blocks
    from slapolicy.decide.parallel import default_workers, forked_map

    def decide(numbered):
        first, parts = numbered
        return decide_jsonl(compiled, lines_of(parts), first, origin, when, explain, edition, unknown_facts, why_not)

    out, failed = sys.stdout.buffer, 0
    workers = workers or default_workers()
    if workers > 1 and not explain:
        compiled.prepare()  # the forked workers inherit the generated function
    for data, messages, bad in forked_map(decide, read_blocks(stream, CHUNK), workers):
        for message in messages:
            click.echo(message, err=True)
        out.write(data)
        out.flush()
        failed += bad
    return BAD_INPUT if failed else 0


def _spark_evaluate(policy, policies, path, when, explain, edition, master, output, output_fmt, input_fmt,
                    why_not=True):
    """evaluate --engine spark: decisions and error records written to --output; exit 2 if any line is not a ticket."""
    spark = _spark_module()
    if not output or path == "-":
        click.echo("slapolicy: --engine spark needs --output DIR and an INPUT path (not stdin)", err=True)
        sys.exit(BAD_INPUT)
    try:
        result = spark.evaluate(master, spark.policy_sources(policy, policies), path, output, as_of=when,
                                explain=explain, edition=edition, input_fmt=input_fmt, output_fmt=output_fmt,
                                why_not=why_not)
    except spark.SparkJobError as exc:
        click.echo(f"slapolicy: {exc}", err=True)
        sys.exit(BAD_INPUT)
    for line, code, message in result["first_errors"]:
        click.echo(f"{path}:{line}: error: {code}: {message}", err=True)
    click.echo(f"slapolicy: {result['lines']} line(s) read on Spark, {result['lines'] - result['errors']} decided, "
               f"{result['errors']} not tickets (error records); written to {output} ({output_fmt})", err=True)
    if result["errors"]:
        sys.exit(BAD_INPUT)


def _durable_backend(compiled, policy, policies, when):
    """The policy as a durable-rules ruleset (engine/backends/durable/); exit 2 without the extra."""
    if when is not None:
        click.echo("slapolicy: --as-of: the durable backend decides without the lifecycle; use --backend python", err=True)
        sys.exit(BAD_INPUT)
    try:
        from slapolicy.backends.durable import DurableBackendError, DurablePolicy
    except ImportError as exc:  # the extra is not installed, or durable-rules does not load on this Python
        click.echo(f"slapolicy: --backend durable is not available: {exc}", err=True)
        sys.exit(BAD_INPUT)
    from slapolicy.api import edition_files, resolve_policy_path

    path = resolve_policy_path(policy, policies)
    try:
        return DurablePolicy(compiled, [path] + edition_files(path))
    except DurableBackendError as exc:
        click.echo(f"slapolicy: --backend durable: {exc}", err=True)
        sys.exit(BAD_INPUT)



def _decide_one(compiled, file, when, edition, explain=True, unknown_facts=False, why_not=True) -> dict:
    """Read one JSON ticket from `file` and decide it; a bad ticket exits 2 with a message."""
    from slapolicy.api import TicketError

    from slapolicy.decide.jsonio import MAX_DOCUMENT_CHARS
    from slapolicy.language.diagnostics import InputError

    origin = _origin(file)
    text = _read_input(file, MAX_DOCUMENT_CHARS + 1)
    try:
        ticket = _loads(text)  # the same parser as --jsonl: the same messages and limits
        if unknown_facts or not why_not:  # (the durable backend knows neither: it explains nothing)
            return compiled.evaluate(ticket, as_of=when, explain=explain, edition=edition, unknown_facts=unknown_facts,
                                     why_not=why_not)
        return compiled.evaluate(ticket, as_of=when, explain=explain, edition=edition)
    except json.JSONDecodeError as exc:
        click.echo(_json_error(origin, text, exc), err=True)
    except TicketError as exc:
        click.echo(exc.format(origin), err=True)
    except InputError as exc:
        click.echo(f"{origin}: error: {exc.code}: {exc.message}", err=True)
    sys.exit(BAD_INPUT)


@main.command()
@policy_option
@policies_option
@as_of_option
@edition_option
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"), default="-")
def explain(policy, policies, as_of, edition, file):
    """The decision for one ticket as readable text: why this tier, which clauses, what is missing."""
    from slapolicy.decide.explain import render_text

    compiled = _load_policy(policy, policies)
    _check_edition(compiled, edition)
    decision = _decide_one(compiled, file, _parse_as_of(as_of), edition, unknown_facts=True)
    click.echo(render_text(decision, compiled.compiled))


if _GC:  # the import's objects go to the oldest generation as they are (no traversal; as slapolicy.api does)
    gc.freeze()
    gc.unfreeze()
    gc.enable()

if __name__ == "__main__":
    main()
