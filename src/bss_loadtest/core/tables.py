"""Plain-text tables for the console: one writer for every table the suite prints.

Pure: no locust, no I/O. The caller formats the numbers; this module only lines the cells up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Align = str
"""``"<"`` (left) or ``">"`` (right), as in a format spec."""


def text_table(
    headers: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    align: Align | Sequence[Align] = "<",
    sep: str = "  ",
    rule: str | None = None,
    widths: Sequence[int] | None = None,
) -> str:
    """The header line and one line per row, cells padded to their column's width and joined by ``sep``.

    ``align`` is one of ``"<"`` / ``">"`` for every column, or one per column (``"<<>>"``).
    ``widths`` fixes each column's width, as a format spec does (a longer cell overflows its
    column, the others keep theirs); without it a column is as wide as its widest cell.
    ``rule``, a character, draws a line of it under the header, as wide as each column.
    Cells are ``str()``-ed; trailing blanks are stripped from every line; no final newline.
    """
    table = [[str(cell) for cell in headers], *([str(cell) for cell in row] for row in rows)]
    columns = len(table[0])
    if widths is None:
        widths = [max(len(line[c]) for line in table) for c in range(columns)]
    aligns = [align] * columns if align in ("<", ">") else list(align)
    if len(aligns) != columns or len(widths) != columns or any(a not in ("<", ">") for a in aligns):
        raise ValueError(f"a table of {columns} columns needs {columns} alignments ('<' or '>') and widths")
    lines = [sep.join(f"{cell:{a}{w}}" for cell, a, w in zip(line, aligns, widths)).rstrip() for line in table]
    if rule is not None:
        lines.insert(1, sep.join(rule * w for w in widths))
    return "\n".join(lines)
