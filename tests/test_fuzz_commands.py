"""Ten thousand random command lines through the dispatcher (issue 20, "How it must be
shown"): not one internal error, not one exception out of `dispatch`, and a refusal
stores nothing.

The lines come from a grammar built from the registry, not from a hand list: every
family and sub-command of `handlers.registry.ALL_FAMILIES` in every spelling (`/选题 新增`,
`/topic add` …), its arguments shaped by its own usage line in the catalogue
(`<id>`, `<when>`, `[p:platform]` …), filled with the words the parsers know (the
content platforms, metrics, weekdays, quadrants, roles …), real-looking values and
hostile bits. Members speak on the console (a line starting `@bob `) and from Slack in
the team's channel, as known people and newcomers, while a frozen clock moves on.

A write is seen by triggers the test puts on every exported table: each committed row
change bumps a counter, so "a refusal changed nothing" is one cheap query per line; a
sample of refusals also compares the full export before and after.

Two cases have tests of their own at the end rather than a place in the grammar: lone
surrogates (`"\\ud800"`, which no database can store: the dispatcher refuses them) and
a chat platform id longer than a member's handle may be (64 characters: the newcomer's
handle is cut and made unique).
"""

from __future__ import annotations

import logging
import random
import re
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import Engine, inspect, text

from bot.chat.console.adapter import ConsoleAdapter
from bot.chat.slack.render import render_messages
from bot.core.clock import FrozenClock
from bot.core.commands import CommandFamily, SubCommand
from bot.core.dispatch import Delivery
from bot.core.i18n import Translator
from bot.core.messages import Command, Mention, Reply
from bot.core.router import COMMAND_PREFIXES, FAMILY_HELP_WORDS
from bot.runtime import scheduler as scheduler_module
from bot.runtime.app import OpsBot
from bot.runtime.scheduler import Scheduler
from bot.vocab import when
from bot.vocab.arguments import OPTION_KEYS, QUOTES
from bot.vocab.content_platforms import BUILTIN_PLATFORMS
from bot.vocab.metrics import METRICS
from handlers import help, kpi, publish, standup, summary, tasks, team, topics
from handlers.registry import ALL_FAMILIES
from tests.conftest import DEFAULT_MEMBERS, DEFAULT_NOW, BotDriver, make_settings

SEED = 20
SQLITE_LINES = 10_000
POSTGRES_LINES = 1_000
FULL_EXPORT_SAMPLE = 0.03  # of the lines, an export before; compared after a refusal
HEAL_EVERY = 150  # lines between putting the configured members back
MAX_FAILURES = 40  # enough to see every kind; more would only repeat them

SLACK_CHANNEL = "C0123"
SLACK_IDS = {"alice": "U0ALICE", "bob": "U0BOB", "dave": "U0DAVE"}  # carol: console only
SLACK_NEWCOMERS = ("U0NEW1", "U0NEW2", "U0NEW3")

# -- the words --------------------------------------------------------------------------

