"""`slapolicy report`: the command's work, kept out of the click layer (cli.py)."""
from __future__ import annotations

import json
import time

from slapolicy.tools.report.aggregate import build_report
from slapolicy.tools.report.formats import render_csv, render_html, render_json, render_text, write_facts


def read_tickets(lines):
    """(line number, ticket or the JSON error) for each non-blank line of a tickets.jsonl; error records of
    `slapolicy import` (lines with "error") are skipped."""
    from slapolicy.decide.jsonio import loads

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = loads(line)
        except json.JSONDecodeError as exc:
            yield number, exc
            continue
        if isinstance(obj, dict) and "error" in obj and "id" not in obj:
            continue
        yield number, obj


class Progress:
    """A progress bar on a stream (stderr): `bar(n)` after n more tickets, redrawn at most ten times a second."""

    def __init__(self, total: int, stream, label: str = "deciding", width: int = 30):
        self.total, self.stream, self.label, self.width = max(total, 1), stream, label, width
        self.done, self.last = 0, 0.0
        self._draw()

    def __call__(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= 0.1 or self.done >= self.total:
            self.last = now
            self._draw()

    def _draw(self):
        filled = self.width * min(self.done, self.total) // self.total
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total}")
        self.stream.flush()

    def close(self):
        self._draw()
        self.stream.write("\n")
        self.stream.flush()


def make_report(policy, lines, as_of, by="month", progress=None):
    return build_report(policy, read_tickets(lines), as_of, by, progress)


def render(report, policy, fmt: str) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "html":
        from slapolicy.tools.report.charts import render_charts

        return render_html(report, render_charts(report, policy.compiled.timezone))
    return render_text(report)


__all__ = ["Progress", "make_report", "render", "write_facts", "read_tickets"]
