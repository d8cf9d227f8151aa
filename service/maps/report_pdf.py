"""The council report as an A4 PDF: matplotlib figures, one per page, text set by matplotlib.

Map page (landscape, the print map), table pages (portrait, tables flowed and split across
pages), chart page (coverage over time beside the Breitbandatlas, notes and sources).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.table import Table as MplTable
from matplotlib.transforms import Bbox

from service.maps.numbers import german_number
from service.maps.printmap import MIN_PT, SheetText, map_figure
from service.maps.report import AUTHOR, Report, Table, german_date, german_pct

A4_PORTRAIT_IN = (210 / 25.4, 297 / 25.4)
MARGIN_IN = 0.7
ROW_IN = 0.25  # a one-line 9 pt table row with padding
LINE_IN = 0.16  # each further line of a wrapped cell
CAPTION_IN = 0.4
NOTE_LINE_IN = 0.19
CELL_PAD_IN = 0.05
MIN_ROWS_ON_PAGE = 3
MAX_YEAR_LABELS = 12  # on the time axis of the chart
OUR_COLOUR, REFERENCE_COLOURS = "#d7191c", ("#2c7bb6", "#555555")


@dataclass(frozen=True)
class Laid:
    """A table measured for a width: column widths (fractions), wrapped text, row heights."""

    table: Table
    widths: list[float]
    header: list[str]
    rows: list[list[str]]
    heights: list[float]  # inches per data row
    header_height: float
    note: str
    note_height: float


@dataclass(frozen=True)
class Block:
    """A table, or a part of one, with its place on a page (inches from the top)."""

    laid: Laid
    rows: slice
    top: float
    continued: bool


class Measure:
    """Text widths in inches at 9 pt, as matplotlib will set them."""

    def __init__(self) -> None:
        figure = Figure()
        self.renderer = FigureCanvasAgg(figure).get_renderer()  # type: ignore[no-untyped-call]
        self.dpi = figure.dpi
        self.fonts = {w: FontProperties(size=MIN_PT, weight=w) for w in ("normal", "bold")}

    def width(self, text: str, weight: str = "normal") -> float:
        """The widest line of the text."""
        font = self.fonts[weight]
        widest = max(
            self.renderer.get_text_width_height_descent(line, font, ismath=False)[0]
            for line in text.split("\n")
        )
        return float(widest) / float(self.dpi)


def _wrap(measure: Measure, text: str, width: float, weight: str = "normal") -> str:
    """Break at spaces (and after '/', '-') so every line fits the width, if words allow."""
    words = text.replace("/", "/ ").replace("-", "- ").split(" ")
    lines: list[str] = []
    for word in words:
        if not word:
            continue
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and measure.width(joined.replace("/ ", "/").replace("- ", "-"), weight) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return "\n".join(line.replace("/ ", "/").replace("- ", "-") for line in lines)


def _words(text: str) -> list[str]:
    return [w for w in text.replace("/", "/ ").replace("-", "- ").split(" ") if w]


def _widths(measure: Measure, table: Table, longest: bool) -> list[float]:
    """Per column: the widest whole text (natural) or the widest single word (minimum)."""

    def size(text: str, weight: str = "normal") -> float:
        parts = [text] if longest else _words(text) or [""]
        return max(measure.width(part, weight) for part in parts)

    return [
        max([size(table.header[i], "bold")] + [size(row[i]) for row in table.rows])
        + 2 * CELL_PAD_IN
        for i in range(len(table.header))
    ]


def _fit(natural: list[float], minimum: list[float], width: float) -> list[float]:
    """Shrink columns toward their longest word, in proportion to what each can give."""
    excess = sum(natural) - width
    if excess <= 0:
        return [w + -excess / len(natural) for w in natural]
    slack = [n - m for n, m in zip(natural, minimum, strict=True)]
    if sum(slack) < excess:  # not even the words fit: scale everything (text will be tight)
        return [m * width / sum(minimum) for m in minimum]
    return [n - excess * s / sum(slack) for n, s in zip(natural, slack, strict=True)]


def lay_out(measure: Measure, table: Table, width: float) -> Laid:
    """Column widths from the text; too wide: columns shrink and their text wraps."""
    widths = _fit(_widths(measure, table, True), _widths(measure, table, False), width)
    inner = [w - 2 * CELL_PAD_IN for w in widths]
    header = [_wrap(measure, h, inner[i], "bold") for i, h in enumerate(table.header)]
    rows = [[_wrap(measure, cell, inner[i]) for i, cell in enumerate(row)] for row in table.rows]
    heights = [ROW_IN + LINE_IN * max(c.count("\n") for c in row) for row in rows]
    header_height = ROW_IN + LINE_IN * max(h.count("\n") for h in header)
    note = _wrap(measure, table.note, width) if table.note else ""
    note_height = (note.count("\n") + 1) * NOTE_LINE_IN + 0.05 if note else 0.0
    total = sum(widths)
    return Laid(
        table, [w / total for w in widths], header, rows, heights, header_height, note, note_height
    )


def flow(laid: list[Laid], first_top: float, page_height: float) -> list[list[Block]]:
    """Lay tables out top to bottom; a table that does not fit is split, its header repeated."""
    bottom = page_height - MARGIN_IN
    pages: list[list[Block]] = [[]]
    top = first_top
    for table in laid:
        start = 0
        while True:
            room = bottom - top - CAPTION_IN - table.header_height - table.note_height
            count = 0
            while start + count < len(table.rows) and table.heights[start + count] <= room:
                room -= table.heights[start + count]
                count += 1
            left = len(table.rows) - start
            if count < min(MIN_ROWS_ON_PAGE, left) and pages[-1]:
                pages.append([])
                top = MARGIN_IN + 0.5
                continue
            pages[-1].append(Block(table, slice(start, start + count), top, start > 0))
            used = sum(table.heights[start : start + count])
            top += CAPTION_IN + table.header_height + used + table.note_height + 0.25
            start += count
            if start >= len(table.rows):
                break
    return [page for page in pages if page]


def draw_table(figure: Figure, block: Block, width: float) -> MplTable:
    """One table (part) with matplotlib's table: bold header, zebra rows, numbers right."""
    fig_w, fig_h = figure.get_size_inches()
    laid = block.laid
    table = laid.table
    rows = laid.rows[block.rows]
    heights = laid.heights[block.rows]
    caption = table.caption + (" (Fortsetzung)" if block.continued else "")
    figure.text(
        MARGIN_IN / fig_w,
        1 - (block.top + 0.1) / fig_h,
        caption,
        fontsize=12,
        fontweight="bold",
        va="top",
    )
    height = laid.header_height + sum(heights)
    top = block.top + CAPTION_IN
    ax = figure.add_axes(
        (MARGIN_IN / fig_w, 1 - (top + height) / fig_h, width / fig_w, height / fig_h)
    )
    ax.set_axis_off()
    grid = MplTable(ax, bbox=Bbox.from_bounds(0, 0, 1, 1))
    loc = {"l": "left", "r": "right"}
    for col, label in enumerate(laid.header):
        cell = grid.add_cell(
            0, col, laid.widths[col], laid.header_height, text=label, loc=loc[table.align[col]]
        )
        cell.set_facecolor("#e6e6e6")
        cell.get_text().set_fontweight("bold")
    for r, (row, row_height) in enumerate(zip(rows, heights, strict=True), start=1):
        for col, value in enumerate(row):
            cell = grid.add_cell(
                r, col, laid.widths[col], row_height, text=value, loc=loc[table.align[col]]
            )
            cell.set_facecolor("#f6f6f6" if r % 2 == 0 else "white")
    grid.auto_set_font_size(False)
    grid.set_fontsize(MIN_PT)
    for (_, col), cell in grid.get_celld().items():
        cell.set_edgecolor("#bbbbbb")
        cell.set_linewidth(0.5)
        cell.PAD = CELL_PAD_IN / (width * laid.widths[col])  # a fraction of the cell's width
    ax.add_table(grid)
    if laid.note and block.rows.stop >= len(laid.rows):
        figure.text(
            MARGIN_IN / fig_w,
            1 - (top + height + 0.08) / fig_h,
            laid.note,
            fontsize=MIN_PT,
            va="top",
            color="#333333",
        )
    return grid


