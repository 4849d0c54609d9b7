"""The neutral command and reply model.

Chat plug-ins turn a platform event into a `Command` and turn a `Reply` into Block Kit,
a Feishu card, WeCom markdown or console text. Handlers see only these types, which is
what lets every command behave the same on every chat platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Mention:
    """A person named in a command, as the chat platform knows them.

    The plug-in leaves `placeholder` in the text where the mention stood; the dispatcher
    replaces it with the member's `@handle` (looked up by `external_id`), or with
    `@display_name` when nobody in the team has that id.
    """

    placeholder: str
    external_id: str
    display_name: str | None = None


@dataclass(frozen=True)
class Command:
    """One message to the bot: who said what, where.

    `user_id` is the speaker's id on the chat platform the command came from (on the
    console, the member's handle). `team_id` is None when the plug-in cannot tell: the
    dispatcher then finds the team from the channel. `describe_user` may look the
    speaker's name up on the platform; it is called only for a newcomer.
    """

    text: str
    team_id: str | None
    user_id: str
    user_name: str | None = None
    channel_id: str | None = None
    mentions: tuple[Mention, ...] = ()
    describe_user: Callable[[], str | None] | None = field(default=None, compare=False)
    # Said to the bot in a direct message: plain text there is a conversation (the
    # stand-up's answer), where in a group it would be chatter to ignore.
    direct: bool = False


class Tone(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


class Audience(StrEnum):
    """Who should see a reply: only the asker, or the whole channel."""

    ASKER = "asker"
    CHANNEL = "channel"


@dataclass(frozen=True)
class Button:
    """A shortcut a platform may show as a button; clicking it runs `command`."""

    label: str
    command: str
    style: str = "default"  # default | primary | danger


@dataclass
class Section:
    """A block of a reply: an optional heading, then lines, an aligned table or fields."""

    title: str | None = None
    lines: list[str] = field(default_factory=list)
    rows: list[tuple[str, ...]] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Image:
    """A picture a reply carries (the weekly summary's chart): PNG bytes, base64 in JSON
    so that it waits in the outbox with the rest, and a text for those who cannot see it."""

    png_base64: str
    alt: str
    filename: str = "chart.png"

    @property
    def png(self) -> bytes:
        import base64

        return base64.b64decode(self.png_base64)


@dataclass(frozen=True)
class FormField:
    """One field of a form: its name, what the person sees, what it holds already.

    `prefix` is how the field's value is written into the command the form submits
    (`yesterday:` for the stand-up), so a form is only another way to type a command.
    """

    name: str
    label: str
    value: str = ""
    prefix: str = ""
    optional: bool = True


@dataclass(frozen=True)
class Form:
    """A form a platform may show (a Slack modal) instead of asking for a typed command.

    Submitting it runs `submit_command` followed by each filled field as
    `prefix value`, joined with ` | `; where a platform has no forms, the reply shows the
    fields as text and people answer by typing.
    """

    form_id: str
    title: str
    submit_command: str
    fields: tuple[FormField, ...]

    def command_for(self, values: dict[str, str]) -> str:
        parts = [
            f"{item.prefix} {values[item.name].strip()}".strip()
            for item in self.fields
            if values.get(item.name, "").strip()
        ]
        return f"{self.submit_command} {' | '.join(parts)}".strip()


@dataclass
class Notice:
    """A direct message a command sends besides its reply (the author of a post sent
    back for changes is told why). The dispatcher puts it into the outbox in the
    command's own transaction, so it goes out once, and only if the command stood."""

    member_id: str
    reply: Reply


@dataclass
class Reply:
    title: str
    tone: Tone = Tone.INFO
    sections: list[Section] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    audience: Audience = Audience.ASKER
    image: Image | None = None
    notices: list[Notice] = field(default_factory=list)
    form: Form | None = None

    @property
    def is_error(self) -> bool:
        return self.tone is Tone.ERROR


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A Reply as plain JSON data, to keep in the outbox until it is delivered.

    Written out field by field: `dataclasses.asdict` deep-copies every string and row
    through a recursion, and a tick does this for every team's digest."""
    return {
        "title": reply.title,
        "tone": reply.tone,
        "sections": [
            {
                "title": section.title,
                "lines": list(section.lines),
                "rows": [tuple(row) for row in section.rows],
                "fields": [tuple(item) for item in section.fields],
            }
            for section in reply.sections
        ],
        "buttons": [asdict(button) for button in reply.buttons],
        "audience": reply.audience,
        "image": asdict(reply.image) if reply.image is not None else None,
        "notices": [
            {"member_id": notice.member_id, "reply": reply_to_dict(notice.reply)}
            for notice in reply.notices
        ],
        "form": asdict(reply.form) if reply.form is not None else None,
    }


def reply_from_dict(data: dict[str, Any]) -> Reply:
    return Reply(
        title=data["title"],
        tone=Tone(data.get("tone", "info")),
        sections=[
            Section(
                title=section.get("title"),
                lines=list(section.get("lines", [])),
                rows=[tuple(row) for row in section.get("rows", [])],
                fields=[(str(name), str(value)) for name, value in section.get("fields", [])],
            )
            for section in data.get("sections", [])
        ],
        buttons=[Button(**button) for button in data.get("buttons", [])],
        audience=Audience(data.get("audience", "asker")),
        image=Image(**data["image"]) if data.get("image") else None,
        form=_form_from_dict(data["form"]) if data.get("form") else None,
        notices=[
            Notice(notice["member_id"], reply_from_dict(notice["reply"]))
            for notice in data.get("notices", [])
        ],
    )


def _form_from_dict(data: dict[str, Any]) -> Form:
    return Form(
        form_id=data["form_id"],
        title=data["title"],
        submit_command=data["submit_command"],
        fields=tuple(FormField(**item) for item in data.get("fields", [])),
    )
