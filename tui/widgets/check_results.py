"""Check results of the selected node: status, summary, duration, and the evidence behind one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Self

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellKey, ColumnKey, RowKey

from providers.contract import CheckCall, CheckResult
from providers.text import sanitize
from providers.units import rough_ms
from tui.widgets.focus_frame import FocusFrame
from tui.widgets.glyphs import check_badge
from tui.widgets.trends import Trends


class CheckTable(DataTable[str | Text]):
    """A DataTable whose changed cell redraws its own row, not the whole table.

    DataTable.update_cell refreshes every row: over SSH a table of checks whose one summary
    moved would cost a screenful of bytes a refresh. A width the change alters still lays the
    whole table out again (its virtual size changes)."""

    _row_only: int | None = None

    def update_row_cell(
        self, row_key: str, column_key: str, value: str | Text, *, update_width: bool = False
    ) -> None:
        self._row_only = self.get_row_index(row_key)
        try:
            self.update_cell(row_key, column_key, value, update_width=update_width)
        finally:
            self._row_only = None

    def _update_column_widths(self, updated_cells: set[CellKey]) -> None:
        with self._redrawn_if_resized():
            super()._update_column_widths(updated_cells)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        with self._redrawn_if_resized():
            super()._update_dimensions(new_rows)

    @contextmanager
    def _redrawn_if_resized(self) -> Iterator[None]:
        """DataTable works out column widths when idle, after the cells changed. A row drawn
        before its column grew was cut at the old width, and DataTable's caches of drawn rows
        know how many cells changed, not the widths: when a width changes, they are emptied
        and every row is drawn again, not only the one whose cell changed."""
        before = [column.get_render_width(self) for column in self.ordered_columns]
        yield
        if [column.get_render_width(self) for column in self.ordered_columns] != before:
            self._clear_caches()
            super().refresh()

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if self._row_only is not None and not (regions or layout or recompose):
            return self.refresh_row(self._row_only)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class CheckResults(FocusFrame, Vertical):
    """One row per check; the highlighted row's evidence shows below the table, and Enter asks
    for its whole text (a summary is cut at the pane's edge, evidence at four lines)."""

    @dataclass
    class ResultChosen(Message):
        """Enter on a check's row: the operator wants all it says."""

        result: CheckResult

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.results: dict[str, CheckResult] = {}
        self._evidence = ""

    def compose(self) -> ComposeResult:
        yield CheckTable(id="check-table", cursor_type="row", zebra_stripes=False)
        yield Trends(id="check-trends")
        yield Static("", id="check-evidence")

    def on_mount(self) -> None:
        self.border_title = "Checks"
        self.border_subtitle = "enter: whole text"
        table = self.table
        table.add_column("status", key="status", width=9)
        table.add_column("check", key="check")
        table.add_column("summary", key="summary")

    @property
    def table(self) -> CheckTable:
        return self.query_one("#check-table", CheckTable)

    def begin(self, node_name: str, calls: tuple[CheckCall, ...]) -> None:
        """Show the checks about to run, each marked as running."""
        self.results.clear()
        self.border_title = f"Checks: {sanitize(node_name)}"
        table = self.table
        table.clear()
        for call in calls:
            table.add_row(Text("… running", style="dim"), call.check, "", key=call.check)
        if not calls:
            self._show_evidence("This node has no checks.")
        else:
            self._show_evidence("")

    def record(self, result: CheckResult) -> None:
        """Keep the result; redraw only the cells and the evidence whose text changed."""
        previous = self.results.get(result.check)
        if previous is not None and result.started_at < previous.started_at:
            return  # a run begun before the one shown, finishing late: it is not the news
        self.results[result.check] = result
        table = self.table
        if result.check not in table.rows:
            table.add_row("", result.check, "", key=result.check)
            previous = None
        if previous is None or previous.status != result.status:
            table.update_row_cell(result.check, "status", check_badge(result.status))
        if previous is None or previous.summary != result.summary:
            summary = sanitize(result.summary)
            # The column only grows while a node is shown: a shorter summary leaves the width
            # (and every other row) as it is.
            wider = cell_len(summary) > table.columns[ColumnKey("summary")].content_width
            table.update_row_cell(result.check, "summary", summary, update_width=wider)
        if table.row_count and table.coordinate_to_cell_key(table.cursor_coordinate).row_key == (
            result.check
        ):
            self._show_result(result)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        result = self.results.get(str(event.row_key.value))
        if result is not None:
            self._show_result(result)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        result = self.results.get(str(event.row_key.value))
        if result is not None:
            self.post_message(self.ResultChosen(result))

    def _show_result(self, result: CheckResult) -> None:
        # The duration in steady words, so a re-run that took 3 ms more redraws nothing.
        took = rough_ms(result.duration * 1000)
        lines = [f"{result.check} ({result.status.value}, {took}): {sanitize(result.summary)}"]
        lines.extend(sanitize(line) for line in result.evidence)
        self._show_evidence("\n".join(lines))

    def _show_evidence(self, text: str) -> None:
        """The evidence below the table; the same text twice draws nothing, and a text of the
        same height redraws only itself (no new layout of the screen)."""
        if text == self._evidence:
            return
        same_height = text.count("\n") == self._evidence.count("\n")
        self._evidence = text
        self.query_one("#check-evidence", Static).update(Text(text), layout=not same_height)
