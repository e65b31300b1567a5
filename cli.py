"""slapolicy command line: a thin click layer over slapolicy.api.

Exit codes: 0 success; 1 tests failed / files would change; 2 bad input (unparseable JSON, a ticket
that violates the vocabulary, an unknown policy, an invalid policy file), with a message on stderr
naming the field or file:line:column. Heavy modules are imported inside the commands only.

Installed, this file is `slapolicy.cli` (engine/cli.py links to it; pyproject.toml maps engine/ to the
package `slapolicy`). Run from a checkout as `python cli.py ...`, it first makes the checkout's engine/
the package `slapolicy`, so the same modules are never loaded under two names.
"""
from __future__ import annotations

import json
import sys

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

BAD_INPUT = 2


def _loads(text):
    from slapolicy.decide.jsonio import loads

    return loads(text)


def _dumps(obj) -> str:
    from slapolicy.decide.jsonio import dumps

    return dumps(obj)


def _load_policy(policy: str, policies: str | None):
    from slapolicy.api import PolicyError, PolicyNotFound, load_policy

    try:
        return load_policy(policy, policies)
    except PolicyNotFound as exc:
        click.echo(f"slapolicy: {exc}", err=True)
    except PolicyError as exc:
        click.echo(exc.format(), err=True)
    sys.exit(BAD_INPUT)


def _parse_as_of(as_of: str | None):
    if as_of is None:
        return None
    from slapolicy.api import parse_timestamp

    try:
        return parse_timestamp(as_of)
    except ValueError:
        click.echo(f"slapolicy: --as-of: {as_of!r} is not an RFC 3339 timestamp with a UTC offset", err=True)
        sys.exit(BAD_INPUT)


def _check_edition(policy, edition):
    if edition is not None and edition not in policy.edition_names() + [c.version for _, c in policy.editions] + ["current"]:
        click.echo(f"slapolicy: policy '{policy.id}' has no edition '{edition}' "
                   f"(editions: {', '.join(policy.edition_names())})", err=True)
        sys.exit(BAD_INPUT)


def _json_error(origin: str, text: str, exc: json.JSONDecodeError) -> str:
    return f"{origin}:{exc.lineno}:{exc.colno}: error: json-syntax: {exc.msg}"


def _read_input(stream) -> str:
    data = stream.read()
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="slapolicy", message="slapolicy %(version)s")
def main():
    """slapolicy: support regulations as policies; tickets get eligibility, tier, deadlines, delay reasons."""


policy_option = click.option("--policy", "policy", required=True, help="Policy id (in policies/ or --policies DIR) or path to a policy file.")
policies_option = click.option("--policies", "policies", type=click.Path(file_okay=False), default=None, help="Directory of policies (default: the bundled ones).")
edition_option = click.option("--edition", default=None, help="Force an edition (its effective_from date, or 'current'); default: the one in force at created_at.")
as_of_option = click.option("--as-of", "as_of", default=None, help="Evaluation time, RFC 3339 with offset (default: now).")


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
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="--jsonl: processes deciding chunks of lines (output in input order; default: the cores).")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"), default="-")
def evaluate(policy, policies, jsonl, as_of, edition, explain, backend, file, workers):
    """Decide one ticket (JSON object) or, with --jsonl, one ticket per line."""
    from slapolicy.api import TicketError

    compiled = _load_policy(policy, policies)
    when = _parse_as_of(as_of)
    _check_edition(compiled, edition)
    if backend == "durable":
        compiled = _durable_backend(compiled, policy, policies, when)
    if not jsonl:
        decision = _decide_one(compiled, file, when, edition, explain)
        click.echo(json.dumps(decision, ensure_ascii=False, indent=2))
        return
    origin = _origin(file)
    if backend == "python":
        if origin == "<stdin>":
            sys.exit(_jsonl_chunks(compiled, sys.stdin.buffer, origin, when, explain, edition, workers))
        with open(file.name, "rb") as stream:
            sys.exit(_jsonl_chunks(compiled, stream, origin, when, explain, edition, workers))
    failed = 0
    out = sys.stdout
    for number, line in enumerate(file, start=1):
        failed += 1  # until decided
        try:
            record = compiled.evaluate(_loads(line.rstrip("\r\n")), as_of=when, explain=explain, edition=edition)
            failed -= 1
        except json.JSONDecodeError as exc:
            click.echo(f"{origin}:{number}:{exc.colno}: error: json-syntax: {exc.msg}", err=True)
            record = {"line": number, "error": {"code": "json-syntax", "message": f"{exc.msg} at column {exc.colno}"}}
        except TicketError as exc:
            click.echo(exc.format(f"{origin}:{number}"), err=True)
            record = {"line": number, "error": exc.to_json()}
        except Exception as exc:  # a defect must not lose the other lines: report it in place
            click.echo(f"{origin}:{number}: internal error: {exc.__class__.__name__}: {exc}", err=True)
            record = {"line": number, "error": {"code": "internal-error", "message": f"{exc.__class__.__name__}: {exc}"}}
        out.write(_dumps(record) + "\n")
    out.flush()
    if failed:
        sys.exit(BAD_INPUT)


