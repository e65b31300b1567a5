"""Review: slapolicy diff (thin over slapolicy.tools.diff)."""
from __future__ import annotations

import sys

import click
from slapolicy.commands.common import BAD_INPUT, _parse_as_of, _spark_module, as_of_option


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--corpus", "corpus_file", default=None,
              help="Tickets (JSON Lines; with --engine spark also Parquet, or object storage) to measure the impact on; "
                   "default: a generated corpus.")
@click.option("--n", "n", type=click.IntRange(1, 1_000_000), default=1000, show_default=True, help="Size of the generated corpus.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated corpus.")
@as_of_option
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Local processes deciding the corpus (results in corpus order).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="local: this machine (--workers processes); spark: Apache Spark (extra 'spark').")
@click.option("--master", default=None, help="With --engine spark: the master URL (default: spark-submit's, else local[*]).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
@click.option("--fail-on-impact", is_flag=True, help="Exit 1 if any ticket's decision changes (CI).")
def diff_cmd(old, new, corpus_file, n, seed, as_of, workers, engine, master, fmt, fail_on_impact):
    """What changes between two policies (files, directories, git revisions such as HEAD~1 or
    main:policies/advantshop.yaml), clause by clause, and what it does to tickets (SLA outcomes at
    --as-of, default now, for tickets with events). Corpus lines that are not tickets: exit 2."""
    import contextlib
    import os

    from slapolicy.tools.diff import RENDERERS, DiffError, any_errors, any_impact, diff

    when = _parse_as_of(as_of)
    if engine == "local" and corpus_file is not None and not os.path.isfile(corpus_file):
        click.echo(f"slapolicy diff: --corpus: '{corpus_file}' is not a file", err=True)
        sys.exit(BAD_INPUT)
    spark = _spark_module() if engine == "spark" else None
    try:
        with (spark.DiffEngine(master) if spark else contextlib.nullcontext()) as impact_fn:
            diffs = diff(old, new, corpus=corpus_file, n=n, seed=seed, as_of=when, workers=workers, impact_fn=impact_fn)
    except DiffError as exc:  # the Spark engine's errors too (an unreadable corpus)
        click.echo(f"slapolicy diff: {exc}", err=True)
        sys.exit(BAD_INPUT)
    click.echo(RENDERERS[fmt](diffs).rstrip("\n"))
    errors = any_errors(diffs)
    if errors:
        total = next(d.impact.errors for d in diffs if d.impact is not None and d.impact.errors)
        for e in errors:
            click.echo(e["message"], err=True)
        click.echo(f"slapolicy diff: {total} corpus line(s) are not tickets"
                   + (f" (the first {len(errors)} above)" if total > len(errors) else ""), err=True)
        sys.exit(BAD_INPUT)
    sys.exit(1 if fail_on_impact and any_impact(diffs) else 0)
