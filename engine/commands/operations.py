"""Operations: watch (the live monitor), import (helpdesk adapters), report (SLA attainment), serve (HTTP)."""
from __future__ import annotations

import sys

import click
from slapolicy.commands.common import (
    BAD_INPUT,
    _dumps,
    _load_policy,
    _origin,
    _parse_as_of,
    as_of_option,
    policies_option,
    policy_option,
)


def store_options(store_help: str, sink_help: str):
    """--store, --sink and --webhook-secret (the durable monitor's options of watch and serve)"""
    options = (click.option("--store", "store_url", default=None, metavar="URL", help=store_help),
               click.option("--sink", "sinks", multiple=True, metavar="SPEC", help=sink_help),
               click.option("--webhook-secret", envvar="SLAPOLICY_WEBHOOK_SECRET", default=None,
                            help="HMAC key of the webhook signature header (env SLAPOLICY_WEBHOOK_SECRET)."))

    def apply(fn):
        for option in reversed(options):  # so that --help lists them in this order
            fn = option(fn)
        return fn
    return apply


@click.command()
@policy_option
@policies_option
@click.option("--replay", is_flag=True, help="Timers follow the events' time (deterministic); default: the wall clock.")
@click.option("--until", default=None, help="With --replay: at the end of the stream, let time run to this instant.")
@click.option("--warning", "warning_share", type=click.FloatRange(0.01, 0.99), default=0.8, show_default=True,
              help="Warn at this share of a target.")
@store_options("Keep the clocks in a store (sqlite:///file.db, postgresql://...): crash-safe, idempotent "
               "events, alert ids (docs/monitor.md). Default: in memory.",
               "With --store: where alerts go: stdout (default), http(s)://URL (a webhook), exec:COMMAND. Repeatable.")
@click.option("--recalculate", is_flag=True,
              help="With --store: re-apply every open ticket's stored history under the current policy, then exit.")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"), default="-")
def watch(policy, policies, replay, until, warning_share, store_url, sinks, webhook_secret, recalculate, file):
    """Read a JSONL stream of ticket events; write JSONL alerts (warning, breach, relevelled)."""
    import datetime as dt

    from slapolicy.monitor.durable import alert_key

    compiled = _load_policy(policy, policies)
    end = _parse_as_of(until)
    if store_url is not None:
        from slapolicy.monitor.run import run_watch

        sys.exit(run_watch(compiled, store_url, file, replay=replay, until=end, warning_share=warning_share,
                           sinks=sinks, secret=webhook_secret, recalculate=recalculate))
    if sinks or recalculate:
        click.echo("slapolicy: --sink and --recalculate need --store", err=True)
        sys.exit(BAD_INPUT)
    from slapolicy.monitor.watch import Watcher

    out = sys.stdout

    def emit(alert):
        out.write(_dumps({**alert, "id": alert_key(alert)}) + "\n")
        out.flush()

    def on_error(number, message):
        click.echo(f"{_origin(file)}:{number}: {message}", err=True)

    watcher = Watcher(compiled, warning_share, emit, on_error)
    if replay:
        for number, line in enumerate(file, start=1):
            watcher.feed_line(number, line, replay=True)
        if end is not None:
            watcher.advance(end)
        return
    from slapolicy.monitor.run import follow

    follow(file, watcher.advance, lambda: watcher.heap[0][0] if watcher.heap else None,
           lambda number, line: watcher.feed_line(number, line, replay=False),
           lambda: dt.datetime.now(dt.timezone.utc))


@click.command("import")
@click.option("--from", "fmt", type=click.Choice(["zendesk", "jsm", "bitrix"]), required=True,
              help="The helpdesk the export comes from.")
@click.option("--mapping", "mapping_file", type=click.Path(dir_okay=False), default=None,
              help="Mapping file (default: the bundled one for --from; format in docs/adapters.md).")
@click.option("--check", "check_only", is_flag=True, help="Only check the mapping (located errors, exit 2 if any).")
@click.argument("source", metavar="INPUT", type=click.Path(exists=True), required=False)
def import_cmd(fmt, mapping_file, check_only, source):
    """A helpdesk export (directory or records file) as tickets, one JSON line per record (errors in place)."""
    from slapolicy.tools.adapters.cli import run_import

    sys.exit(run_import(fmt, mapping_file, source, check_only, sys.stdout, lambda m: click.echo(m, err=True)))


