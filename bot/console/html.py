"""Small HTML builders for the console: the page frame, tables, figures and inline SVG charts.

Every value that comes from data goes through `esc`. Pages need no JavaScript: the content
security policy forbids scripts altogether.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Iterable, Sequence

from fastapi.responses import HTMLResponse

from approvals.clock import as_utc
from bot.console import texts
from bot.console.session import Identity

HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
NAV = (("dashboard", "/console", "Dashboard"), ("requisitions", "/console/requisitions", "Requisitions"),
       ("policy", "/console/policy", "Policy"), ("audit", "/console/audit", "Audit"),
       ("delegations", "/console/delegations", "Delegations"))


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, who: Identity | None = None, active: str = "", status: int = 200) -> HTMLResponse:
    nav = ""
    if who is not None:
        links = "".join(f'<a href="{href}"{" class=on" if key == active else ""}>{label}</a>'
                        for key, href, label in NAV)
        nav = (f'<nav>{links}<span class="who">{esc(who.name)} <small>({esc(who.role)})</small></span>'
               f'<form method="post" action="/console/logout"><input type="hidden" name="csrf" value="{esc(who.csrf)}">'
               f'<button type="submit">Sign out</button></form></nav>')
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)} · {texts.TITLE}</title><link rel="stylesheet" href="/console/static/console.css">'
            f'</head><body><header><strong>procurebot</strong>{nav}</header><main><h1>{esc(title)}</h1>{body}</main>'
            f'</body></html>')
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def notice(text: str, tone: str = "info") -> str:
    return f'<p class="notice {tone}" role="status">{esc(text)}</p>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    """Cells are HTML already (escape data with `esc` before passing it)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def when(at: datetime | None) -> str:
    at = as_utc(at)
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "–"


def hours(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    h = seconds / 3600
    if h < 1:
        return f"{seconds / 60:.0f} min"
    return f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} d"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def figure(label: str, value: str, detail: str = "", test_id: str = "") -> str:
    data = f' data-figure="{esc(test_id)}"' if test_id else ""
    return (f'<div class="figure"{data}><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
            f'<div class="detail">{esc(detail)}</div></div>')


def bars(title: str, items: Sequence[tuple[str, float, float]], fmt=hours, *, legend: tuple[str, str] = (
        "median", "p90")) -> str:
    """A horizontal bar chart in inline SVG: per label a solid bar (first value) over a pale one (second)."""
    if not items:
        return f'<section class="chart"><h3>{esc(title)}</h3><p class="empty">{texts.EMPTY_WINDOW}</p></section>'
    top = max(max(a, b) for _, a, b in items) or 1
    row, label_w, width = 22, 110, 330
    parts = []
    for i, (label, a, b) in enumerate(items):
        y = i * row
        wa, wb = (width - label_w - 95) * a / top, (width - label_w - 95) * b / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{esc(label[:20])}</text>'
                     f'<rect class="b" x="{label_w}" y="{y + 3}" width="{wb:.1f}" height="15"/>'
                     f'<rect class="a" x="{label_w}" y="{y + 3}" width="{wa:.1f}" height="15"/>'
                     f'<text x="{label_w + max(wa, wb) + 6:.1f}" y="{y + 15}">{esc(fmt(a))} / {esc(fmt(b))}</text>')
    h = row * len(items) + 4
    return (f'<section class="chart"><h3>{esc(title)} <small><span class="key a"></span>{legend[0]} '
            f'<span class="key b"></span>{legend[1]}</small></h3>'
            f'<svg viewBox="0 0 {width} {h}" width="{width}" height="{h}" role="img" aria-label="{esc(title)}">'
            f'{"".join(parts)}</svg>'
            f'</section>')


def columns(title: str, items: Sequence[tuple[str, float]], fmt=hours) -> str:
    """A column chart in inline SVG (e.g. the monthly trend)."""
    if not items:
        return f'<section class="chart"><h3>{esc(title)}</h3><p class="empty">{texts.EMPTY_WINDOW}</p></section>'
    top = max(v for _, v in items) or 1
    col, height = 64, 140
    parts = []
    for i, (label, v) in enumerate(items):
        hgt = (height - 40) * v / top
        x = i * col + 8
        parts.append(f'<rect class="a" x="{x}" y="{height - 20 - hgt:.1f}" width="{col - 16}" height="{hgt:.1f}"/>'
                     f'<text x="{x + (col - 16) / 2}" y="{height - 24 - hgt:.1f}" text-anchor="middle">{esc(fmt(v))}'
                     f'</text><text x="{x + (col - 16) / 2}" y="{height - 5}" text-anchor="middle">{esc(label)}</text>')
    width = max(col * len(items) + 16, 200)
    return (f'<section class="chart"><h3>{esc(title)}</h3><svg viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{esc(title)}">{"".join(parts)}</svg></section>')


def meter(used: float) -> str:
    """A small budget-used bar; over 90 % warns, over 100 % alarms."""
    tone = "bad" if used > 1 else ("warn" if used > 0.9 else "ok")
    return (f'<svg class="meter" viewBox="0 0 100 10" width="100" height="10" role="img" aria-label="{used:.0%} used">'
            f'<rect class="track" width="100" height="10"/><rect class="{tone}" width="{min(used, 1) * 100:.1f}" '
            f'height="10"/></svg> {used:.0%}')
