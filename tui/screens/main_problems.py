"""The main screen's problems: what the sweep's checks and the log's lines say is wrong, with
the runbooks that point to each, as the subtitle counts them and `p` lists them.

Mixed into MainScreen (tui/screens/main_screen.py), whose state and widgets it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen

from providers.contract import LogLine
from tui.log_feed import MAX_LOG_PROBLEMS
from tui.problems import Problem, problems_from_results
from tui.widgets.log_tail import LogTail

if TYPE_CHECKING:
    from providers.contract import Node
    from tui.log_feed import LogSignatures
    from tui.problems import NewestResults
    from tui.screens.main_screen import MainScreen


class ScreenProblems(Screen[None]):
    """Check problems (from the newest results of the swept nodes) and log problems (lines
    matching a runbook's signature); the runbook library is asked for when they want it."""

    if TYPE_CHECKING:  # MainScreen's own
        selected: Node | None
        check_problems: list[Problem]
        log_problems: list[Problem]
        signatures: LogSignatures
        latest: NewestResults
        _swept_kinds: dict[str, str] | None
        LogProblems: type[MainScreen.LogProblems]

        def _set_subtitle(self) -> None: ...

        def select_by_id(self, node_id: str) -> None: ...

    @property
    def problems(self) -> list[Problem]:
        return sorted(
            [*self.check_problems, *self.log_problems], key=lambda problem: problem.rank_key
        )

    def library_loaded(self) -> None:
        """The runbooks are in: the last sweep's problems get theirs, and the log lines shown
        so far (they came before any signature could be looked for) are scanned."""
        from tui.screens.problems import ProblemsScreen

        self._find_check_problems()
        for screen in self.app.screen_stack:
            if isinstance(screen, ProblemsScreen):  # opened before the runbooks were in
                self.call_later(screen.show_problems, self.problems)
        if self.selected is not None:
            self.scan_shown_lines(self.selected.id, self.query_one(LogTail).view.visible_lines())

    @work(group="log-scan", exit_on_error=False)
    async def scan_shown_lines(self, node_id: str, lines: list[LogLine]) -> None:
        library = getattr(self.app, "library", None)
        if found := await self.signatures.find(library, node_id, lines):
            self.post_message(self.LogProblems(node_id, found))

    def _find_check_problems(self) -> None:
        if (kinds := self._swept_kinds) is None:
            return
        library = getattr(self.app, "library", None)
        runbooks = list(library.runbooks.values()) if library is not None else []
        self.check_problems = problems_from_results(self.latest.results(), runbooks, kinds)
        self._set_subtitle()
        if self.check_problems and library is None:
            self._want_library()  # problems want their runbooks: read the library now

    def _want_library(self) -> None:
        """Read the runbook library now (once): every target has answered, a sweep ended, or
        problems want their runbooks."""
        load_library = getattr(self.app, "load_library", None)
        if load_library is not None:
            load_library()

    def on_main_screen_log_problems(self, message: MainScreen.LogProblems) -> None:
        if self.selected is None or message.node_id != self.selected.id:
            return
        # A line found twice (its batch, then the shown lines once the runbooks came in, or
        # the same line again later) is one problem.
        new = [problem for problem in message.problems if problem not in self.log_problems]
        self.log_problems = (self.log_problems + new)[-MAX_LOG_PROBLEMS:]
        self._set_subtitle()

    def show_problems(self) -> None:
        from tui.screens.problems import ProblemsScreen

        def chosen(problem: Problem | None) -> None:
            if problem is None:
                return
            self.select_by_id(problem.node_id)
            runbook = problem.suggestions[0].runbook.id if problem.suggestions else None
            self.app.open_walkthrough(symptom=problem.text, runbook_id=runbook)  # type: ignore[attr-defined]

        self.app.push_screen(ProblemsScreen(self.problems), chosen)
        if getattr(self.app, "library", None) is None:
            self._want_library()  # the list's runbooks: read the library now (it updates)
