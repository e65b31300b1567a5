"""The at-risk page (issue 13): the open SLA clocks nearest to breach, from the monitor's store.

`GET /workbench/at-risk?within=2h` (the route is in slapolicy.service.monitor_routes; the data is
`GET /v1/at-risk`). Every value goes through `_e`; no script is needed (instants are shown in UTC and
as "in 1 h 20 min").
"""
from __future__ import annotations

import urllib.parse

from slapolicy.service.workbench.app import SECURITY_HEADERS
from slapolicy.service.workbench.model import _e
from slapolicy.service.workbench.pages import layout


def _remaining(seconds: int) -> str:
    minutes = max(0, seconds) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def page(service, clocks, now, within_text, error=None):
    """(html, headers). clocks: the /v1/at-risk list, or None when the server runs without --store."""
    form = (f'<form method="get" action="/workbench/at-risk" class="inline"><label for="f-within">due within</label> '
            f'<input id="f-within" name="within" value="{_e(within_text)}" size="6"> '
            f'<button type="submit">Show</button></form>')
    parts = [f'<section class="panel" id="at-risk"><h1>Clocks at risk</h1>{form}']
    if error:
        parts.append(f'<p class="error">{_e(error)}</p>')
    if clocks is None:
        parts.append('<p class="notice">The monitor is not enabled on this server: start it with '
                     '<code>slapolicy serve --store sqlite:///monitor.db</code> (docs/monitor.md).</p>')
    elif not clocks:
        parts.append(f'<p class="notice">No open clock is due within {_e(within_text)} of '
                     f'{_e(now.isoformat(timespec="seconds"))}.</p>')
    else:
        rows = []
        for c in clocks:
            href = f"/v1/tickets/{urllib.parse.quote(c['ticket'], safe='')}/clocks"
            rows.append(f'<tr><td><a href="{_e(href)}">{_e(c["ticket"])}</a></td><td>{_e(c["target"])}</td>'
                        f'<td><time datetime="{_e(c["due"])}">{_e(c["due"])}</time></td>'
                        f'<td class="num">{_e(_remaining(c["remaining_seconds"]))}</td>'
                        f'<td>{_e(c["next_alert"] or "")}</td></tr>')
        parts.append(f'<p>{len(clocks)} open clock(s) due within {_e(within_text)}, nearest first '
                     f'(as of {_e(now.isoformat(timespec="seconds"))}).</p>'
                     '<table class="at-risk"><thead><tr><th>ticket</th><th>target</th><th>due</th><th>remaining</th>'
                     f'<th>next alert</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    parts.append("</section>")
    policies = service.store.snapshot.policies
    return layout("Clocks at risk", "".join(parts), "at-risk", policies), SECURITY_HEADERS
