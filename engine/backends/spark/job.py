"""The driver side of the Spark engine: the session, the input with line numbers, the two jobs.

    evaluate_job(spark, sources, input, output, ...)   decisions and error records, as Parquet or JSON Lines parts
    DiffEngine(master)                                 `diff --engine spark`: the impact figures of tools.diff

Input: JSON Lines (a file, a directory or a glob; any Hadoop file system: file://, s3a://, gs://, hdfs://)
or Parquet (rows that are tickets, or a string column `ticket` of ticket JSON).
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import os
import sys
from pathlib import Path

from slapolicy.backends.spark import worker
from slapolicy.tools.diff.sides import DiffError


class SparkJobError(Exception):
    """Bad input for a Spark job (a missing input, an existing output directory, ...)."""


# -- the session --------------------------------------------------------------------------------

def session(master: str | None = None, app: str = "slapolicy"):
    """(SparkSession, created): the active session if there is one (spark-submit, a test's), else a new one.

    A local master is kept small and private: no UI, loopback only, two shuffle partitions, and the
    executors' Python is this one. A cluster's settings come from spark-submit."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = SparkSession.builder.appName(app).config("spark.ui.showConsoleProgress", "false")
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # started by spark-submit: its master and settings
    if master:
        builder = builder.master(master)
    if (master or "").startswith("local") or (master is None and not submitted):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the JVM binds to loopback, not to a guessed interface
        builder = (builder.master(master or "local[*]").config("spark.ui.enabled", "false")
                   .config("spark.sql.shuffle.partitions", "2")
                   .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark, True


# -- the input ----------------------------------------------------------------------------------

def input_format(path: str, given: str = "auto") -> str:
    if given != "auto":
        return given
    p = Path(path)
    if path.rstrip("/").endswith(".parquet") or (p.is_dir() and any(p.glob("*.parquet"))):
        return "parquet"
    return "jsonl"


def read_input(spark, path: str, fmt: str = "auto"):
    """(DataFrame with the ticket columns and META, offsets {(file, partition): (lines before, first id)},
    the number of rows).

    The offsets come from one counting pass over the same scan; with them a row's line number in its
    file is computed on the executor (worker._rows)."""
    from pyspark.sql import functions as F
    from pyspark.sql.utils import AnalysisException

    fmt = input_format(path, fmt)
    try:
        if fmt == "parquet":
            df = spark.read.parquet(path)
            strings = [f.name for f in df.schema.fields if f.dataType.typeName() == "string"]
            if "ticket" in strings:
                df = df.select(F.col("ticket").alias(worker.TEXT))
        else:
            # with its newline, as Python reads a line: the same JSON error columns as the local engine
            df = spark.read.text(path).select(F.concat("value", F.lit("\n")).alias(worker.TEXT))
    except AnalysisException as exc:
        raise SparkJobError(f"cannot read '{path}' as {'Parquet' if fmt == 'parquet' else 'JSON Lines'}: "
                            f"{str(exc).splitlines()[0]}") from None
    df = df.select("*", F.col("_metadata.file_path").alias("__file"), F.spark_partition_id().alias("__pid"),
                   F.monotonically_increasing_id().alias("__mid"))
    counts = df.groupBy("__file", "__pid").agg(F.count(F.lit(1)).alias("n"), F.min("__mid").alias("first")).collect()
    offsets, seen = {}, {}
    for row in sorted(counts, key=lambda r: (r["__file"], r["__pid"])):
        before = seen.get(row["__file"], 0)
        offsets[(row["__file"], row["__pid"])] = (before, row["first"])
        seen[row["__file"]] = before + row["n"]
    return df, offsets, sum(seen.values())


def _sources_arg(sources):
    return [(str(label), str(text)) for label, text in sources]


# -- evaluate -----------------------------------------------------------------------------------

def evaluate_job(spark, sources, path: str, output: str, *, as_of=None, explain=True, edition=None,
                 input_fmt="auto", output_fmt="parquet", origin=None, why_not=True) -> dict:
    """Decide every line of `path`; write (line, ticket_id, error, record) rows to `output`.

    Returns {"lines", "errors", "first_errors": [(line, code, message)]}."""
    from pyspark.sql import functions as F
    from pyspark.sql.utils import AnalysisException

    df, offsets, lines = read_input(spark, path, input_fmt)
    options = {"as_of": as_of.isoformat() if as_of else None, "explain": explain, "edition": edition,
               "why_not": why_not}
    fn = functools.partial(worker.evaluate_batches, _sources_arg(sources), options, offsets)
    out = df.mapInArrow(fn, worker.EVALUATE_DDL)
    try:
        if output_fmt == "jsonl":
            out.select("record").write.mode("errorifexists").text(output)
            back = (spark.read.text(output).select(F.col("value").alias("record"))
                    .where(F.col("record").startswith('{"line":'))
                    .select(F.get_json_object("record", "$.line").cast("long").alias("line"), "record"))
        else:
            out.write.mode("errorifexists").parquet(output)
            back = spark.read.parquet(output).where(F.col("error").isNotNull()).select("line", "record")
    except AnalysisException as exc:
        raise SparkJobError(f"cannot write '{output}': {str(exc).splitlines()[0]}") from None
    errors = back.count()
    first = [json.loads(r["record"]) for r in back.orderBy("line").limit(10).collect()]
    return {"lines": lines, "errors": errors, "origin": origin or path,
            "first_errors": [(e["line"], e["error"]["code"], e["error"].get("message")) for e in first]}


def evaluate(master, sources, path: str, output: str, **options) -> dict:
    """evaluate_job in a session of its own (stopped at the end), or in the active one (left running)."""
    spark, created = session(master, "slapolicy evaluate")
    try:
        return evaluate_job(spark, sources, path, output, **options)
    finally:
        if created:
            spark.stop()


# -- diff ---------------------------------------------------------------------------------------

def diff_impact(spark, old_side, new_side, corpus: str, as_of: dt.datetime, origin=None):
    """tools.diff.Impact of one policy pair over a corpus, computed on Spark, equal to the local engine's."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from slapolicy.tools.diff.impact import EXAMPLES, ERROR_EXAMPLES, ImpactBuilder

    df, offsets, _ = read_input(spark, corpus)
    files = {f for f, _ in offsets}
    fn = functools.partial(worker.compare_batches, _sources_arg([old_side])[0], _sources_arg([new_side])[0],
                           (origin or corpus) if len(files) <= 1 else None, as_of.isoformat(), offsets)
    rows = df.mapInArrow(fn, worker.DIFF_DDL).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        builder = ImpactBuilder(str(origin or corpus), as_of)
        # the executors' partial tallies (worker.compare_batches), merged: sums, minima, the earliest lines
        tallies: dict = {}
        for r in (rows.where("kind in ('g', 'l')").groupBy("kind", "label", "seconds")
                  .agg(F.sum("n").alias("count"), F.min("line").alias("first")).collect()):
            count, first, histogram = tallies.get((r["kind"], r["label"]), (0, r["first"], []))
            if r["seconds"] is not None:
                histogram.append((r["seconds"], int(r["count"])))
            tallies[(r["kind"], r["label"])] = (count + int(r["count"]), min(first, r["first"]), histogram)
        small = rows.where("kind in ('n', 'x', 'e')").collect()  # a few rows per partition
        examples: dict = {}
        for r in sorted(small, key=lambda r: (r["line"] is None, r["line"] or 0)):
            if r["kind"] == "n":
                setattr(builder, r["label"], getattr(builder, r["label"]) + int(r["n"]))
            elif r["kind"] == "x":
                kind, _, name = r["label"].partition(":")
                if len(examples.setdefault((kind, name), [])) < EXAMPLES:
                    examples[(kind, name)].append(r["tid"])
            elif len(builder.error_lines) < ERROR_EXAMPLES:
                builder.error_lines.append({"line": r["line"], "message": r["label"]})
        for (kind, name), (count, first, histogram) in tallies.items():
            builder.merge(kind, name, count, examples.get((kind, name), []), first, histogram)
        return builder.finish()
    finally:
        rows.unpersist()


class DiffEngine:
    """`with DiffEngine(master) as impact_fn: tools.diff.diff(..., impact_fn=impact_fn)`; the session is
    started on the first impact and stopped at the end if this engine started it."""

    def __init__(self, master=None):
        self.master, self.spark, self.created = master, None, False

    def __enter__(self):
        return self.impact

    def impact(self, old_side, new_side, corpus, n, seed, as_of, compiled=None):
        if self.spark is None:
            self.spark, self.created = session(self.master, "slapolicy diff")
        if corpus is None:  # a generated corpus: made here, decided on Spark like any other
            corpus = self._generated(compiled, n, seed)
            origin = f"generated corpus, seed {seed}"
        else:
            origin = corpus
        try:
            return diff_impact(self.spark, old_side, new_side, corpus, as_of, origin)
        except SparkJobError as exc:
            raise DiffError(str(exc)) from None

    def _generated(self, compiled, n, seed):
        import tempfile

        from slapolicy.tools.corpus import write_jsonl
        from slapolicy.tools.diff.impact import generated_corpus

        self._tmp = getattr(self, "_tmp", None) or tempfile.TemporaryDirectory(prefix="slapolicy-diff-")
        path = os.path.join(self._tmp.name, f"corpus-{seed}-{n}-{len(os.listdir(self._tmp.name))}.jsonl")
        with open(path, "w", encoding="utf-8") as stream:
            write_jsonl(generated_corpus(compiled[0], compiled[1], n, seed), stream)
        return path

    def __exit__(self, *exc):
        if self.spark is not None and self.created:
            self.spark.stop()
        if getattr(self, "_tmp", None) is not None:
            self._tmp.cleanup()
        return False


def policy_sources(policy: str, policies_dir=None) -> list:
    """[(label, text)] of a policy and its older editions, as api.load_policy reads them (the current first)."""
    from slapolicy.api import _display, edition_files, resolve_policy_path

    path = resolve_policy_path(policy, policies_dir)
    files = [path] + (edition_files(path) if "@" not in path.stem else [])
    return [(_display(f), f.read_text("utf-8")) for f in files]