def _page_head(figure: Figure, report: Report) -> None:
    fig_w, fig_h = figure.get_size_inches()
    figure.text(
        MARGIN_IN / fig_w,
        1 - 0.45 / fig_h,
        f"{report.title} · Stand {german_date(report.as_of)}",
        fontsize=MIN_PT,
        color="#444444",
    )


def _headline(figure: Figure, report: Report) -> float:
    """Title, date and the headline figure with numerator and denominator; returns its end."""
    fig_w, fig_h = figure.get_size_inches()
    x = MARGIN_IN / fig_w
    figure.text(x, 1 - 0.7 / fig_h, report.title, fontsize=16, fontweight="bold", va="top")
    figure.text(x, 1 - 1.15 / fig_h, f"Stand: {german_date(report.as_of)}", fontsize=11, va="top")
    figure_ = report.headline.addresses
    figure.text(
        x,
        1 - 1.55 / fig_h,
        f"{german_pct(figure_.share_pct)} der Adressen erschlossen",
        fontsize=20,
        fontweight="bold",
        color=OUR_COLOUR,
        va="top",
    )
    figure.text(
        x,
        1 - 2.05 / fig_h,
        f"{german_number(figure_.numerator)} von {german_number(figure_.denominator)} Adressen "
        f"liegen in erschlossenen Gebieten (Zähler {german_number(figure_.numerator)}, "
        f"Nenner {german_number(figure_.denominator)}).",
        fontsize=11,
        va="top",
    )
    return 2.5


def _portrait() -> Figure:
    figure = Figure(figsize=A4_PORTRAIT_IN)
    FigureCanvasAgg(figure)
    return figure


