"""Progress shows on a terminal and stays silent in pipes and logs."""

from __future__ import annotations

import io

from bot.runtime.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal() -> None:
    screen = Terminal()
    progress = Progress("importing", 4, stream=screen)
    for done in range(1, 5):
        progress.update(done)
    progress.finish()
    assert screen.getvalue().split("\r")[1:] == [
        "importing  25%", "importing  50%", "importing  75%", "importing 100%\n",
    ]  # fmt: skip


def test_no_progress_in_a_pipe() -> None:
    pipe = io.StringIO()
    progress = Progress("importing", 4, stream=pipe)
    progress.update(2)
    progress.finish()
    assert pipe.getvalue() == ""
