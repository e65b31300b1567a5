"""Apache Spark as the scale-out engine (extra `spark`: pip install 'slapolicy[spark]'; Java 17+).

    slapolicy evaluate --policy ID --engine spark [--master URL] --output DIR INPUT
    slapolicy diff OLD NEW --corpus INPUT --engine spark [--master URL]

The policy travels as its text and is compiled once per executor process (worker.py); the driver
(job.py) reads the input with line numbers, runs `mapInArrow`, and writes decisions (Parquet or JSON
Lines parts) or adds up the diff's impact with the same tallies as the local engine. docs/scale.md
says how to run it on a cluster. Importing this package without pyspark raises ImportError.
"""
import pyspark  # noqa: F401 - the extra is missing: ImportError, and the CLI says how to install it

from slapolicy.backends.spark.job import (DiffEngine, SparkJobError, diff_impact, evaluate, evaluate_job, policy_sources, read_input,
                                        session)

__all__ = ["DiffEngine", "SparkJobError", "diff_impact", "evaluate", "evaluate_job", "policy_sources", "read_input", "session"]
