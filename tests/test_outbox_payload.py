"""What the outbox keeps of a reply is the whole reply: every part of it comes back
from the stored JSON as it was, so a delivery an hour later shows what the job built."""

from __future__ import annotations

import json
from dataclasses import asdict

from bot.core.messages import (
    Audience,
    Button,
    Form,
    FormField,
    Image,
    Notice,
    Reply,
    Section,
    Tone,
    reply_from_dict,
    reply_to_dict,
)


def _everything() -> Reply:
    notice = Reply("退回", tone=Tone.WARNING, sections=[Section(lines=["原因：标题太长"])])
    return Reply(
        "☀️ 早报",
        tone=Tone.SUCCESS,
        sections=[
            Section(title="今日发布", rows=[("#7", "20:00", "《冬季护肤》")], lines=["· 一行"]),
            Section(fields=[("点赞", "12")]),
        ],
        buttons=[Button("确认", "/发布 确认 7", style="primary")],
        audience=Audience.CHANNEL,
        image=Image(png_base64="iVBORw0KGgo=", alt="图表"),
        notices=[Notice("bob", notice)],
        form=Form("standup", "站会", "/站会", (FormField("y", "昨天", prefix="昨天:"),)),
    )


def test_a_stored_reply_comes_back_whole() -> None:
    reply = _everything()

    stored = json.loads(json.dumps(reply_to_dict(reply)))  # as the JSON column keeps it

    assert reply_from_dict(stored) == reply
    assert reply_to_dict(reply) == asdict(reply)  # the same shape as ever: queued items read on
