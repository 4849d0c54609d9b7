"""The console: a chat with the bot in a terminal, or a script piped into it.

It is a real chat plug-in like the others (the same dispatcher), which is why scripts
and end-to-end tests drive the bot through it. A line may start with `@<member> ` to
speak as that member for that line.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from bot.core.dispatch import Delivery, Dispatcher
from bot.core.i18n import Translator
from bot.core.messages import Command, Reply
from bot.core.outbound import OutgoingMessage
from bot.core.render.text import render_text

SPEAKER_PREFIX = re.compile(r"^[@＠]([\w.\-]{1,64})\s+(.*)$", re.DOTALL)
QUIT_WORDS = {"/quit", "/exit", "/退出"}
CLEAR_LINE = "\r\x1b[K"


class Prompt:
    """The prompt the person is typing at, so that a post the scheduler prints from its
    thread lands above the line being typed instead of in the middle of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._showing: str | None = None

    def read(self, read_line: Callable[[str], str], prompt: str) -> str:
        with self._lock:
            self._showing = prompt
        try:
            return read_line(prompt)
        finally:
            with self._lock:
                self._showing = None

    def write_above(self, out: TextIO, text: str) -> None:
        """Write `text` (whole lines); on a terminal at the prompt, clear the line first
        and show the prompt again, with what had been typed, below it."""
        with self._lock:
            if self._showing is None or not out.isatty():
                out.write(text)
            else:
                out.write(f"{CLEAR_LINE}{text}{self._showing}{_typed_so_far()}")
            out.flush()


def _typed_so_far() -> str:
    readline = sys.modules.get("readline")  # loaded by `run_interactive` where it exists
    return readline.get_line_buffer() if readline is not None else ""


PROMPT = Prompt()  # one terminal per process
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text for a terminal: control characters (an escape sequence in a stored title
    from before they were refused, say) shown as `\\x1b`, never sent raw."""
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group(0)):02x}", text)


class PromptLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log lines that land above the line being typed, as the scheduler's posts do, so a
    warning from another thread never breaks into what the person is typing."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            PROMPT.write_above(self.stream, self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def keep_logs_off_the_prompt() -> None:
    """Replace the root logger's stream handlers with `PromptLogHandler`s that write to
    the same stream, with the same format and filters (the secret masking)."""
    root = logging.getLogger()
    for index, handler in enumerate(list(root.handlers)):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, PromptLogHandler):
            safe = PromptLogHandler(handler.stream)
            safe.setFormatter(handler.formatter)
            safe.setLevel(handler.level)
            for log_filter in handler.filters:
                safe.addFilter(log_filter)
            root.handlers[index] = safe


def is_quit(line: str) -> bool:
    """Whether the line asks to leave (`/quit`, `/exit`, `/退出`), in a chat or a script."""
    return line.strip().casefold() in QUIT_WORDS


PLATFORM = "console"


class ConsoleAdapter:
    """A terminal chat (or a piped script) with one team, as one member by default."""

    def __init__(
        self, dispatcher: Dispatcher, t: Translator, *, team_id: str, team_name: str, speaker: str
    ) -> None:
        self.dispatcher = dispatcher
        self.t = t
        self.team_id = team_id
        self.team_name = team_name
        self.speaker = speaker

    def answer(self, text: str, speaker: str) -> Reply:
        command = Command(text=text, team_id=self.team_id, user_id=speaker)
        reply = self.dispatcher.dispatch(command, Delivery(PLATFORM))
        assert reply is not None  # only a platform's retried delivery goes unanswered
        return reply

    def reply_to(self, line: str) -> str | None:
        """The rendered reply to one line, or None for a blank line."""
        text = line.strip()
        if not text:
            return None
        speaker = self.speaker
        match = SPEAKER_PREFIX.match(text)
        if match:
            speaker, text = match.group(1), match.group(2).strip()
        return printable(render_text(self.answer(text, speaker)))

    def run_script(self, lines: TextIO, out: TextIO) -> None:
        """Piped input: one message per line, each reply printed as it comes.

        `/quit` ends a script as it ends a chat: the lines after it do not run (a script
        is often an interactive session saved to a file)."""
        for line in lines:
            if is_quit(line):
                return
            reply = self.reply_to(line)
            if reply is not None:
                out.write(reply + "\n")
                out.flush()

    def run_interactive(self, out: TextIO, read_line: Callable[[str], str] = input) -> None:
        with contextlib.suppress(ImportError):  # not on every platform
            import readline  # noqa: F401  (line editing and history for input())
        out.write(self.t("console.banner", team=self.team_name, locale=self.t.locale) + "\n")
        while True:
            try:
                line = PROMPT.read(read_line, f"{self.speaker}> ")
            except (EOFError, KeyboardInterrupt):
                out.write("\n")
                return
            if is_quit(line):
                return
            reply = self.reply_to(line)
            if reply is not None:
                out.write(reply + "\n")


class ConsoleSender:
    """Delivers the team's posts to the terminal when no chat platform is configured."""

    def __init__(self, out: TextIO | None = None, *, team_names: dict[str, str]) -> None:
        self._out = out
        self.team_names = team_names

    @property
    def out(self) -> TextIO:
        return self._out if self._out is not None else sys.stdout  # as it is at send time

    def send(self, message: OutgoingMessage) -> None:
        if message.to_team:
            heading = f"📣 {self.team_names.get(message.team_id, message.team_id)}"
        else:
            heading = f"✉️ @{message.target.removeprefix('member:')}"
        PROMPT.write_above(
            self.out, f"── {heading} · {message.kind} ──\n{printable(render_text(message.reply))}\n"
        )
