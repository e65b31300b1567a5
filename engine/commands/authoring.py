"""Authoring commands: check, test, schema, init, lint, lsp, fmt, render, corpus (thin over slapolicy.tools)."""
from __future__ import annotations

import json
import sys

import click
from slapolicy.commands.common import BAD_INPUT, _load_policy, policies_option, policy_option


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              help="json: one finding record each (code, severity, message, file, line, column, rule); "
                   "sarif: SARIF 2.1.0 for code scanning.")
@click.option("--warnings/--no-warnings", default=True, help="Show warnings too.")
def check(paths, fmt, warnings):
    """Validate and type-check policy files and vocabulary files (vocabulary.yaml) in PATHS (default: the
    bundled policies). Exit 2 on errors."""
    from slapolicy.api import check_paths, default_policies_dir
    from slapolicy.tools import findings as report

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
            records.append(d)
    if fmt == "json":
        click.echo(json.dumps({"files": [r.file for r in results], "diagnostics": [d.to_json() for d in records],
                               "findings": [report.from_diagnostic(d) for d in records]}, ensure_ascii=False, indent=2))
    elif fmt == "sarif":
        click.echo(json.dumps(report.sarif([report.from_diagnostic(d) for d in records]), ensure_ascii=False, indent=2))
    elif fmt == "text":
        ok = len([r for r in results if not r.errors])
        click.echo(f"{len(results)} policy file(s) checked, {ok} ok, {errors} error(s)", err=bool(errors))
    sys.exit(BAD_INPUT if errors else 0)


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@policies_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit", "github"]), default="text",
              help="junit: JUnit XML for CI test reports; github: workflow annotations at each failing case.")
@click.option("--coverage", is_flag=True, help="Report, per policy, the rules no test made fire (and why).")
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None, metavar="N",
              help="Exit 1 if a policy's rule coverage is below N percent.")
def test_cmd(paths, policies, fmt, coverage, min_coverage):
    """Run policy test files (*.tests.yaml; default: those beside the bundled policies)."""
    from slapolicy.api import PolicyError, default_policies_dir
    from slapolicy.tools import testreport as report
    from slapolicy.tools.testing import run_file, test_files

    files = test_files(paths or [policies or default_policies_dir()])  # what the paths hold, nothing else
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


@click.command()
@click.argument("which", type=click.Choice(["ticket", "policy", "vocabulary"]))
@click.option("--policy", "policy", default=None,
              help="ticket: the policy's merged vocabulary (its repository's vocabulary.yaml and its own `vocabulary:`).")
@policies_option
@click.option("--write", "write", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the schema to this file (where a `# yaml-language-server: $schema=` line points).")
def schema(which, policy, policies, write):
    """Print the JSON Schema of a ticket, a policy file or a vocabulary file (vocabulary.yaml)."""
    from slapolicy.language.schema import schema_json

    if policy is not None and which != "ticket":
        click.echo("slapolicy schema: --policy goes with 'ticket' (the policy's merged ticket vocabulary)", err=True)
        sys.exit(BAD_INPUT)
    doc = _load_policy(policy, policies).compiled.vocabulary.schema if policy is not None else schema_json(which)
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if write:
        from pathlib import Path

        Path(write).parent.mkdir(parents=True, exist_ok=True)
        Path(write).write_text(text + "\n", "utf-8")
        click.echo(f"wrote {write}", err=True)
    else:
        click.echo(text)


@click.command()
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--id", "policy_id", required=True, help="Id of the first policy (lower case, digits, '_', '-').")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone of the support desk.")
@click.option("--holidays", default="none", show_default=True,
              help="Public holidays of the calendar: a `holidays` package country code (DE, RU, US-CA...), or none.")
def init(directory, policy_id, timezone, holidays):
    """A policy repository of one's own: a policy, its tests, a vocabulary, a README, pre-commit and CI;
    `check`, `lint` and `test` pass in it at once."""
    from slapolicy.language.diagnostics import InputError
    from slapolicy.tools.scaffold import init as scaffold

    try:
        written = scaffold(directory, policy_id, timezone, holidays)
    except InputError as exc:
        click.echo(f"slapolicy init: {exc}", err=True)
        sys.exit(BAD_INPUT)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: cd {directory} && slapolicy check . && slapolicy lint . && slapolicy test .", err=True)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              help="json: per file, and one finding record each under `findings`; sarif: SARIF 2.1.0.")
@click.option("--info/--no-info", "show_info", default=False,
              help="Text format: also show info findings (overlapping rules, topics left to the default rule).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.option("--max-tickets", type=click.IntRange(100), default=40_000, show_default=True,
              help="Enumerate the ticket space up to this size; sample (seeded) beyond it.")
def lint(paths, fmt, show_info, strict, max_tickets):
    """Find gaps, shadowed and overlapping rules, unclassified topics, tiers without targets, unused
    calendars and assumptions, by running the rules over the declared fact domains. Exit 1 on errors."""
    from slapolicy.api import default_policies_dir
    from slapolicy.tools import findings as report
    from slapolicy.tools.lint import lint_paths

    results = lint_paths(paths or [default_policies_dir()], limit=max_tickets)
    broken = [r for r in results if r.diagnostics]
    findings = [f for r in results for f in r.findings]
    records = [report.from_diagnostic(d) for r in results for d in r.diagnostics] + [report.from_lint(f) for f in findings]
    if fmt == "json":
        click.echo(json.dumps({"files": [{"file": r.file, "analysis": r.stats,
                                          "check_errors": [d.to_json() for d in r.diagnostics],
                                          "findings": [f.to_json() for f in r.findings]} for r in results],
                               "findings": records},
                              ensure_ascii=False, indent=2, default=str))
    elif fmt == "sarif":
        click.echo(json.dumps(report.sarif(records), ensure_ascii=False, indent=2, default=str))
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


@click.command("lsp")
def lsp_command():
    """Run the language server for policy files on stdin / stdout (diagnostics, completion, navigation,
    hover; docs/editor.md). Needs the `lsp` extra (pygls)."""
    try:
        from slapolicy.tools.lsp.server import serve
    except ImportError as exc:
        click.echo(f"error: slapolicy lsp needs pygls ({exc}): pip install 'slapolicy[lsp]'", err=True)
        sys.exit(2)
    serve()


@click.command("fmt")
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


@click.command()
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


@click.group()
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
