"""Parsing of the small argument forms that several commands share.

`#tag`, `p:<platform>`, `t:/v:/c:<1-5>`, `@member` and `#12`-style ids are read here
and nowhere else, so every command accepts them the same way (including the
full-width colon a Chinese keyboard types: `p：小红书`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.vocab.content_platforms import PlatformCatalogue
from bot.vocab.errors import InputError

RATING_OPTIONS = {"t": "timeliness", "v": "value", "c": "conversion"}
MAX_TAG_LENGTH = 30
MAX_TAGS = 10
MAX_ID = 2**31 - 1


def split_option(word: str) -> tuple[str, str] | None:
    """`p:wechat` → ("p", "wechat"); None for a word that is not a one-letter option."""
    normalised = word.replace("：", ":")
    key, colon, value = normalised.partition(":")
    if not colon or len(key) != 1 or key.casefold() not in {"p", *RATING_OPTIONS}:
        return None
    return key.casefold(), value


def parse_rating(option: str, value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 5:
        raise InputError("errors.bad_rating", option=option, value=value[:20])
    return int(value)


def parse_platform(value: str, platforms: PlatformCatalogue) -> str:
    key = platforms.resolve(value)
    if key is None:
        raise InputError(
            "errors.unknown_platform", value=value[:40], known=", ".join(platforms.keys)
        )
    return key


def parse_id(word: str | None) -> int:
    """A record id as users type it: `12` or `#12`."""
    if word is None:
        raise InputError("errors.missing_id")
    digits = word.removeprefix("#")
    if not (digits.isascii() and digits.isdigit()) or not 0 < int(digits) <= MAX_ID:
        raise InputError("errors.bad_id", value=word[:20])
    return int(digits)


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


def parse_topic_options(words: list[str], platforms: PlatformCatalogue) -> TopicOptions:
    options = TopicOptions()
    for word in words:
        option = split_option(word)
        if option is not None:
            key, value = option
            if key == "p":
                options.platform = parse_platform(value, platforms)
            else:
                options.ratings[RATING_OPTIONS[key]] = parse_rating(key, value)
        elif word.startswith(("#", "＃")):
            tag = word[1:]
            if not tag or len(tag) > MAX_TAG_LENGTH:
                raise InputError("errors.bad_tag", max=MAX_TAG_LENGTH)
            if tag not in options.tags:
                options.tags.append(tag)
        else:
            options.words.append(word)
    if len(options.tags) > MAX_TAGS:
        raise InputError("errors.too_many_tags", max=MAX_TAGS)
    return options
