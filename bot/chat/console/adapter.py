"""The console: a chat with the bot in a terminal, or a script piped into it.

It is a real adapter like the others (same `OpsBot.handle`), which is why scripts and
end-to-end tests drive the bot through it. A line may start with `@<member> ` to speak
as that member for that line.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from bot.core.messages import Command
from bot.core.render.text import render_text
from bot.runtime.app import OpsBot
from bot.runtime.delivery import OutgoingMessage

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


class ConsoleAdapter:
    def __init__(self, bot: OpsBot, *, team_id: str, speaker: str) -> None:
        self.bot = bot
        self.team_id = team_id
        self.speaker = speaker

    def reply_to(self, line: str) -> str | None:
        """The rendered reply to one line, or None for a blank line."""
        text = line.strip()
        if not text:
            return None
        speaker = self.speaker
        match = SPEAKER_PREFIX.match(text)
        if match:
            speaker, text = match.group(1), match.group(2).strip()
        command = Command(text=text, team_id=self.team_id, user_id=speaker, platform="console")
        return render_text(self.bot.handle(command))

    def run_script(self, lines: TextIO, out: TextIO) -> None:
        """Piped input: one message per line, each reply printed as it comes."""
        for line in lines:
            reply = self.reply_to(line)
            if reply is not None:
                out.write(reply + "\n")
                out.flush()

    def run_interactive(self, out: TextIO, read_line: Callable[[str], str] = input) -> None:
        with contextlib.suppress(ImportError):  # not on every platform
            import readline  # noqa: F401  (line editing and history for input())
        team = self.bot.settings.team(self.team_id)
        out.write(
            self.bot.t("console.banner", team=team.display_name, locale=self.bot.settings.locale)
            + "\n"
        )
        while True:
            try:
                line = PROMPT.read(read_line, f"{self.speaker}> ")
            except (EOFError, KeyboardInterrupt):
                out.write("\n")
                return
            if line.strip().casefold() in QUIT_WORDS:
                return
            reply = self.reply_to(line)
            if reply is not None:
                out.write(reply + "\n")


class ConsoleSender:
    """Delivers the team's posts to the terminal when no chat platform is configured."""

    def __init__(self, out: TextIO, *, team_names: dict[str, str]) -> None:
        self.out = out
        self.team_names = team_names

    def send(self, message: OutgoingMessage) -> None:
        if message.target == "team":
            heading = f"📣 {self.team_names.get(message.team_id, message.team_id)}"
        else:
            heading = f"✉️ @{message.target.removeprefix('member:')}"
        PROMPT.write_above(
            self.out, f"── {heading} · {message.kind} ──\n{render_text(message.reply)}\n"
        )