ZH_TITLES = (
    "冬至节气海报", "双十一战报", "冬季护肤指南", "整理用户反馈", "年终盘点：十大爆款",
    "圣诞 礼盒 开箱", "春节回家攻略", "新品上市（含视频版）", "小红书 种草 笔记", "直播复盘",
    "和上周内容重复", "标题太长，控制在 20 字以内", "服务器挂了", "写周报", "拍 vlog",
)  # fmt: skip
EN_TITLES = (
    "Winter solstice poster", "Singles' Day results", "Sort user feedback",
    "Plan Q1 campaign", "repeats last week's post", "the server is down",
)  # fmt: skip
HOSTILE = (
    "\x00", "\x1b[31m", "\x1b]0;title\x07", "\x08", "\x7f", "\x85", "\u202e", "\u200f",
    "\u200b", "\ufeff", "\u3000", "\t", "\n", "\r\n", "🔥", "👨‍👩‍👧", "🇨🇳", "e\u0301",
    "长" * 300, "w" * 5000, "#" * 40, '"', "'", "「", "“", "『", "」", "%s%s%n", "{0}", "{id}",
    "{}", "\\", "'; DROP TABLE topics;--", "NULL", "None", "１２", "／", "＠", "＃", "：",
    "<@U0BOB>", "<script>", "&amp;", "*bold*", "`code`", "@⟦0⟧", "@⟦9⟧", "9" * 5000,
)  # fmt: skip
# Each kind of value: what a person means to type (most of the time, so that commands
# reach their records), then what is out of range, malformed or both.
NUMBERS = (
    ("12000", "12,000", "12，000", "1,234,567", "12000.5", "1.2万", "1.2w", "3.5k", "3.5千",
     "1.5亿", "0", "340", "１２０００"),
    ("-5", "－5", "−5", "1e309", "99999999999999999999", "1" * 400, "1,2", "12,00", "NaN",
     "inf", "1²", "0.0000001", ".5", "5.", "十二", "1.2.3", "9" * 30 + "亿", "9" * 308,
     "9" * 5000, "1" + "0" * 15, "1000万亿", "0" * 5000 + "1"),
)  # fmt: skip
IDS = (
    tuple(str(n) for n in range(1, 13)) * 4 + tuple(str(n) for n in range(13, 150)) + ("#1", "#2"),
    ("0", "-1", "999999", "2147483647", "2147483648", "99999999999999999999", "１", "1.5",
     "abc", "#", "٣", "1e3", "#-1", "+1", "9" * 5000, "0" * 5000 + "1"),
)  # fmt: skip
DAYS = (
    ("明天", "后天", "tomorrow", "周三", "下周三", "这周五", "friday", "next mon", "12-24",
     "2026-12-31", "12月25日", "2026年12月24日", "十二月二十五日", "今天", "today",
     "2027-03-14", "2027-11-07"),  # the days America/New_York skips and repeats an hour
    ("9999-12-31", "1969-01-01", "1970-01-01", "2100-12-31", "2101-01-01", "0001-01-01",
     "2026-02-30", "2026-13-01", "昨天", "前天", "上周一", "last sun", "next-mon", "11/24",
     "2026/11/24", "11月24号", "二〇二六年十一月二十四日", "2026-W53", "礼拜天", "大后天"),
)  # fmt: skip
TIMES = (
    ("20:00", "8:30", "20：00", "8点", "8点半", "8点30", "8点30分", "八点半", "20时30分", "8pm",
     "23:59", "9:00", "2:30", "1:30"),
    ("12点", "25:99", "24:00", "0:00", "99点", "8点5", "12am", "0pm", "-1:00", "8", "8点一刻",
     "8:30 pm", "20:00:00", "20:60"),
)  # fmt: skip
DURATIONS = (
    ("~30m", "~2h", "~1.5h", "~1h30m", "~2小时", "~半小时", "～45分钟", "~16h"),
    ("~0m", "~17h", "~-1h", "~1e9h", "~", "~h", "~1.25m", "~99999999999999999999h"),
)  # fmt: skip
URLS = (
    ("https://mp.weixin.qq.com/s/abc", "https://www.xiaohongshu.com/explore/1"),
    ("http://x", "javascript:alert(1)", "ftp://x", "https://" + "a" * 3000 + ".com",
     "mp.weixin.qq.com/s/abc", "https://例子.中国/路径", "https://"),
)  # fmt: skip
MONTHS = (
    ("2026-11", "2026-12", "2027-1", "2027-01"),
    ("2026-13", "2026-00", "9999-12", "1969-12", "26-11", "2026/11", "2026年11月", "2026-1-1"),
)  # fmt: skip
WEEKS = (
    ("2026-W48", "2026-W47", "2026-W53", "2027-W01", "W48", "w1", "this", "last", "本周", "上周"),
    ("9999-W52", "1969-W01", "2026-W00", "2026W48", "2026-w60", "2026-W99999999999999999999"),
)  # fmt: skip
HANDLES = (
    ("alice", "bob", "carol", "dave", "me", "我", "Bob", "zoe", "erin"),
    ("自己", "nobody", "bob.", "a" * 65, "bob@carol", "小明", "opsbot", "", "⟦0⟧"),
)  # fmt: skip
TAGS = (
    ("#节日", "#促销#节日", "#holiday", "＃视频", "#双十一", "#视频"),
    ("#", "##", "#" + "长" * 31, "#a#b#c#d#e#f#g#h#i#j#k", "#a##b", "#\u200b"),
)  # fmt: skip
RATINGS = (("1", "2", "3", "4", "5"), ("0", "6", "-1", "五", "3.5", "", "05", "５", "5" * 5000))
SPEAKERS = (("alice", 30), ("bob", 20), ("carol", 15), ("dave", 20), ("zoe", 3), ("erin", 3),
            ("nobody", 2))  # fmt: skip


