"""`opsbot run` on a terminal: what the scheduler posts while someone is typing appears
above their line, and their prompt comes back below it."""

from __future__ import annotations

import io

from bot.chat.console.adapter import CLEAR_LINE, ConsoleAdapter, ConsoleSender
from bot.core.messages import Reply
from bot.core.outbound import OutgoingMessage
from tests.conftest import BotDriver


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def morning_post() -> OutgoingMessage:
    return OutgoingMessage(1, "content", "team", "content", "digest", "k", Reply("☀️ 早安"))


def test_a_post_printed_at_the_prompt_lands_above_it_and_the_prompt_comes_back(
    bot: BotDriver,
) -> None:
    screen = Terminal()
    sender = ConsoleSender(screen, team_names={"content": "内容组"})
    answers = iter(["/quit"])

    def read_line(prompt: str) -> str:
        screen.write(prompt)
        sender.send(morning_post())  # the scheduler's thread, while alice types
        return next(answers)

    console = ConsoleAdapter(
        bot.bot, bot.bot.t, team_id="content", team_name="内容组", speaker="alice"
    )
    console.run_interactive(screen, read_line)

    shown = screen.getvalue().split("\n", 1)[1]  # after the banner
    assert shown == f"alice> {CLEAR_LINE}── 📣 内容组 · digest ──\n☀️ 早安\nalice> "


def test_away_from_a_prompt_posts_are_plain_lines() -> None:
    piped = io.StringIO()
    ConsoleSender(piped, team_names={"content": "内容组"}).send(morning_post())

    assert piped.getvalue() == "── 📣 内容组 · digest ──\n☀️ 早安\n"


def test_a_log_line_at_the_prompt_lands_above_it_too(bot: BotDriver) -> None:
    import logging

    from bot.chat.console.adapter import PromptLogHandler

    screen = Terminal()
    handler = PromptLogHandler(screen)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("opsbot.test.prompt")
    logger.addHandler(handler)
    logger.propagate = False
    answers = iter(["/quit"])

    def read_line(prompt: str) -> str:
        screen.write(prompt)
        logger.warning("feishu: the long connection dropped")  # from another thread
        return next(answers)

    try:
        console = ConsoleAdapter(
            bot.bot, bot.bot.t, team_id="content", team_name="内容组", speaker="alice"
        )
        console.run_interactive(screen, read_line)
    finally:
        logger.removeHandler(handler)

    shown = screen.getvalue().split("\n", 1)[1]
    assert shown == f"alice> {CLEAR_LINE}WARNING feishu: the long connection dropped\nalice> "
