"""Charts of the public transparency page, rendered on the server as SVG by matplotlib: no script, no CDN.

A chart takes the figures exactly as a report publishes them (``protection.protect``'s output: an ``int``,
or a protected text such as ``<30`` or ``250-499``) and never a raw count. An exact figure is a solid bar;
a protected one is drawn as the range it stands for (solid to its lower bound, hatched to its upper bound)
and labelled with its published text, so the picture claims nothing the report does not.

The SVG is made to be embedded inline under the site's Content-Security-Policy (``style-src 'self'``, no
inline styles): matplotlib's ``style`` attributes become SVG presentation attributes, its ``<style>``
element and metadata go, every id is prefixed with the chart's name (several charts share one page), and
the root carries ``role="img"`` and a ``<title>``. Output is deterministic (fixed ``svg.hashsalt``, no
date), and text stays text (``svg.fonttype = "none"``), which keeps files small and labels searchable.

Rendering takes tens of milliseconds, so `ChartCache` keeps the charts of a published report (immutable)
in memory, keyed by the report's id; matplotlib's global settings are only touched under one lock.
"""

import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any, Final, TypeAlias

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn, not with the web app
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

__all__ = ["Bar", "ChartCache", "Series", "bar_chart", "grouped_bar_chart", "value_range"]

Published: TypeAlias = "int | float | str | None"
"""A figure as the report publishes it."""

COLOURS: Final = ("#1d3a8a", "#0b6e4f", "#a4161a", "#8a5a00", "#4a5568", "#6b3fa0")
"""The site's brand, accent, danger and warning colours, then two more; all AA on white."""
INK: Final = "#14213d"
MUTED: Final = "#4a5568"
GRID: Final = "#d7dde6"
_RC: Final[dict["RcKeyType", Any]] = {
    "svg.hashsalt": "trustdesk-transparency",
    "svg.fonttype": "none",
    "text.parse_math": False,  # a '$' in a label is a dollar sign
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: the layout does not depend on the host
    "font.size": 10.0,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "hatch.color": "#ffffff",
    "hatch.linewidth": 1.0,
}
_LOCK: Final = threading.Lock()
_RANGE: Final = re.compile(r"(\d+)-(\d+)")
_BELOW: Final = re.compile(r"<(\d+)")
_STYLE: Final = re.compile(r' style="([^"]*)"')
_PRESENTATION: Final = frozenset(
    {
        "clip-path", "fill", "fill-opacity", "fill-rule", "font-family", "font-size", "font-style",
        "font-weight", "opacity", "stroke", "stroke-dasharray", "stroke-dashoffset", "stroke-linecap",
        "stroke-linejoin", "stroke-miterlimit", "stroke-opacity", "stroke-width", "text-anchor",
    }
)  # fmt: skip


def value_range(figure: Published) -> tuple[float, float] | None:
    """The range a published figure stands for: ``(n, n)`` for an exact one, ``(0, 29)`` for ``<30``,
    ``(250, 499)`` for a band; None when it is no number (``suppressed``, missing)."""
    if isinstance(figure, bool) or figure is None:
        return None
    if isinstance(figure, int | float):
        return float(figure), float(figure)
    if match := _RANGE.fullmatch(figure.strip()):
        return float(match[1]), float(match[2])
    if match := _BELOW.fullmatch(figure.strip()):
        return 0.0, float(int(match[1]) - 1)
    return None


def shown(figure: Published) -> str:
    """A figure's text as the report publishes it."""
    return "\u2013" if figure is None else str(figure)  # an en dash: no figure


@dataclass(frozen=True)
class Bar:
    label: str
    figure: Published


@dataclass(frozen=True)
class Series:
    name: str
    figures: Sequence[Published]


# --- rendering -------------------------------------------------------------------------------------------


def _svg_attributes(style: str) -> str:
    """``fill: #fff; stroke-width: 0.8`` -> `` fill="#fff" stroke-width="0.8"``."""
    out = []
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if name in _PRESENTATION and value:
            out.append(f' {name}="{escape(value, quote=True)}"')
    return "".join(out)