def _keys(*tables: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({word for table in tables for word in table}))


def _groups(*tables: dict[str, str] | set[str]) -> dict[str, tuple[str, ...]]:
    """Word → every spelling of what it means, from the parsers' own tables."""
    groups: dict[str, set[str]] = {}
    for table in tables:
        if isinstance(table, dict):
            for meaning in set(table.values()):
                spellings = {word for word, meant in table.items() if meant == meaning}
                for word in spellings | {meaning}:
                    groups.setdefault(word, set()).update(spellings | {meaning})
        else:
            for word in table:
                groups.setdefault(word, set()).update(table)
    return {word: tuple(sorted(spellings)) for word, spellings in groups.items()}


SYNONYMS = _groups(
    topics._FILTER_WORDS, tasks.QUADRANT_WORDS, tasks.EVERYONE_WORDS, tasks.MINE_WORDS,
    publish.THIS_WEEK_WORDS, publish.NEXT_WEEK_WORDS, publish.ALL_WORDS, publish.MINE_WORDS,
    kpi.MONTH_WORDS, kpi.WEEK_WORDS, summary.THIS_WEEK_WORDS, summary.LAST_WEEK_WORDS,
    team._ROLE_WORDS, standup.TASK_FLAGS,
)  # fmt: skip
TEAM_PLATFORMS = ("wechat", "xiaohongshu", "douyin")  # open_fuzz_bot's team
PLATFORM_WORDS = (
    _keys(*((p.key, p.chinese, *p.aliases) for p in BUILTIN_PLATFORMS if p.key in TEAM_PLATFORMS)),
    _keys(*((p.key, p.english, p.chinese) for p in BUILTIN_PLATFORMS), ("nowhere", "", "WECHAT",
          "小 红书", "WeChat Channels")),
)  # fmt: skip
METRIC_WORDS = (
    _keys(*((m.key, m.english.replace(" ", "_"), m.chinese, *m.aliases) for m in METRICS)),
    ("clicks", "阅读 量", "", "=", "reads=", "阅读=阅读"),
)
DAYS = (_keys(DAYS[0], when.RELATIVE_DAYS, when.WEEKDAYS), DAYS[1])
PERIOD_WORDS = _keys(when._PERIOD_WORDS)
DAY_WITH_PERIOD = _keys(when._DAYS_WITH_PERIOD)
ROLE_WORDS = _keys(team._ROLE_WORDS, ("boss", "role=", "role=admin", "role=编辑", "role=boss"))
STANDUP_LABELS = _keys(standup._LABELS, ("明天", "x"))
EVERY_FAMILY_WORD = _keys(
    *(family.spellings for family in ALL_FAMILIES),
    *(sub.spellings for family in ALL_FAMILIES for sub in family.subcommands),
    help.WHEN_WORDS, FAMILY_HELP_WORDS,
)  # fmt: skip


