"""The footer: one line of the keys that work now, redrawn only when they change."""

from __future__ import annotations

from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static


class KeyFooter(Static):
    """The active bindings that show, as one line of text; clicking a key presses it.

    Textual's Footer is a widget per key, rebuilt (and the whole screen laid out again) each
    time the focus moves. Opening the log prompt during a flood then cost two full frames;
    this footer changes one line of text, and only when the keys it shows are different."""

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)
        self.shown: Content = Content("")

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.watch(self.screen, "maximized", lambda: self.bindings_changed(self.screen))
        self.bindings_changed(self.screen)

    def keys(self) -> Content:
        parts: list[Content] = []
        seen: set[str] = set()
        if self.screen.maximized is not None:  # Textual's own key, not a binding: said here
            parts.append(
                Content.assemble((" esc ", "bold $footer-key-foreground"), "Restore the panes ")
            )
        for _, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue  # one hint per action (ctrl+f and \ both filter)
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            style = "" if enabled else "dim"
            parts.append(
                Content.assemble(
                    (f" {key} ", f"bold $footer-key-foreground {style}".strip()),
                    (binding.description, style),
                    " ",
                ).stylize(f"@click=press({key_argument(binding.key)})")
            )
        palette = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            key = self.app.get_key_display(palette.binding)
            parts.append(
                Content.assemble((f" {key} ", "bold $footer-key-foreground"), "palette").stylize(
                    f"@click=press({key_argument(palette.binding.key)})"
                )
            )
        return Content("").join(parts)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        keys = self.keys()
        if keys != self.shown:
            self.shown = keys
            self.update(keys, layout=False)

    def action_press(self, key: str) -> None:
        """A click on a hint works as its key."""
        self.app.simulate_key(key)


def key_argument(keys: str) -> str:
    """The first key of a binding as a quoted action argument."""
    return repr(keys.split(",")[0].strip())
