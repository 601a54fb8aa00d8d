"""The command palette's cartui commands: every action of the app, found by name."""

from typing import Callable

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

# (name, help, callback), as the app's palette_commands() returns them.
PaletteCommand = tuple[str, str, Callable[[], object]]


class CartuiCommands(Provider):
    """Searches `app.palette_commands()`. Names and help are shown literally
    (Content, never markup): a help text like "key [" stays as it is."""

    async def startup(self) -> None:
        # Asked once per opening of the palette, not at every keystroke.
        palette_commands = getattr(self.app, "palette_commands", None)
        self.commands: list[PaletteCommand] = list(palette_commands()) if palette_commands else []

    async def discover(self) -> Hits:
        for name, help_text, callback in self.commands:
            yield DiscoveryHit(Content(name), callback, text=name, help=_help(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self.commands:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, _highlight(matcher, name), callback, text=name,
                          help=_help(help_text))


def _highlight(matcher: Matcher, name: str) -> Content:
    """The name with the matched letters styled: Matcher.highlight would read it as markup."""
    _, offsets = matcher.fuzzy_search.match(matcher.query, name)
    content = Content(name)
    for offset in offsets:
        content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


def _help(help_text: str) -> Content | None:
    # The palette reads a str help as markup; Content passes through as it is.
    return Content(help_text) if help_text else None