class Grammar:
    """Random command lines, the same ones for the same seed."""

    def __init__(self, seed: int, catalogue: Translator) -> None:
        self.rng = random.Random(seed)
        self.catalogue = catalogue  # for the usage lines; English names the placeholders
        # What each `<placeholder>` (and each option-like word) of a usage line becomes.
        self.makers: dict[str, Callable[[], str]] = {
            "title": self.title, "new title": self.title, "text": self.title,
            "reason": self.title, "…": self.title, "id": self.id, "post-id": self.id,
            "lesson": self.title, "post id": self.id,
            "platform": self.platform, "when": self.when, "date": self.day, "from": self.day,
            "to": self.day, "number": self.number, "metric": self.metric, "url": self.url,
            "YYYY-MM": self.month, "YYYY-Www": self.week, "1-5": self.rating,
            "command": self.help_word, "#tag": self.tags, "@member": self.mention,
            "@reviewer": self.mention, "~duration": self.duration, "tasks": self.task_flag,
            "yesterday": self.standup_label, "today": self.standup_label,
            "blockers": self.standup_label,
            "rule": lambda: self.pick(("每周三 20:00", "every fri 18:00", "每月1号 10:00",
                                       "每周八", "monthly 31st 9:00")),
            "name": lambda: self.pick(("双十一", "618", "Q1-launch", "两个 词")),
            "campaign": lambda: self.pick(("双十一", "618", "nope")),
            "n": self.number,
            "worked": lambda: self.pick(("worked:", "做得好：", "worked", "不足：")),
            "didnt": lambda: self.pick(("didnt:", "不足：", "didnt", "做得好：")),
        }  # fmt: skip

    # -- values -------------------------------------------------------------------------

    def pick(self, options: Iterable[str]) -> str:
        return self.rng.choice(tuple(options))

    def of(self, pools: tuple[tuple[str, ...], tuple[str, ...]], good: float = 0.8) -> str:
        """Mostly what a person means to type, else something out of range or malformed."""
        return self.pick(pools[0] if self.rng.random() < good else pools[1])

    def title(self) -> str:
        words = self.pick(ZH_TITLES if self.rng.random() < 0.75 else EN_TITLES).split()
        if self.rng.random() < 0.08:
            words.insert(self.rng.randrange(len(words) + 1), self.pick(HOSTILE))
        if self.rng.random() < 0.08:
            opening = self.pick(QUOTES)
            closing = QUOTES[opening] if self.rng.random() < 0.7 else ""
            words = [f"{opening}{' '.join(words)}{closing}"]
        return " ".join(words)

    def id(self) -> str:
        return self.of(IDS)

    def platform(self) -> str:
        return self.of(PLATFORM_WORDS)

    def day(self) -> str:
        return self.of(DAYS)

    def when(self) -> str:
        shape = self.rng.randrange(9)
        day, hour, part = self.day(), self.of(TIMES), self.pick(PERIOD_WORDS)
        words = [
            [day, hour], [day, hour], [day, hour], [day, part, hour], [hour, day], [day],
            [self.pick(DAY_WITH_PERIOD), str(self.rng.randint(0, 13))], [day, part], [hour],
        ][shape]  # fmt: skip
        return ("" if self.rng.random() < 0.15 else " ").join(words)

    def number(self) -> str:
        return self.of(NUMBERS)

    def metric(self) -> str:
        return self.of(METRIC_WORDS)

    def url(self) -> str:
        return self.of(URLS)

    def month(self) -> str:
        return self.of(MONTHS)

    def week(self) -> str:
        return self.of(WEEKS)

    def rating(self) -> str:
        return self.of(RATINGS)

    def help_word(self) -> str:
        return self.pick(EVERY_FAMILY_WORD)

    def tags(self) -> str:
        return self.of(TAGS)

    def mention(self) -> str:
        return self.pick(("@", "@", "＠")) + self.of(HANDLES)

    def duration(self) -> str:
        return self.of(DURATIONS)

    def task_flag(self) -> str:
        return self.pick(standup.TASK_FLAGS)

    def standup_label(self) -> str:
        return self.pick(STANDUP_LABELS) + self.pick((":", "：", ": ", " :")) + self.title()

    def standup_answer(self) -> str:
        parts = [self.standup_label() for _ in range(self.rng.randint(1, 3))]
        if self.rng.random() < 0.2:
            parts.append(self.task_flag())
        return self.pick((" | ", "\n", "｜", " ")).join(parts)

    def option(self, key: str) -> str:
        """`p:…`, `t:…`: the option under one of its spellings, with either colon."""
        spelling = self.pick(word for word, meant in OPTION_KEYS.items() if meant == key)
        value = self.platform() if key == "p" else self.rating()
        return f"{spelling}{self.pick((':', '：'))}{value}"

    # -- lines --------------------------------------------------------------------------

    def line(self) -> str:
        roll = self.rng.random()
        if roll < 0.03:  # words from anywhere, in any order
            return " ".join(self.noise() for _ in range(self.rng.randint(1, 6)))
        if roll < 0.05:  # not a command: a stand-up answer, in a direct message
            return self.title() if self.rng.random() < 0.3 else self.standup_answer()
        family = self.pick_family()
        words = [self.family_word(family)]
        subcommand = self.pick_subcommand(family)
        if subcommand is None:
            if self.rng.random() < 0.5:
                words.append(self.pick((*FAMILY_HELP_WORDS, "nonsense", "ad", "addd", "")))
        else:
            if subcommand.name:
                words.append(self.pick(subcommand.spellings))
                if self.rng.random() < 0.05:
                    words[-1] = words[-1].upper()
            words.extend(self.arguments(subcommand))
        return " ".join(self.mutate(words))

    def pick_family(self) -> CommandFamily:
        return self.rng.choice(ALL_FAMILIES)

    def family_word(self, family: CommandFamily) -> str:
        slash = self.pick(COMMAND_PREFIXES) if self.rng.random() < 0.98 else ""
        word = self.pick(family.spellings)
        return slash + (word.upper() if self.rng.random() < 0.03 else word)

    def pick_subcommand(self, family: CommandFamily) -> SubCommand | None:
        choices: list[SubCommand | None] = [*family.subcommands]
        if family.default is not None:
            choices += [family.default] * max(1, len(choices) // 2)
        if self.rng.random() < 0.05:
            return None
        return self.rng.choice(choices) if choices else None

    def arguments(self, subcommand: SubCommand) -> list[str]:
        usage = self.catalogue(f"{subcommand.catalogue_key}.usage")
        words: list[str] = []
        for token in usage_tokens(usage)[1 + bool(subcommand.name) :]:
            words.extend(self.expand(token))
        return words

    def expand(self, token: str) -> list[str]:
        """The words one usage token stands for: `[…]` maybe, `a|b` one of them, `…` one
        or more, `<x>` a value, an option-like word its value, a keyword one spelling."""
        if token.startswith("[") and token.endswith("]"):
            if self.rng.random() < 0.45:
                return []
            token = token[1:-1].strip()
        if re.fullmatch(r"<[^<>]*\|[^<>]*>", token):  # `<admin|editor|member>`: one of them
            token = token[1:-1]
        if "|" in token:
            token = self.pick(part.strip() for part in token.split("|"))
        if " " in token:
            return [word for part in usage_tokens(token) for word in self.expand(part)]
        repeat = token.endswith("…") and token != "…"
        token = token.removesuffix("…") if repeat else token
        count = self.rng.choice((1, 1, 2, 3)) if repeat else 1
        return [self.value(token) for _ in range(count)]

    def value(self, token: str) -> str:
        if token in self.makers:
            return self.makers[token]()
        if re.fullmatch(r"\+?\w+:", token) or token.rstrip(":") in self.makers:
            return self.makers[token.rstrip(":")]()
        if token in ("p:platform", "p:<platform>"):
            return self.option("p")
        if re.fullmatch(r"[tvc]:(<1-5>|1-5)", token):
            return self.option(token[0])
        if token.startswith("role="):
            return self.pick(("role=", "")) + self.pick(ROLE_WORDS)
        if "<" in token:
            return re.sub(r"<([^>]+)>", lambda found: self.placeholder(found.group(1)), token)
        if token.startswith("+"):
            return self.task_flag()
        if token in SYNONYMS:
            return self.pick(SYNONYMS[token])
        return token

    def placeholder(self, name: str) -> str:
        maker = self.makers.get(name)
        return maker() if maker else self.noise()

    def noise(self) -> str:
        """Any word at all: a value of any kind, a command word, something hostile."""
        makers = (self.title, self.id, self.platform, self.when, self.number, self.metric,
                  self.mention, self.duration, self.help_word, self.tags, self.week)  # fmt: skip
        if self.rng.random() < 0.25:
            return self.pick(HOSTILE)
        if self.rng.random() < 0.1:
            return self.pick(ROLE_WORDS)
        return self.rng.choice(makers)()

    def mutate(self, words: list[str]) -> list[str]:
        rng = self.rng
        words = list(words)
        if rng.random() < 0.12:
            words.insert(rng.randint(1, len(words)), self.pick(HOSTILE))
        if rng.random() < 0.08:
            words.insert(rng.randint(1, len(words)), self.noise())
        if len(words) > 2 and rng.random() < 0.05:
            del words[rng.randrange(2, len(words))]
        if len(words) > 2 and rng.random() < 0.03:
            words.insert(rng.randrange(2, len(words)), rng.choice(words[2:]))
        if len(words) > 1 and rng.random() < 0.03:
            index = rng.randrange(len(words) - 1)
            words[index : index + 2] = [words[index] + words[index + 1]]
        return words


def usage_tokens(usage: str) -> list[str]:
    """`/topic add <title> [#tag…] [yesterday: … | today: …]` → its tokens, brackets kept whole."""
    return re.findall(r"\[[^\]]*\]|\S+", usage)


# -- who speaks, and what is checked ----------------------------------------------------


class RecordingDispatcher:
    """Between the console adapter and the bot, keeping the Reply behind the text."""

    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot
        self.last: Reply | None = None
        self.calls = 0

    def dispatch(self, command: Command, delivery: Delivery) -> Reply | None:
        self.calls += 1
        self.last = self.bot.dispatch(command, delivery)
        return self.last


class WriteCounter:
    """Triggers on every exported table bump one counter per committed row change, so a
    refusal that left a write behind shows in one query (inbound_events, the record of a
    platform's delivery, is written for refusals too, on purpose, and is not exported)."""

    UNWATCHED = frozenset({"inbound_events", "alembic_version", "fuzz_writes"})

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        tables = [t for t in inspect(engine).get_table_names() if t not in self.UNWATCHED]
        assert {"topics", "posts", "tasks", "members", "outbox"} <= set(tables)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE fuzz_writes (n BIGINT NOT NULL)"))
            connection.execute(text("INSERT INTO fuzz_writes (n) VALUES (0)"))
            if engine.dialect.name == "postgresql":
                connection.execute(text(
                    "CREATE FUNCTION fuzz_count_write() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN UPDATE fuzz_writes SET n = n + 1; RETURN NULL; END $$"
                ))  # fmt: skip
                for table in tables:
                    connection.execute(text(
                        f'CREATE TRIGGER "fuzz_{table}" AFTER INSERT OR UPDATE OR DELETE '
                        f'ON "{table}" FOR EACH ROW EXECUTE FUNCTION fuzz_count_write()'
                    ))  # fmt: skip
            else:
                for table in tables:
                    for event in ("INSERT", "UPDATE", "DELETE"):
                        connection.execute(text(
                            f'CREATE TRIGGER "fuzz_{table}_{event.lower()}" AFTER {event} '
                            f'ON "{table}" BEGIN UPDATE fuzz_writes SET n = n + 1; END'
                        ))  # fmt: skip

    def value(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text("SELECT n FROM fuzz_writes")).scalar_one())


