"""Report outputs: text, JSON, CSV (the summary rows), the fact table (CSV or Parquet), and HTML with charts."""
from __future__ import annotations

import csv
import html
import io
import json

from slapolicy.tools.report.aggregate import FACT_COLUMNS, ROW_KEYS, Report


def hours(seconds) -> str:
    if seconds is None:
        return "-"
    h = seconds / 3600
    return f"{h:.1f}h" if h < 100 else f"{h:.0f}h"


def share(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ROW_KEYS, lineterminator="\n")
    writer.writeheader()
    for row in report.rows():
        writer.writerow(row)
    return out.getvalue()


def write_facts(report: Report, path: str) -> None:
    """One row per ticket and target; `.parquet` needs pyarrow (ImportError otherwise)."""
    if str(path).endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {c: [f.get(c) for f in report.facts] for c in FACT_COLUMNS}
        types = {c: pa.int64() if c.endswith("_seconds") else pa.string() for c in FACT_COLUMNS}
        table = pa.table({c: pa.array(v, type=types[c]) for c, v in columns.items()})
        pq.write_table(table, path)
        return
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=FACT_COLUMNS, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for f in report.facts:
            writer.writerow(f)


def render_text(report: Report, breach_limit: int = 50) -> str:
    lines = [f"SLA attainment: policy {report.policy} {report.version}, as of {report.as_of} "
             f"({report.tickets} tickets, by {report.by}, times in {report.timezone})", ""]
    head = f"{'period':<9} {'tier':<22} {'target':<15} {'tickets':>7} {'met':>6} {'breached':>8} {'open':>5} " \
           f"{'met %':>7} {'p50':>7} {'p90':>7} {'over p50':>8}"
    lines += [head, "-" * len(head)]
    for r in report.rows():
        lines.append(f"{r['period']:<9} {str(r['tier']):<22} {r['target']:<15} {r['tickets']:>7} {r['met']:>6} "
                     f"{r['breached']:>8} {r['open']:>5} {share(r['met_share']):>7} {hours(r['p50_seconds']):>7} "
                     f"{hours(r['p90_seconds']):>7} {hours(r['over_p50_seconds']):>8}")
    breaches = report.breaches()
    lines += ["", f"Breaches: {len(breaches)}"]
    for b in breaches[:breach_limit]:
        lines.append(f"  {b['ticket']}  {b['target']:<15} due {b['due']}  over {hours(b['over_seconds'])}  "
                     f"tier {b['tier']}  clause {b['clause']}")
    if len(breaches) > breach_limit:
        lines.append(f"  ... and {len(breaches) - breach_limit} more (--format json or --facts for all)")
    if report.eligibility:
        lines += ["", "Not accepted / out of scope, by rule:"]
        lines += [f"  {e['status']:<18} {str(e['rule']):<40} {e['tickets']:>6}" for e in report.eligibility_rows()]
    if report.delay_reasons:
        lines += ["", "Delay reasons, by rule:"]
        lines += [f"  {d['rule']:<40} {str(d['source']):<12} {d['tickets']:>6}" for d in report.delay_rows()]
    if report.invalid:
        lines += ["", f"Lines not decided: {len(report.invalid)} (first: line {report.invalid[0]['line']}: "
                      f"{report.invalid[0]['error'].get('message')})"]
    return "\n".join(lines) + "\n"


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #d8dee4;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child,.l{text-align:left}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));gap:1rem}
figure{margin:0;border:1px solid #d8dee4;border-radius:6px;padding:.5rem;overflow:auto}
figure svg{width:100%;height:auto}figcaption{font-weight:600;margin-bottom:.25rem}
.bad{color:#b42318}.muted{color:#57606a}.wrap{overflow-x:auto}
"""


def render_html(report: Report, charts: dict, ticket_link=None, standalone: bool = True) -> str:
    """The report as HTML: charts (name -> inline SVG text), the summary table, the breach list (each ticket a
    link when `ticket_link(ticket_id)` gives a URL), eligibility and delay reasons."""
    e = html.escape
    parts = [f"<h1>SLA attainment: {e(report.policy)} {e(report.version)}</h1>",
             f"<p class=muted>As of {e(report.as_of)}; {report.tickets} tickets; by {e(report.by)}; "
             f"times in {e(report.timezone)}.</p>"]
    titles = {"attainment": "Attainment over time, per tier", "weekday_hour": "Breaches by weekday and hour",
              "first_response": "Business time to first response against the target"}
    parts.append("<div class=charts>")
    for name, svg in charts.items():
        parts.append(f'<figure id="chart-{e(name)}" data-chart="{e(name)}"><figcaption>{e(titles.get(name, name))}'
                     f"</figcaption>{svg}</figure>")
    parts.append("</div>")
    parts.append("<h2>Per period, tier and target</h2><div class=wrap><table id=summary><tr>"
                 "<th>period</th><th class=l>tier</th><th class=l>target</th><th>tickets</th><th>met</th>"
                 "<th>breached</th><th>open</th><th>met share</th><th>p50</th><th>p90</th><th>over p50</th></tr>")
    for r in report.rows():
        parts.append(f"<tr><td>{e(r['period'])}</td><td class=l>{e(str(r['tier']))}</td><td class=l>"
                     f"{e(r['target'])}</td><td>{r['tickets']}</td><td>{r['met']}</td><td class=bad>{r['breached']}"
                     f"</td><td>{r['open']}</td><td>{share(r['met_share'])}</td><td>{hours(r['p50_seconds'])}</td>"
                     f"<td>{hours(r['p90_seconds'])}</td><td>{hours(r['over_p50_seconds'])}</td></tr>")
    parts.append("</table></div>")
    breaches = report.breaches()
    parts.append(f"<h2>Breaches ({len(breaches)})</h2><div class=wrap><table id=breaches><tr><th>ticket</th>"
                 "<th class=l>target</th><th class=l>tier</th><th class=l>due</th><th>over</th>"
                 "<th class=l>clause</th></tr>")
    for b in breaches:
        ticket = e(b["ticket"])
        if ticket_link is not None:
            ticket = f'<a href="{e(ticket_link(b["ticket"]))}">{ticket}</a>'
        parts.append(f"<tr><td>{ticket}</td><td class=l>{e(b['target'])}</td><td class=l>{e(str(b['tier']))}</td>"
                     f"<td class=l>{e(b['due'] or '')}</td><td>{hours(b['over_seconds'])}</td>"
                     f"<td class=l>{e(str(b['clause']))}</td></tr>")
    parts.append("</table></div>")
    if report.eligibility:
        parts.append("<h2>Not accepted / out of scope, by rule</h2><table><tr><th>status</th><th class=l>rule</th>"
                     "<th>tickets</th></tr>")
        parts += [f"<tr><td>{e(x['status'])}</td><td class=l>{e(str(x['rule']))}</td><td>{x['tickets']}</td></tr>"
                  for x in report.eligibility_rows()]
        parts.append("</table>")
    if report.delay_reasons:
        parts.append("<h2>Delay reasons, by rule</h2><table><tr><th>rule</th><th class=l>clause</th>"
                     "<th>tickets</th></tr>")
        parts += [f"<tr><td>{e(str(x['rule']))}</td><td class=l>{e(str(x['source']))}</td><td>{x['tickets']}</td></tr>"
                  for x in report.delay_rows()]
        parts.append("</table>")
    body = "\n".join(parts)
    if not standalone:
        return body
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
            f"content='width=device-width,initial-scale=1'><title>SLA report: {e(report.policy)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")
