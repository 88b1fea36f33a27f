"""A grouped bar chart as inline SVG, drawn on the server: the pages load no chart library (the
医保专网 may have no internet, and a phone draws SVG as it is)."""

from __future__ import annotations

from markupsafe import Markup, escape

# distinct on white and for the common colour blindnesses (Okabe–Ito, without yellow)
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#8C564B")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 180, 34, 34, 38  # TOP: room for 最高 N 条 above the bars


def colour(i: int) -> str:
    return COLOURS[i % len(COLOURS)]


def weekly_bars(weeks: list[str], series: list[dict], label: str) -> Markup:
    """One group of bars per week, one bar per series (``name``, ``rule``, ``counts`` per week);
    each bar carries ``data-rule`` and a ``<title>`` with its figure."""
    top = max((n for s in series for n in s["counts"]), default=0) or 1
    group = (WIDTH - LEFT) / max(1, len(weeks))
    bar = max(1.0, (group - 6) / max(1, len(series)))
    every = 1 if len(weeks) <= 6 else 2
    out = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT + BOTTOM}" role="img" aria-label="{escape(label)}" '
           f'class="chart" style="width: 100%; height: auto">',
           f'<line x1="{LEFT - 4}" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#9aa6b2"/>',
           f'<text x="{LEFT}" y="8" font-size="11" dominant-baseline="hanging" fill="#5b6775">最高 {top} 条</text>']
    for w, week in enumerate(weeks):
        x0 = LEFT + w * group + 3
        for i, s in enumerate(series):
            n = s["counts"][w]
            if n:
                h = n / top * (HEIGHT - TOP)
                out.append(f'<rect data-rule="{escape(s["rule"])}" data-week="{week}" x="{x0 + i * bar:.1f}" '
                           f'y="{HEIGHT - h:.1f}" width="{max(bar - 1, 1):.1f}" height="{h:.1f}" fill="{colour(i)}">'
                           f'<title>{week} 起一周 · {escape(s["name"])}:{n} 条</title></rect>')
        if w % every == 0:
            out.append(f'<text x="{x0 + group / 2 - 3:.1f}" y="{HEIGHT + 5}" font-size="11" dominant-baseline="hanging" '
                       f'text-anchor="middle" '
                       f'fill="#5b6775">{week[5:]}</text>')
    out.append("</svg>")
    return Markup("".join(out))