@click.command()
@policy_option
@policies_option
@as_of_option
@click.option("--by", type=click.Choice(["month", "week"]), default="month", show_default=True,
              help="Period of created_at, in the policy's time zone.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "html"]), default="text", show_default=True)
@click.option("--facts", "facts_file", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the fact table (one row per ticket and target): FILE.csv, or FILE.parquet (pyarrow).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None, help="Write to this file.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a TTY).")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"), default="-")
def report(policy, policies, as_of, by, fmt, facts_file, out, progress, file):
    """SLA attainment of tickets.jsonl: per period, tier and target, breaches, charts (docs/reports.md)."""
    import datetime as dt
    from pathlib import Path

    from slapolicy.tools.report.cli import Progress, make_report, render, write_facts

    compiled = _load_policy(policy, policies)
    when = _parse_as_of(as_of) or dt.datetime.now(dt.timezone.utc)
    lines = file.readlines()
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(sum(1 for line in lines if line.strip()), sys.stderr) if show else None
    result = make_report(compiled, lines, when, by, bar)
    if bar is not None:
        bar.close()
    for bad in result.invalid[:20]:
        click.echo(f"{_origin(file)}:{bad['line']}: error: {bad['error']['code']}: {bad['error']['message']}", err=True)
    try:
        text = render(result, compiled, fmt)
        if facts_file:
            write_facts(result, facts_file)
    except ImportError as exc:
        click.echo(f"slapolicy report: needs the report extra: pip install 'slapolicy[report]' ({exc})", err=True)
        sys.exit(BAD_INPUT)
    if out:
        Path(out).write_text(text, "utf-8")
    else:
        sys.stdout.write(text)
    sys.exit(BAD_INPUT if result.invalid else 0)


# -- service (issue 6): engine/service/app.py ------------------------------------------------------

@click.command()
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
@click.option("--base-url", default=None, metavar="URL",
              help="Start of the workbench's share links, e.g. https://sla.example.com (default: the bind address).")
@click.option("--timeout-keep-alive", type=click.FloatRange(0.1), default=5.0, show_default=True,
              help="Seconds an idle keep-alive connection stays open.")
@click.option("--header-timeout", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds a client has to send a request's headers (slow clients are closed).")
@click.option("--body-timeout", type=click.FloatRange(0.1), default=30.0, show_default=True,
              help="Seconds a client has to send a request's body (else 408).")
@click.option("--limit-concurrency", type=click.IntRange(1), default=1000, show_default=True,
              help="Connections beyond this many are answered 503.")
@store_options("The live monitor's store (sqlite:///file.db, postgresql://...): enables POST /v1/events, "
               "GET /v1/tickets/ID/clocks, GET /v1/at-risk (docs/monitor.md).",
               "With --store: deliver alerts to stdout, http(s)://URL (webhook) or exec:COMMAND. Repeatable.")
@click.option("--reports-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="The workbench's Reports page may read tickets files (*.jsonl) under this directory.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Server processes on the one port (uvicorn workers); each loads the policies.")
def serve(policies, host, port, max_body_bytes, decision_log, reload_interval, log_level, access_log, base_url,
          timeout_keep_alive, header_timeout, body_timeout, limit_concurrency, store_url, sinks, webhook_secret,
          reports_dir, workers):
    """Serve the evaluator over HTTP (POST /v1/policies/ID/evaluate; /openapi.json describes it all)."""
    from pathlib import Path

    try:
        from slapolicy.service.app import serve as run
    except ImportError as exc:
        click.echo(f"slapolicy: the HTTP service needs its extra: pip install 'slapolicy[server]' ({exc})", err=True)
        sys.exit(BAD_INPUT)
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        click.echo(f"slapolicy: --base-url: {base_url!r} is not an http:// or https:// URL", err=True)
        sys.exit(BAD_INPUT)
    if policies is not None and not Path(policies).is_dir():
        click.echo(f"slapolicy: --policies: '{policies}' is not a directory", err=True)
        sys.exit(BAD_INPUT)
    try:
        run(policies, host, port, max_body_bytes=max_body_bytes, decision_log=decision_log,
            reload_interval=reload_interval, log_level=log_level, access_log=access_log, base_url=base_url,
            timeout_keep_alive=timeout_keep_alive, header_timeout=header_timeout, body_timeout=body_timeout,
            limit_concurrency=limit_concurrency,
            monitor_store=store_url, monitor_sinks=sinks, webhook_secret=webhook_secret, reports_dir=reports_dir,
            workers=workers)
    except OSError as exc:  # the decision log cannot be opened
        click.echo(f"slapolicy: {exc}", err=True)
        sys.exit(BAD_INPUT)
    except ValueError as exc:  # --store / --sink (StoreError is one)
        click.echo(f"slapolicy: --store/--sink: {exc}", err=True)
        sys.exit(BAD_INPUT)
