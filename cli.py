"""slapolicy command line: a thin click layer over engine.api.

Exit codes: 0 success; 1 tests failed / files would change; 2 bad input (unparseable JSON, a ticket
that violates the vocabulary, an unknown policy, an invalid policy file), with a message on stderr
naming the field or file:line:column. Heavy modules are imported inside the commands only.
"""
from __future__ import annotations

import json
import sys

import click

BAD_INPUT = 2


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _load_policy(policy: str, policies: str | None):
    from engine.api import PolicyError, PolicyNotFound, load_policy

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
    from engine.api import parse_timestamp

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
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"), default="-")
def evaluate(policy, policies, jsonl, as_of, edition, explain, file):
    """Decide one ticket (JSON object) or, with --jsonl, one ticket per line."""
    from engine.api import TicketError

    compiled = _load_policy(policy, policies)
    when = _parse_as_of(as_of)
    _check_edition(compiled, edition)
    origin = "<stdin>" if file.name in ("<stdin>", "-") else file.name
    if not jsonl:
        text = _read_input(file)
        try:
            ticket = json.loads(text)
        except json.JSONDecodeError as exc:
            click.echo(_json_error(origin, text, exc), err=True)
            sys.exit(BAD_INPUT)
        try:
            decision = compiled.evaluate(ticket, as_of=when, explain=explain, edition=edition)
        except TicketError as exc:
            click.echo(exc.format(origin), err=True)
            sys.exit(BAD_INPUT)
        click.echo(json.dumps(decision, ensure_ascii=False, indent=2))
        return
    failed = 0
    out = sys.stdout
    for number, line in enumerate(file, start=1):
        try:
            ticket = json.loads(line)
            record = compiled.evaluate(ticket, as_of=when, explain=explain, edition=edition)
        except json.JSONDecodeError as exc:
            failed += 1
            error = {"code": "json-syntax", "message": f"{exc.msg} at column {exc.colno}"}
            click.echo(f"{origin}:{number}:{exc.colno}: error: json-syntax: {exc.msg}", err=True)
            record = {"line": number, "error": error}
        except TicketError as exc:
            failed += 1
            click.echo(exc.format(f"{origin}:{number}"), err=True)
            record = {"line": number, "error": exc.to_json()}
        out.write(_dumps(record) + "\n")
    out.flush()
    if failed:
        sys.exit(BAD_INPUT)


@main.command()
@policy_option
@policies_option
@as_of_option
@edition_option
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"), default="-")
def explain(policy, policies, as_of, edition, file):
    """The decision for one ticket as readable text: why this tier, which clauses, what is missing."""
    from engine.api import TicketError
    from engine.explain import render_text

    compiled = _load_policy(policy, policies)
    _check_edition(compiled, edition)
    origin = "<stdin>" if file.name in ("<stdin>", "-") else file.name
    text = _read_input(file)
    try:
        ticket = json.loads(text)
    except json.JSONDecodeError as exc:
        click.echo(_json_error(origin, text, exc), err=True)
        sys.exit(BAD_INPUT)
    try:
        decision = compiled.evaluate(ticket, as_of=_parse_as_of(as_of), edition=edition)
    except TicketError as exc:
        click.echo(exc.format(origin), err=True)
        sys.exit(BAD_INPUT)
    click.echo(render_text(decision, compiled.compiled))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text")
@click.option("--warnings/--no-warnings", default=True, help="Show warnings too.")
def check(paths, fmt, warnings):
    """Validate and type-check policy files (default: the bundled policies). Exit 2 on errors."""
    from engine.api import check_paths, default_policies_dir

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
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--coverage", is_flag=True, help="Report the rules no test made fire.")
def test_cmd(paths, policies, fmt, coverage):
    """Run policy test files (*.tests.yaml; default: those beside the bundled policies)."""
    from engine.api import PolicyError, default_policies_dir
    from engine.testing import run_file, test_files

    files = test_files(paths or [default_policies_dir()])
    results, broken = [], 0
    for f in files:
        try:
            results.extend(run_file(f, policies))
        except PolicyError as exc:
            broken += 1
            click.echo(exc.format(), err=True)
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    if fmt == "json":
        click.echo(json.dumps([{"file": r.file, "line": r.line, "name": r.name, "policy": r.policy,
                                "passed": r.passed, "problems": r.problems} for r in results], ensure_ascii=False, indent=2))
    else:
        for r in results:
            if not r.passed:
                click.echo(f"FAIL {r.file}:{r.line}: {r.name}")
                for p in r.problems:
                    click.echo(f"    {p}")
        if coverage:
            from engine.coverage import rule_coverage

            for line in rule_coverage(results, policies):
                click.echo(line)
        click.echo(f"{passed} passed, {failed} failed")
    sys.exit(BAD_INPUT if broken else (1 if failed else 0))


@main.command()
@click.argument("which", type=click.Choice(["ticket", "policy"]))
def schema(which):
    """Print the JSON Schema of a ticket or of a policy file."""
    from engine.schema import schema_json

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

    from engine.watch import Watcher

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
# (engine/lint.py, engine/fmt.py, engine/diff.py, engine/render.py, engine/corpus.py)

# -- service (issue 6): engine/server.py ------------------------------------------------------

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
def serve(policies, host, port, max_body_bytes, decision_log, reload_interval, log_level, access_log):
    """Serve the evaluator over HTTP (POST /v1/policies/ID/evaluate; /openapi.json describes it all)."""
    from pathlib import Path

    try:
        from engine.server import serve as run
    except ImportError as exc:
        click.echo(f"slapolicy: the HTTP service needs its extra: pip install 'slapolicy[server]' ({exc})", err=True)
        sys.exit(BAD_INPUT)
    if policies is not None and not Path(policies).is_dir():
        click.echo(f"slapolicy: --policies: '{policies}' is not a directory", err=True)
        sys.exit(BAD_INPUT)
    try:
        run(policies, host, port, max_body_bytes=max_body_bytes, decision_log=decision_log,
            reload_interval=reload_interval, log_level=log_level, access_log=access_log)
    except OSError as exc:  # the decision log cannot be opened
        click.echo(f"slapolicy: {exc}", err=True)
        sys.exit(BAD_INPUT)


if __name__ == "__main__":
    main()
