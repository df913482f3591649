"""What the HTML reports share: one Jinja2 environment that autoescapes, table cells, inline charts.

Every page is a template in ``reports/templates/`` rendered by :func:`render_page`. Autoescaping
is on, so text from a run (run ids, profile names, endpoint names, hosts, reasons) reaches a page
only escaped; nothing here builds HTML from strings. The one value marked safe is a chart's
``data:`` URI (base64 PNG drawn by matplotlib's Agg backend, imported only when a chart is drawn;
no pyplot). Pages are self-contained: inline CSS, no external URL, no JavaScript.

This module does not import locust.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

CHART_DPI = 80
"""Resolution of the PNG charts; the charts are simple, so a low value keeps rendering fast."""


@dataclass(frozen=True)
class Cell:
    """A table cell whose look the template decides: bold, or inside ``<span class="cls">``."""

    text: str
    cls: str | None = None
    bold: bool = False


@dataclass(frozen=True, kw_only=True)
class Table:
    """A table for the ``table`` macro: cells are plain values or :class:`Cell`; the first ``left``
    columns align left; ``row_classes`` gives one CSS class (or "") per row."""

    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    left: int = 1
    row_classes: Sequence[str] | None = None


@dataclass(frozen=True)
class Chart:
    """A drawn figure: ``src`` is its ``data:image/png;base64,...`` URI (safe markup), ``alt`` plain text."""

    src: Markup
    alt: str


@functools.cache
def environment() -> jinja2.Environment:
    """The reports' Jinja2 environment (templates from ``reports/templates/``, autoescape on)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.tests["cell"] = lambda value: isinstance(value, Cell)
    env.filters.update(fmt=fmt, pct=pct, iso=iso)
    return env


def render_page(template: str, **context: Any) -> str:
    """A complete, self-contained HTML document from ``templates/<template>``."""
    return environment().get_template(template).render(**context)


def new_figure(**kwargs: Any):
    """A matplotlib ``Figure`` drawn by the Agg backend, imported on first use.

    The object-oriented API is used instead of pyplot: no process-wide backend switch and no
    global figure registry to leak into (the report is rendered inside the Locust master), and
    pyplot's import is skipped, which is a quarter of the cold rendering time.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def chart(fig, alt: str) -> Chart:
    """Render a matplotlib figure as an inline PNG for the ``chart`` macro."""
    from markupsafe import Markup

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=CHART_DPI)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Chart(src=Markup(f"data:image/png;base64,{data}"), alt=alt)


def fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    """A number for a table cell, ``–`` for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return str(value)


def pct(rate: float | None, digits: int = 2) -> str:
    return "–" if rate is None or (isinstance(rate, float) and math.isnan(rate)) else f"{rate * 100:.{digits}f} %"


def iso(value: datetime | None) -> str:
    if value is None:
        return "–"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