CHUNK = 2000  # lines a chunk (binary I/O, one write a chunk)


def _jsonl_chunks(compiled, stream, origin, when, explain, edition, workers) -> int:
    """--jsonl over binary chunks, decided by `workers` processes in input order; the exit code"""
    from slapolicy.api import decide_jsonl
    from slapolicy.decide.parallel import chunks, default_workers, ordered_map

    def decide(numbered):
        first, lines = numbered
        return decide_jsonl(compiled, lines, first, origin, when, explain, edition)

    numbered = ((1 + i * CHUNK, lines) for i, lines in enumerate(chunks(stream, CHUNK)))
    out, failed = sys.stdout.buffer, 0
    for data, messages, bad in ordered_map(decide, numbered, workers or default_workers()):
        for message in messages:
            click.echo(message, err=True)
        out.write(data)
        out.flush()
        failed += bad
    return BAD_INPUT if failed else 0


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


def _origin(file) -> str:
    return "<stdin>" if file.name in ("<stdin>", "-") else file.name


def _decide_one(compiled, file, when, edition, explain=True) -> dict:
    """Read one JSON ticket from `file` and decide it; a bad ticket exits 2 with a message."""
    from slapolicy.api import TicketError

    origin = _origin(file)
    text = _read_input(file)
    try:
        ticket = _loads(text)  # the same parser as --jsonl: the same messages
    except json.JSONDecodeError as exc:
        click.echo(_json_error(origin, text, exc), err=True)
        sys.exit(BAD_INPUT)
    try:
        return compiled.evaluate(ticket, as_of=when, explain=explain, edition=edition)
    except TicketError as exc:
        click.echo(exc.format(origin), err=True)
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
    decision = _decide_one(compiled, file, _parse_as_of(as_of), edition)
    click.echo(render_text(decision, compiled.compiled))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text")
@click.option("--warnings/--no-warnings", default=True, help="Show warnings too.")
def check(paths, fmt, warnings):
    """Validate and type-check policy files (default: the bundled policies). Exit 2 on errors."""
    from slapolicy.api import check_paths, default_policies_dir

    results = check_paths(paths or [default_policies_dir()])
    errors = 0
    records = []
    for result in results:
        for d in result.diagnostics:
            if d.severity != "error" and not warnings:
                continue
            errors += d.severity == "error"
            if fmt == "text":
                click.echo(d.format(result.text), err=d.severity == "error")
            elif fmt == "github":
                click.echo(f"::{d.severity} file={d.span.file},line={d.span.line},col={d.span.col},"
                           f"title={d.code}::{d.message}")
            records.append(d.to_json())
    if fmt == "json":
        click.echo(json.dumps({"files": [r.file for r in results], "diagnostics": records}, ensure_ascii=False, indent=2))
    elif fmt == "text":
        ok = len([r for r in results if not r.errors])
        click.echo(f"{len(results)} policy file(s) checked, {ok} ok, {errors} error(s)", err=bool(errors))
    sys.exit(BAD_INPUT if errors else 0)


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@policies_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit", "github"]), default="text",
              help="junit: JUnit XML for CI test reports; github: workflow annotations at each failing case.")