def _inline(svg: str, name: str, title: str, description: str) -> str:
    """matplotlib's SVG document as an element to embed in a page under the CSP (see the module)."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<style[^>]*>.*?</style>\s*", "", svg, flags=re.DOTALL)
    svg = _STYLE.sub(lambda m: _svg_attributes(m.group(1).replace("&apos;", "'")), svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{name}-\1"', svg)
    svg = re.sub(r'\s(width|height)="[^"]*pt"', "", svg, count=2)  # sized by the stylesheet (viewBox)
    head = (
        f'<svg class="chart-svg" role="img" aria-labelledby="{name}-title {name}-desc" '
        'stroke-linejoin="round" stroke-linecap="butt" '
    )
    svg = svg.replace("<svg ", head, 1)
    opening_end = svg.index(">") + 1
    caption = (
        f'<title id="{name}-title">{escape(title)}</title><desc id="{name}-desc">{escape(description)}</desc>'
    )
    return svg[:opening_end] + caption + svg[opening_end:].rstrip() + "\n"


def _draw_range(
    ax: "Axes", position: float, size: float, figure: Published, colour: str, *, horizontal: bool
) -> float:
    """One bar of a figure (solid to its lower bound, hatched to its upper one); returns its far end."""
    found = value_range(figure)
    low, high = found if found is not None else (0.0, 0.0)
    draw = ax.barh if horizontal else ax.bar
    draw(position, low, size, color=colour, linewidth=0)
    if high > low:
        draw(position, high - low, size, low, color=colour, alpha=0.45, hatch="///", linewidth=0)
    return high


def _annotate(
    ax: "Axes", position: float, end: float, figure: Published, pad: float, *, horizontal: bool
) -> None:
    text = shown(figure)
    if horizontal:
        ax.text(end + pad, position, text, va="center", ha="left", color=INK, fontsize=9)
    else:
        ax.text(position, end + pad, text, va="bottom", ha="center", color=INK, fontsize=8)


def _finish(ax: "Axes", *, horizontal: bool) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    axis = ax.xaxis if horizontal else ax.yaxis
    axis.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _render(draw: Callable[["Figure"], None], size: tuple[float, float]) -> str:
    import matplotlib

    matplotlib.use("Agg")  # never a GUI backend; the figure is drawn with the SVG canvas below
    from matplotlib.figure import Figure

    with _LOCK, matplotlib.rc_context(_RC):
        figure = Figure(figsize=size, layout="constrained")
        draw(figure)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
        return out.getvalue()


def bar_chart(name: str, title: str, description: str, bars: Sequence[Bar], *, x_label: str) -> str:
    """One horizontal bar per label, in the order given (top first), each labelled with its figure."""
    far = max([value_range(b.figure) or (0.0, 0.0) for b in bars] + [(0.0, 1.0)], key=lambda r: r[1])[1]
    pad = far * 0.015 + 0.05

    def draw(figure: "Figure") -> None:
        ax = figure.subplots()
        for row, bar in enumerate(bars):
            end = _draw_range(ax, row, 0.65, bar.figure, COLOURS[0], horizontal=True)
            _annotate(ax, row, end, bar.figure, pad, horizontal=True)
        ax.set_yticks(range(len(bars)), [b.label for b in bars])
        ax.invert_yaxis()
        ax.set_xlim(0, far * 1.18 + 0.5)
        ax.set_xlabel(x_label)
        _finish(ax, horizontal=True)

    height = 0.9 + 0.34 * max(len(bars), 1)
    return _inline(_render(draw, (7.2, height)), name, title, description)


def grouped_bar_chart(
    name: str,
    title: str,
    description: str,
    groups: Sequence[str],
    series: Sequence[Series],
    *,
    value_label: str,
    horizontal: bool = False,
) -> str:
    """One group of bars per label, one bar per series (with a legend), each labelled with its figure."""
    ranges = [value_range(f) or (0.0, 0.0) for s in series for f in s.figures]
    far = max([r[1] for r in ranges] + [1.0])
    pad = far * 0.015 + 0.05
    width = 0.8 / max(len(series), 1)

    def draw(figure: "Figure") -> None:
        ax = figure.subplots()
        for index, one in enumerate(series):
            colour = COLOURS[index % len(COLOURS)]
            for group, value in enumerate(one.figures):
                position = group - 0.4 + width * (index + 0.5)
                end = _draw_range(ax, position, width * 0.92, value, colour, horizontal=horizontal)
                _annotate(ax, position, end, value, pad, horizontal=horizontal)
            ax.plot([], [], color=colour, linewidth=6, label=one.name)  # the legend's key
        if horizontal:
            ax.set_yticks(range(len(groups)), list(groups))
            ax.invert_yaxis()
            ax.set_xlim(0, far * 1.2 + 0.5)
            ax.set_xlabel(value_label)
        else:
            ax.set_xticks(range(len(groups)), list(groups))
            ax.set_ylim(0, far * 1.2 + 0.5)
            ax.set_ylabel(value_label)
        figure.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=9)
        _finish(ax, horizontal=horizontal)

    size = (7.2, 1.8 + 0.22 * max(len(groups), 1) * max(len(series), 1)) if horizontal else (7.2, 3.8)
    return _inline(_render(draw, size), name, title, description)


# --- the cache --------------------------------------------------------------------------------------------


class ChartCache:
    """The rendered charts of published reports, least recently used out first. A key is a report's id
    (or the ids of the reports a trend chart spans): published reports never change, so neither do
    their charts."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, ...], dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], render: Callable[[], dict[str, str]]) -> dict[str, str]:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        charts = render()  # outside the lock: two first visitors may both render, harmlessly
        with self._lock:
            self._items[key] = charts
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return charts

    def __len__(self) -> int:
        return len(self._items)
