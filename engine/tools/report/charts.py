"""The report's charts as inline SVG, drawn with matplotlib (the `report` extra).

Why matplotlib SVGs and not Vega-Lite: the SVG is drawn once on the server and is plain markup, so the HTML report
is one self-contained file that opens in any browser, mail client or print preview without JavaScript or network,
and no third-party runtime (vega, vega-lite, vega-embed: about 1 MB of minified JS) has to be vendored into the
repository and kept up to date. Text stays text (svg.fonttype none) and ids are stable (svg.hashsalt), so the
same report gives the same bytes.

`render_charts(report)` returns {"attainment": svg, "weekday_hour": svg, "first_response": svg}; without
matplotlib it raises ImportError (the CLI names the extra).
"""
from __future__ import annotations

import io
from collections import defaultdict

from slapolicy.api import parse_timestamp

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _figure(width=6.4, height=3.4):
    import matplotlib

    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "slapolicy", "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False})
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "slapolicy report (matplotlib)"})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _empty(ax, message):
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#57606a")
    ax.set_xticks([])
    ax.set_yticks([])


def attainment_chart(report) -> str:
    """Met share (met / (met + breached), every target) per period, one line per tier."""
    fig = _figure()
    ax = fig.add_subplot()
    tally = defaultdict(lambda: [0, 0])
    periods = sorted({f["period"] for f in report.facts})
    for f in report.facts:
        if f["outcome"] in ("met", "breached"):
            tally[(f["tier"], f["period"])][f["outcome"] == "breached"] += 1
    tiers = sorted({t for t, _ in tally}, key=str)
    if not tiers:
        _empty(ax, "no met or breached target yet")
    for tier in tiers:
        xs, ys = [], []
        for i, p in enumerate(periods):
            met, breached = tally.get((tier, p), (0, 0))
            if met + breached:
                xs.append(i)
                ys.append(100 * met / (met + breached))
        ax.plot(xs, ys, marker="o", label=str(tier))
    if tiers:
        ax.set_xticks(range(len(periods)), periods, rotation=45 if len(periods) > 6 else 0, ha="right"
                      if len(periods) > 6 else "center")
        ax.set_ylim(0, 105)
        ax.set_ylabel("met share, %")
        ax.legend(fontsize=7, ncols=2, loc="lower left")
        ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def weekday_hour_chart(report, tz) -> str:
    """Breaches by the weekday and hour of their due instant, in the policy's time zone."""
    fig = _figure(height=2.8)
    ax = fig.add_subplot()
    grid = [[0] * 24 for _ in range(7)]
    count = 0
    for f in report.facts:
        if f["outcome"] == "breached" and f["due"]:
            local = parse_timestamp(f["due"]).astimezone(tz)
            grid[local.weekday()][local.hour] += 1
            count += 1
    if not count:
        _empty(ax, "no breaches")
        return _svg(fig)
    image = ax.imshow(grid, aspect="auto", cmap="Reds", interpolation="nearest")
    ax.set_yticks(range(7), WEEKDAYS)
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_xlabel(f"hour of the due instant ({tz})")
    fig.colorbar(image, ax=ax, label="breaches", shrink=0.9)
    return _svg(fig)


def first_response_chart(report) -> str:
    """Business hours to the first response (answered tickets), per tier, with the tier's target as a line."""
    by_tier = defaultdict(list)
    targets = defaultdict(list)
    for f in report.facts:
        if f["target"] == "first_response" and f["met_at"] is not None and f["business_seconds"] is not None:
            by_tier[f["tier"]].append(f["business_seconds"] / 3600)
        if f["target"] == "first_response" and f["target_seconds"]:
            targets[f["tier"]].append(f["target_seconds"] / 3600)
    tiers = sorted(by_tier, key=str)[:6]
    fig = _figure(height=1.2 + 1.5 * max(1, (len(tiers) + 1) // 2))
    if not tiers:
        _empty(fig.add_subplot(), "no first response yet")
        return _svg(fig)
    cols = 1 if len(tiers) == 1 else 2
    rows = (len(tiers) + cols - 1) // cols
    for i, tier in enumerate(tiers):
        ax = fig.add_subplot(rows, cols, i + 1)
        values = by_tier[tier]
        ax.hist(values, bins=min(30, max(5, len(values) // 5)), color="#4c78a8")
        if targets[tier]:
            target = sorted(targets[tier])[len(targets[tier]) // 2]
            ax.axvline(target, color="#b42318", linestyle="--", label=f"target {target:g}h")
            ax.legend(fontsize=7)
        ax.set_title(str(tier), fontsize=8)
        ax.set_xlabel("business hours", fontsize=7)
    return _svg(fig)


def render_charts(report, tz) -> dict:
    return {"attainment": attainment_chart(report), "weekday_hour": weekday_hour_chart(report, tz),
            "first_response": first_response_chart(report)}