@click.option("--coverage", is_flag=True, help="Report, per policy, the rules no test made fire (and why).")
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None, metavar="N",
              help="Exit 1 if a policy's rule coverage is below N percent.")
def test_cmd(paths, policies, fmt, coverage, min_coverage):
    """Run policy test files (*.tests.yaml; default: those beside the bundled policies)."""
    from slapolicy.tools import testreport as report
    from slapolicy.api import PolicyError, default_policies_dir
    from slapolicy.tools.testing import run_file, test_files

    files = test_files(paths or [default_policies_dir()])
    results, broken = [], []
    for f in files:
        try:
            results.extend(run_file(f, policies))
        except PolicyError as exc:
            broken.append((str(f), exc.format()))
            if fmt == "text":
                click.echo(exc.format(), err=True)
    entries = None
    if coverage or min_coverage is not None:
        from slapolicy.tools.coverage import coverage_report

        entries = coverage_report(results, policies, explain_missed=coverage)
    if fmt == "github":
        click.echo(report.github(results, broken, entries, min_coverage))
    else:
        click.echo(report.FORMATS[fmt](results, broken, entries if (coverage or fmt != "text") else None))
    low = [e for e in entries or [] if min_coverage is not None and not e.get("error") and e["percent"] < min_coverage]
    for e in low:
        click.echo(f"slapolicy: rule coverage of {e['policy']} is {e['percent']:.1f}%, below --min-coverage "
                   f"{min_coverage:g}", err=True)
    failed = sum(not r.passed for r in results)
    sys.exit(BAD_INPUT if broken else (1 if failed or low else 0))


@main.command()
@click.argument("which", type=click.Choice(["ticket", "policy"]))
def schema(which):
    """Print the JSON Schema of a ticket or of a policy file."""
    from slapolicy.language.schema import schema_json

    click.echo(json.dumps(schema_json(which), ensure_ascii=False, indent=2))


@main.command()
@policy_option
@policies_option
@click.option("--replay", is_flag=True, help="Timers follow the events' time (deterministic); default: the wall clock.")
@click.option("--until", default=None, help="With --replay: at the end of the stream, let time run to this instant.")
@click.option("--warning", "warning_share", type=click.FloatRange(0.01, 0.99), default=0.8, show_default=True,
              help="Warn at this share of a target.")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"), default="-")
def watch(policy, policies, replay, until, warning_share, file):
    """Read a JSONL stream of ticket events; write JSONL alerts (warning, breach, relevelled)."""
    import datetime as dt

    from slapolicy.monitor.watch import Watcher

    compiled = _load_policy(policy, policies)
    end = _parse_as_of(until)
    out = sys.stdout

    def emit(alert):
        out.write(_dumps(alert) + "\n")
        out.flush()

    def on_error(number, message):
        click.echo(f"{file.name}:{number}: {message}", err=True)

    watcher = Watcher(compiled, warning_share, emit, on_error)
    if replay:
        for number, line in enumerate(file, start=1):
            watcher.feed_line(number, line, replay=True)
        if end is not None:
            watcher.advance(end)
        return
    import queue
    import threading

    lines: queue.Queue = queue.Queue()

    def reader():
        for number, line in enumerate(file, start=1):
            lines.put((number, line))
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    while True:
        now = dt.datetime.now(dt.timezone.utc)
        watcher.advance(now)
        wait = (watcher.heap[0][0] - now).total_seconds() if watcher.heap else 1.0
        try:
            item = lines.get(timeout=max(0.01, min(wait, 1.0)))
        except queue.Empty:
            continue
        if item is None:
            return
        watcher.feed_line(*item, replay=False)