class FailedJobs(logging.Handler):
    """The scheduler's log of a job that raised (it is tried again later, so nobody else
    would notice)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        logging.getLogger(scheduler_module.__name__).addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)  # fills exc_text
        self.records.append(record)

    def drain(self) -> list[logging.LogRecord]:
        drained, self.records = self.records, []
        return drained

    def close(self) -> None:
        logging.getLogger(scheduler_module.__name__).removeHandler(self)
        super().close()


@dataclass
class FuzzRun:
    bot: OpsBot
    clock: FrozenClock
    grammar: Grammar
    failures: list[str] = field(default_factory=list)
    replies: Counter[str] = field(default_factory=Counter)
    event_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.driver = BotDriver(self.bot, self.clock)
        self.recorder = RecordingDispatcher(self.bot)
        team = self.bot.settings.team()
        self.console = ConsoleAdapter(
            self.recorder, self.bot.t, team_id=team.id, team_name=team.display_name,
            speaker="alice",
        )  # fmt: skip
        self.writes = WriteCounter(self.bot.engine)
        self.scheduler = Scheduler(self.bot)
        self.job_failures = FailedJobs()
        self.last: Reply | None = None
        self.internal = self.bot.t("errors.internal")

    def fail(self, kind: str, line: str, detail: str) -> None:
        self.failures.append(f"{kind}: {line[:200]!r}\n    {detail}")

    def run(self, count: int) -> None:
        rng = self.grammar.rng
        for number in range(count):
            if len(self.failures) >= MAX_FAILURES:
                break
            if rng.random() < 0.02:
                self.clock.advance(
                    timedelta(minutes=rng.choice((1, 5, 30, 90, 60 * 7, 60 * 24, 60 * 24 * 3)))
                )
                self.scheduler.tick()  # the digest, reminders, summary: on the fuzzed data
                for record in self.job_failures.drain():
                    self.fail("job failed", record.getMessage(), record.exc_text or "")
            if number % HEAL_EVERY == 0:
                self.heal()
            line = self.follow_up() or self.grammar.line()
            before = self.writes.value()
            export = self.driver.export() if rng.random() < FULL_EXPORT_SAMPLE else None
            on_slack = rng.random() < 0.3
            try:
                reply, shown = self.slack(line) if on_slack else self.on_console(line)
            except Exception:
                self.fail("exception", line, traceback.format_exc(limit=-3).replace("\n", "\n    "))
                continue
            if reply is None:
                continue
            self.replies["error" if reply.is_error else "ok"] += 1
            self.last = reply
            if reply.title == self.internal or self.internal in shown:
                self.fail(
                    "internal error", line, f"(#{number}, {'slack' if on_slack else 'console'})"
                )
            elif reply.is_error:
                if self.writes.value() != before:
                    self.fail("partial write", line, f"refused with {reply.title[:120]!r}")
                elif export is not None and self.driver.export() != export:
                    self.fail("partial write (export)", line, f"refused with {reply.title[:120]!r}")

    def follow_up(self) -> str | None:
        """Sometimes a click on a button of the last reply, or its form sent back filled."""
        rng = self.grammar.rng
        if self.last is None:
            return None
        if self.last.buttons and rng.random() < 0.3:
            return rng.choice(self.last.buttons).command
        if self.last.form is not None and rng.random() < 0.3:
            fields = self.last.form.fields
            return self.last.form.command_for(
                {item.name: self.grammar.title() for item in fields if rng.random() < 0.7}
            )
        return None

    def heal(self) -> None:
        """The configured members back in the team with their roles (the fuzz removes and
        demotes them too), so that every kind of speaker keeps speaking; through the
        dispatcher like any other line, as an admin."""
        rows = {row["id"]: row for row in self.driver.export()["members"]}
        admin = next(row["id"] for row in rows.values() if row["active"] and row["role"] == "admin")
        # The configured admins first, so that the speaker stays an admin throughout.
        for member in sorted(DEFAULT_MEMBERS, key=lambda member: member["role"] != "admin"):
            row = rows[member["id"]]
            line = None
            if not row["active"]:
                line = f"/team add @{member['id']} role={member['role']}"
            elif row["role"] != member["role"]:
                line = f"/team role @{member['id']} {member['role']}"
            if line is not None:
                reply = self.bot.say(line, speaker=admin)
                if reply.is_error:
                    self.fail("healing refused", line, reply.title)
            if member["role"] == "admin":
                admin = member["id"]

    def on_console(self, line: str) -> tuple[Reply | None, str]:
        speaker, weight = zip(*SPEAKERS, strict=True)
        who = self.grammar.rng.choices(speaker, weights=weight)[0]
        prefix = "" if who == "alice" and self.grammar.rng.random() < 0.5 else f"@{who} "
        calls = self.recorder.calls
        shown = self.console.reply_to(prefix + line)
        if shown is None or self.recorder.calls == calls:
            return None, ""  # a blank line: nothing was asked
        return self.recorder.last, shown

    def slack(self, line: str) -> tuple[Reply | None, str]:
        rng = self.grammar.rng
        user = rng.choice((*SLACK_IDS.values(), *SLACK_IDS.values(), *SLACK_NEWCOMERS))
        mentions: list[Mention] = []
        by_handle = {**SLACK_IDS, "carol": "U0CAROL", "zoe": "U0ZOE"}

        def as_mention(found: re.Match[str]) -> str:
            if rng.random() < 0.5:
                return found.group(0)
            mentions.append(Mention(f"@⟦{len(mentions)}⟧", by_handle[found.group(1)],
                                    rng.choice((None, found.group(1).title(), "Zoë Z"))))  # fmt: skip
            return mentions[-1].placeholder

        text = re.sub(r"@(alice|bob|carol|dave|zoe)\b", as_mention, line)
        event_id: str | None = None
        repeated = False
        if rng.random() < 0.5:
            repeated = bool(self.event_ids) and rng.random() < 0.1
            event_id = rng.choice(self.event_ids) if repeated else f"Ev{len(self.event_ids)}"
            if not repeated:
                self.event_ids.append(event_id)
        command = Command(
            text=text, team_id=None, user_id=user,
            user_name=rng.choice((None, None, "Erin", "Zoë Z", "x" * 300, "名" * 101, "")),
            channel_id=rng.choice((SLACK_CHANNEL,) * 8 + ("C9999", None)),
            mentions=tuple(mentions), direct=rng.random() < 0.1,
        )  # fmt: skip
        reply = self.bot.dispatch(command, Delivery("slack", event_id=event_id))
        if reply is None:
            assert repeated, f"no reply to a first delivery: {line!r}"
            return None, ""
        shown = "\n".join(message[1] for message in render_messages(reply))
        return reply, shown


def open_fuzz_bot(url: str, *, locale: str = "zh-CN", timezone: str = "Asia/Shanghai") -> OpsBot:
    members = [{**member, "slack": SLACK_IDS.get(member["id"], "")} for member in DEFAULT_MEMBERS]
    settings = make_settings(
        url,
        locale=locale,
        platforms={"slack": {"bot_token": "x", "signing_secret": "y", "mode": "http"}},
        team={"channels": {"slack": SLACK_CHANNEL}, "members": members, "timezone": timezone},
    )
    return OpsBot.open(settings, FrozenClock(DEFAULT_NOW))


@pytest.fixture
def fuzz() -> Iterator[Callable[..., FuzzRun]]:
    runs: list[FuzzRun] = []

    def start(url: str, *, seed: int = SEED, **team: str) -> FuzzRun:
        bot = open_fuzz_bot(url, **team)
        assert isinstance(bot.clock, FrozenClock)
        runs.append(FuzzRun(bot, bot.clock, Grammar(seed, Translator("en"))))
        return runs[-1]

    yield start
    for run in runs:
        run.job_failures.close()
        run.bot.engine.dispose()


def _report(run: FuzzRun) -> str:
    return f"{len(run.failures)} failures ({dict(run.replies)}):\n" + "\n".join(run.failures)


def test_ten_thousand_random_lines_on_sqlite(fuzz: Callable[..., FuzzRun], sqlite_url: str) -> None:
    run = fuzz(sqlite_url)
    run.run(SQLITE_LINES)
    assert not run.failures, _report(run)
    assert run.replies["ok"] > SQLITE_LINES // 10, dict(run.replies)  # not only refusals


def test_a_thousand_random_lines_on_postgresql(
    fuzz: Callable[..., FuzzRun], postgres_url: str
) -> None:
    # In English, and where the clocks change: 2027-03-14 02:30 does not exist there.
    run = fuzz(postgres_url, seed=SEED + 1, locale="en", timezone="America/New_York")
    run.run(POSTGRES_LINES)
    assert not run.failures, _report(run)
    assert run.replies["ok"] > POSTGRES_LINES // 10, dict(run.replies)


def test_the_grammar_knows_every_placeholder_of_the_usage_lines() -> None:
    grammar = Grammar(SEED, Translator("en"))
    unknown = set()
    for family in ALL_FAMILIES:
        for subcommand in (*family.subcommands, family.default):
            if subcommand is None:
                continue
            usage = grammar.catalogue(f"{subcommand.catalogue_key}.usage")
            named = {name for name in re.findall(r"<([^>|]+)>", usage)}  # not `<a|b>`
            unknown |= named - set(grammar.makers)
    assert not unknown, f"teach the fuzz grammar to fill {sorted(unknown)}"


# -- what the dispatcher should refuse before a handler runs (bot/runtime/app.py) -------


def test_a_lone_surrogate_is_refused_and_nothing_is_stored(sqlite_url: str) -> None:
    # A console script read with errors="surrogateescape", or JSON's "\ud800", brings one.
    bot = open_fuzz_bot(sqlite_url)
    before = BotDriver(bot, bot.clock).export()  # type: ignore[arg-type]
    reply = bot.say("/topic add 冬至\ud800海报", speaker="alice")
    after = BotDriver(bot, bot.clock).export()  # type: ignore[arg-type]
    bot.engine.dispose()
    assert reply.is_error
    assert reply.title != bot.t("errors.internal")
    assert after == before


def test_a_newcomer_with_a_very_long_platform_id_gets_an_answer(postgres_url: str) -> None:
    bot = open_fuzz_bot(postgres_url)
    command = Command(
        text="/topic list", team_id=None, user_id="U" + "9" * 70, channel_id=SLACK_CHANNEL
    )
    reply = bot.dispatch(command, Delivery("slack"))
    bot.engine.dispose()
    assert reply is not None
    assert reply.title != bot.t("errors.internal")
