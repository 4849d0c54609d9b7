"""Parsing of the small argument forms that several commands share.

`#tag`, `p:<platform>`, `t:/v:/c:<1-5>` (or 平台: 时效: 价值: 转化:), `@member` and
`#12`-style ids are read here and nowhere else, so every command accepts them the same
way (including the full-width colon a Chinese keyboard types: `p：小红书`).

Options are read from the END of a line, where the usage lines show them; words in the
middle stay text (`Plan Q1 campaign ~1.5h` is a task titled "Plan Q1 campaign"). A title
that itself ends in something option-like is quoted: `"复盘 q3" q1`, `「复盘 q3」`,
`“复盘 q3”`. The same option given twice is refused, never silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.vocab.content_platforms import PlatformCatalogue
from bot.vocab.errors import InputError

RATING_OPTIONS = {"t": "timeliness", "v": "value", "c": "conversion"}
OPTION_KEYS = {
    "p": "p", "platform": "p", "平台": "p",
    "t": "t", "timeliness": "t", "时效": "t", "时效性": "t",
    "v": "v", "value": "v", "价值": "v", "价值度": "v",
    "c": "c", "conversion": "c", "转化": "c", "转化力": "c",
}  # fmt: skip
QUOTES = {'"': '"', "「": "」", "“": "”", "『": "』", "'": "'"}
MAX_TAG_LENGTH = 30
TAG_TRAILING = ",.;:!?，。；：！？、…"  # sentence punctuation after a tag is not part of it
MAX_TAGS = 10
MAX_ID = 2**31 - 1


def split_option(word: str) -> tuple[str, str] | None:
    """`p:wechat`, `平台：小红书`, `时效:5` → ("p", "wechat") …; None for other words."""
    normalised = word.replace("：", ":")
    key, colon, value = normalised.partition(":")
    option = OPTION_KEYS.get(key.casefold()) if colon else None
    if option is None:
        return None
    return option, value


def unquote(words: list[str]) -> tuple[str | None, list[str]]:
    """A quoted title at the start (`"复盘 q3" q1 ~2h`) and the words after it.

    (None, words) when the line does not start with a quote. An opening quote that is
    never closed is refused, rather than guessing where the title ends.
    """
    text = " ".join(words)
    if not text or text[0] not in QUOTES:
        return None, words
    closing = text.find(QUOTES[text[0]], 1)
    if closing == -1:
        raise InputError("errors.unclosed_quote", value=text[:30])
    title = text[1:closing].strip()
    return title, text[closing + 1 :].split()


class OnceEach:
    """Remembers which options a line gave, refusing the same option twice (`q1 q2`).

    Options are read from the end, so the word seen now stands before the one seen first.
    """

    def __init__(self) -> None:
        self._given: dict[str, str] = {}

    def give(self, option: str, word: str) -> None:
        if option in self._given:
            raise InputError(  # read from the end: this word stands before the other
                "errors.option_twice", first=word[:30], second=self._given[option][:30]
            )
        self._given[option] = word


def whole_number(text: str, *, at_most: int) -> int | None:
    """`text` as a whole number from 0 to `at_most`, in ASCII digits; None otherwise.

    A long run of digits is refused by its length before `int()` sees it: `int()` raises
    ValueError beyond 4,300 digits, and no id or rating is that long.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(at_most)):
        return None
    number = int(significant)
    return number if number <= at_most else None


def parse_rating(option: str, value: str) -> int:
    rating = whole_number(value, at_most=5)
    if rating is None or rating < 1:
        raise InputError("errors.bad_rating", option=option, value=value[:20])
    return rating


def parse_platform(value: str, platforms: PlatformCatalogue) -> str:
    key = platforms.resolve(value)
    if key is None:
        raise InputError(
            "errors.unknown_platform", value=value[:40], known=", ".join(platforms.keys)
        )
    return key


# A Chinese keyboard types full-width digits and `＃` as readily as ASCII ones.
_FULL_WIDTH_ID = str.maketrans("０１２３４５６７８９＃", "0123456789#")


def parse_id(word: str | None) -> int:
    """A record id as users type it: `12`, `#12`, or in full width `＃１２`."""
    if word is None:
        raise InputError("errors.missing_id")
    row_id = whole_number(word.translate(_FULL_WIDTH_ID).removeprefix("#"), at_most=MAX_ID)
    if row_id is None or row_id == 0:
        raise InputError("errors.bad_id", value=word[:20])
    return row_id


def parse_mention(word: str) -> str | None:
    """`@bob` → "bob"; None when the word is not a mention."""
    if word.startswith(("@", "＠")) and len(word) > 1:
        return word[1:]
    return None


@dataclass
class TopicOptions:
    """The words of a topic command, sorted into title words and options."""

    words: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    platform: str | None = None
    ratings: dict[str, int] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return " ".join(self.words)


def split_tags(word: str) -> list[str] | None:
    """`#促销#节日` → ["促销", "节日"]; None for a word that is not tags."""
    normalised = word.replace("＃", "#")
    if not normalised.startswith("#"):
        return None
    # A tag typed at the end of a sentence keeps no punctuation (`#失败教训，` is 失败教训).
    tags = [tag.rstrip(TAG_TRAILING) for tag in normalised[1:].split("#")]
    if any(not tag or len(tag) > MAX_TAG_LENGTH for tag in tags):
        raise InputError("errors.bad_tag", max=MAX_TAG_LENGTH, value=word[:30])
    return tags


def parse_topic_options(words: list[str], platforms: PlatformCatalogue) -> TopicOptions:
    """`<title> [#tag…] [p:…] [t:…] [v:…] [c:…]`, the options read from the end."""
    quoted, words = unquote(words)
    options = TopicOptions()
    given = OnceEach()
    trailing: list[str] = []
    while words:
        word = words[-1]
        option = split_option(word)
        tags = split_tags(word) if option is None else None
        if option is None and tags is None:
            break
        words = words[:-1]
        if option is not None:
            key, value = option
            given.give(key, word)
            if key == "p":
                options.platform = parse_platform(value, platforms)
            else:
                options.ratings[RATING_OPTIONS[key]] = parse_rating(key, value)
        else:
            trailing = [*(tags or []), *trailing]
    if quoted is not None:
        if words:
            raise InputError("errors.extra_words", words=" ".join(words)[:40])
        words = [quoted] if quoted else []
    for tag in trailing:
        if tag not in options.tags:
            options.tags.append(tag)
    options.words = words
    if len(options.tags) > MAX_TAGS:
        raise InputError("errors.too_many_tags", max=MAX_TAGS)
    return options