# -- authoring and review tools (issue 4): each command is thin over its engine module ----------
# (engine/tools/lint/, engine/tools/fmt.py, engine/tools/diff.py, engine/tools/render.py, engine/tools/corpus.py)

@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text")
@click.option("--info/--no-info", "show_info", default=False,
              help="Text format: also show info findings (overlapping rules, topics left to the default rule).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.option("--max-tickets", type=click.IntRange(100), default=40_000, show_default=True,
              help="Enumerate the ticket space up to this size; sample (seeded) beyond it.")
def lint(paths, fmt, show_info, strict, max_tickets):
    """Find gaps, shadowed and overlapping rules, unclassified topics, tiers without targets, unused
    calendars and assumptions, by running the rules over the declared fact domains. Exit 1 on errors."""
    from slapolicy.api import default_policies_dir
    from slapolicy.tools.lint import lint_paths

    results = lint_paths(paths or [default_policies_dir()], limit=max_tickets)
    broken = [r for r in results if r.diagnostics]
    findings = [f for r in results for f in r.findings]
    if fmt == "json":
        click.echo(json.dumps({"files": [{"file": r.file, "analysis": r.stats,
                                          "check_errors": [d.to_json() for d in r.diagnostics],
                                          "findings": [f.to_json() for f in r.findings]} for r in results]},
                              ensure_ascii=False, indent=2, default=str))
    for r in results:
        for d in r.diagnostics:
            if fmt == "github":
                click.echo(f"::error file={d.span.file},line={d.span.line},col={d.span.col},title={d.code}::{d.message}")
            elif fmt == "text":
                click.echo(d.format(r.text), err=True)
        for f in r.findings:
            if fmt == "github":
                click.echo(f.github())
            elif fmt == "text" and (show_info or f.severity != "info"):
                click.echo(f.format(r.text))
    if fmt == "text":
        count = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
        hidden = "" if show_info or not count["info"] else " (--info shows them)"
        click.echo(f"{len(results)} policy file(s) linted: {count['error']} error(s), {count['warning']} warning(s), "
                   f"{count['info']} info{hidden}" + (f"; {len(broken)} file(s) do not check" if broken else ""))
    failing = any(f.severity == "error" or (strict and f.severity == "warning") for f in findings)
    sys.exit(BAD_INPUT if broken else (1 if failing else 0))


@main.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--check", is_flag=True, help="Change nothing; list the files that would change and exit 1 if any.")
@click.option("--stdout", "to_stdout", is_flag=True,
              help="Print the canonical form instead of writing (git textconv; a file that does not parse is printed as it is).")
def fmt_cmd(paths, check, to_stdout):
    """Canonical layout of policy files (comments kept, stable key order); rewrites them in place."""
    from pathlib import Path

    from slapolicy.api import default_policies_dir
    from slapolicy.tools.fmt import format_paths

    results = format_paths(paths or [default_policies_dir()])
    errors = would = 0
    for r in results:
        if r.error is not None:
            if to_stdout:
                click.echo(f"slapolicy fmt: {r.file}: not formatted: {r.error.diagnostics[0].message}", err=True)
                sys.stdout.write(r.text)
                continue
            errors += 1
            click.echo(r.error.format(), err=True)
            continue
        if to_stdout:
            sys.stdout.write(r.formatted)
        elif r.changed:
            would += 1
            if check:
                click.echo(f"would reformat {r.file}")
            else:
                Path(r.file).write_text(r.formatted, "utf-8")
                click.echo(f"reformatted {r.file}")
    if not to_stdout and not check:
        click.echo(f"{would} file(s) reformatted, {len(results) - would - errors} unchanged", err=True)
    elif check:
        click.echo(f"{would} file(s) would be reformatted, {len(results) - would - errors} already canonical", err=True)
    sys.exit(BAD_INPUT if errors else (1 if check and would else 0))


