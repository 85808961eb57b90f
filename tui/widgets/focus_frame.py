"""A pane whose border shows that the focus is inside it, without `:focus-within` in CSS.

With `:focus-within`, Textual restyles the pane and everything in it at every focus change
inside the pane, even when the border stays as it was: opening the log prompt (the focus goes
from the view to the input) restyled the view's dozen component classes and the input's,
~20 ms of a key's frame under a flood. Here the class changes only when the answer does.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget

FOCUSED = "-focus-inside"


class FocusFrame(Widget):
    def _on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.set_class(True, FOCUSED)

    def _on_descendant_blur(self, event: events.DescendantBlur) -> None:
        # The focus may have moved to another widget in the pane: the class then stays.
        self.call_later(lambda: self.set_class(self.has_focus_within, FOCUSED))