def table_pages(report: Report) -> list[Figure]:
    """The tables flowed over portrait pages; the first opens with the headline figure."""
    width = A4_PORTRAIT_IN[0] - 2 * MARGIN_IN
    first = _portrait()
    start = _headline(first, report)
    measure = Measure()
    laid = [lay_out(measure, table, width) for table in report.tables]
    pages = flow(laid, start, A4_PORTRAIT_IN[1])
    figures = [first] + [_portrait() for _ in pages[1:]]
    for figure, blocks in zip(figures, pages, strict=True):
        if figure is not first:
            _page_head(figure, report)
        for block in blocks:
            draw_table(figure, block, width)
    return figures


def _year_step(report: Report) -> int:
    """Years between labels, so the axis carries about a dozen whatever the span: a report on
    a date centuries back would otherwise draw a tick per year, for seconds."""
    years = [point.as_of.year for point in report.timeline]
    years += [figure.stand.year for figure in report.reference]
    if not years:
        return 1
    return max(1, math.ceil((max(years) - min(years) + 1) / MAX_YEAR_LABELS))


def _chart(ax: Axes, report: Report) -> None:
    dates = np.array([point.as_of for point in report.timeline], dtype="datetime64[D]")
    shares = [point.addresses.share_pct for point in report.timeline]
    ax.plot(dates, shares, color=OUR_COLOUR, linewidth=2, label="eigene Zahl: Adressen erschlossen")
    if len(dates):
        ax.annotate(
            german_pct(shares[-1]),
            (dates[-1], shares[-1]),
            xytext=(-6, 8),
            textcoords="offset points",
            ha="right",
            fontsize=MIN_PT + 1,
            fontweight="bold",
            color=OUR_COLOUR,
        )
    for figure, colour in zip(report.reference, REFERENCE_COLOURS, strict=False):
        level = "Gemeinde" if figure.level == "gemeinde" else f"Kreis ({figure.ags})"
        ax.plot(
            np.array([figure.stand], dtype="datetime64[D]"),
            [figure.value_pct],
            marker="D",
            linestyle="",
            color=colour,
            markersize=7,
            label=f"Breitbandatlas {level}: {german_pct(figure.value_pct)} "
            f"({german_date(figure.stand)})",
        )
    ax.set_ylim(0, 100)
    ax.set_ylabel("Anteil in %", fontsize=MIN_PT + 1)
    locator = mdates.YearLocator(base=_year_step(report))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))  # type: ignore[no-untyped-call]
    ax.tick_params(labelsize=MIN_PT)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_title("Anteil erschlossener Adressen im Zeitverlauf", fontsize=12, loc="left")
    ax.legend(fontsize=MIN_PT, loc="upper left", frameon=False)


def chart_page(report: Report) -> Figure:
    """Coverage over time (quarterly, as /coverage/timeline), the Breitbandatlas, notes, sources."""
    figure = _portrait()
    fig_w, fig_h = figure.get_size_inches()
    _page_head(figure, report)
    ax = figure.add_axes((0.12, 0.58, 0.8, 0.33))
    _chart(ax, report)
    measure = Measure()
    width = fig_w - 2 * MARGIN_IN
    y = 0.50
    for heading, lines in (("Hinweise", report.notes), ("Quellen", report.sources)):
        figure.text(MARGIN_IN / fig_w, y, heading, fontsize=12, fontweight="bold", va="top")
        y -= 0.3 / fig_h
        for line in lines:
            wrapped = _wrap(measure, line, width)
            figure.text(MARGIN_IN / fig_w, y, wrapped, fontsize=MIN_PT, va="top")
            y -= (wrapped.count("\n") + 1) * NOTE_LINE_IN / fig_h + 0.08 / fig_h
        y -= 0.2 / fig_h
    return figure


def report_figures(report: Report) -> list[Figure]:
    """Every page of the report as a figure, in order."""
    sheet = SheetText(report.title, report.headline_text)
    return [map_figure(report.layers, sheet), *table_pages(report), chart_page(report)]


def report_pdf(report: Report) -> bytes:
    """The pages as one PDF with title, author and creation date in its metadata."""
    buffer = io.BytesIO()
    metadata = {
        "Title": report.title,
        "Author": AUTHOR,
        "Subject": f"Glasfaserausbau, Stand {german_date(report.as_of)}",
        "Keywords": f"Breitband, Glasfaser, AGS {report.ags}",
        "Creator": AUTHOR,
        "CreationDate": report.created,
    }
    with mpl.rc_context({"pdf.fonttype": 42}), PdfPages(buffer, metadata=metadata) as pdf:
        for figure in report_figures(report):
            pdf.savefig(figure)
    return buffer.getvalue()


def chart_svg(report: Report) -> bytes:
    """The chart alone as SVG, for the HTML report (drawn on the server, no script needed)."""
    figure = Figure(figsize=(8, 4))
    FigureCanvasAgg(figure)
    _chart(figure.add_axes((0.08, 0.1, 0.9, 0.8)), report)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg")
    return buffer.getvalue()