@main.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--corpus", "corpus_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Tickets (JSON Lines) to measure the impact on; default: a generated corpus.")
@click.option("--n", "n", type=click.IntRange(1, 1_000_000), default=1000, show_default=True, help="Size of the generated corpus.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated corpus.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
@click.option("--fail-on-impact", is_flag=True, help="Exit 1 if any ticket's decision changes (CI).")
def diff_cmd(old, new, corpus_file, n, seed, fmt, fail_on_impact):
    """What changes between two policies (files, directories, git revisions such as HEAD~1 or
    main:policies/advantshop.yaml), clause by clause, and what it does to tickets."""
    from slapolicy.tools.diff import RENDERERS, DiffError, any_impact, diff

    try:
        diffs = diff(old, new, corpus=corpus_file, n=n, seed=seed)
    except DiffError as exc:
        click.echo(f"slapolicy diff: {exc}", err=True)
        sys.exit(BAD_INPUT)
    click.echo(RENDERERS[fmt](diffs).rstrip("\n"))
    sys.exit(1 if fail_on_impact and any_impact(diffs) else 0)


@main.command()
@click.argument("policy", metavar="ID")
@policies_option
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None, help="Write to this file.")
def render(policy, policies, fmt, out):
    """The regulation as a readable document (Markdown or self-contained HTML) generated from the policy."""
    from pathlib import Path

    from slapolicy.tools.render import render as render_doc

    text = render_doc(_load_policy(policy, policies), fmt)
    if out:
        Path(out).write_text(text, "utf-8")
    else:
        sys.stdout.write(text)


@main.group()
def corpus():
    """Synthetic ticket corpora (for diff impact and benchmarks)."""


@corpus.command("generate")
@policy_option
@policies_option
@click.option("--n", "n", type=click.IntRange(1, 10_000_000), default=1000, show_default=True, help="Number of tickets.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same tickets.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None, help="JSON Lines file (default: stdout).")
def corpus_generate(policy, policies, n, seed, out):
    """Realistic tickets across the whole vocabulary, with edge times of the policy's calendars."""
    from slapolicy.tools.corpus import iter_tickets, write_jsonl

    tickets = iter_tickets(_load_policy(policy, policies), n, seed)  # streamed: memory flat in --n
    if out:
        with open(out, "w", encoding="utf-8") as stream:
            write_jsonl(tickets, stream)
    else:
        write_jsonl(tickets, sys.stdout)


# -- service (issue 6): engine/service/app.py ------------------------------------------------------

@main.command()
@policies_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--max-body-bytes", type=click.IntRange(1), default=1 << 20, show_default=True,
              help="Larger request bodies get 413.")
@click.option("--decision-log", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Append one JSON line per decision (request id, policy hash, ticket, decision).")
@click.option("--reload-interval", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Seconds between checks of the policy files for changes (0: no hot reload).")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="Log every request.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Server processes on the one port (uvicorn workers); each loads the policies.")
def serve(policies, host, port, max_body_bytes, decision_log, reload_interval, log_level, access_log, workers):
    """Serve the evaluator over HTTP (POST /v1/policies/ID/evaluate; /openapi.json describes it all)."""
    from pathlib import Path

    try:
        from slapolicy.service.app import serve as run
    except ImportError as exc:
        click.echo(f"slapolicy: the HTTP service needs its extra: pip install 'slapolicy[server]' ({exc})", err=True)
        sys.exit(BAD_INPUT)
    if policies is not None and not Path(policies).is_dir():
        click.echo(f"slapolicy: --policies: '{policies}' is not a directory", err=True)
        sys.exit(BAD_INPUT)
    try:
        run(policies, host, port, max_body_bytes=max_body_bytes, decision_log=decision_log,
            reload_interval=reload_interval, log_level=log_level, access_log=access_log, workers=workers)
    except OSError as exc:  # the decision log cannot be opened
        click.echo(f"slapolicy: {exc}", err=True)
        sys.exit(BAD_INPUT)


if __name__ == "__main__":
    main()
