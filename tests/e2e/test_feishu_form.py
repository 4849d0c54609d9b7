"""The stand-up form on Feishu: a card JSON 2.0 form container, prefilled, whose submission
(`card.action.trigger` with `form_value`) is the answer — refused with a toast and the card
kept, or stored and the card replaced by the answer. Over real HTTP against the fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from bot.chat.feishu.render import render_card
from bot.core.messages import Form, FormField, Reply
from bot.runtime.scheduler import Scheduler
from tests.conftest import BotDriver
from tests.fake_feishu import (
    CardRefused,
    FeishuRig,
    card_action,
    feishu_rig,
    form_submission,
    message_event,
    validate_card,
)

PROMPT_TIME = datetime.fromisoformat("2026-11-23T09:30:00+08:00")


@pytest.fixture
def feishu(sqlite_url: str) -> Iterator[FeishuRig]:
    with feishu_rig(sqlite_url) as rig:
        yield rig


def delivered_cards(feishu: FeishuRig) -> list[tuple[str, dict[str, Any]]]:
    """(receive_id, card) of each card Feishu took, in order."""
    return [
        (message.get("receive_id", ""), json.loads(message["content"]))
        for message in feishu.feishu.delivered()
        if message["msg_type"] == "interactive"
    ]


def the_form(card: dict[str, Any]) -> dict[str, Any]:
    forms: list[dict[str, Any]] = [e for e in card["body"]["elements"] if e["tag"] == "form"]
    (form,) = forms
    return form


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in the_form(card)["elements"] if e["tag"] == "input"}


def submit_value(card: dict[str, Any]) -> dict[str, Any]:
    """The callback value of the form's submit button: what Feishu sends back with it."""
    (button,) = [e for e in the_form(card)["elements"] if e.get("form_action_type") == "submit"]
    (behavior,) = button["behaviors"]
    value: dict[str, Any] = behavior["value"]
    return value


def standup_rows(feishu: FeishuRig) -> list[tuple[str, str | None, str | None, str | None]]:
    rows = BotDriver(feishu.bot, feishu.clock).export()["standups"]
    return [(row["member"], row["yesterday"], row["today"], row["blockers"]) for row in rows]


def open_form(feishu: FeishuRig) -> dict[str, Any]:
    """Bob's morning prompt, and the form card its "填写" button answers with."""
    feishu.say("/task add 剪辑探店视频 q1", speaker="bob")
    feishu.clock.set(PROMPT_TIME)
    Scheduler(feishu.bot).tick()
    feishu.deliver()
    (prompt,) = [  # the stand-up prompt (a Monday: Bob's week of the summary comes too)
        card for to, card in delivered_cards(feishu)
        if to == "ou_bob" and "早上好" in json.dumps(card, ensure_ascii=False)
    ]  # fmt: skip
    (row,) = [e for e in prompt["body"]["elements"] if e["tag"] == "column_set"]
    (button,) = [b for column in row["columns"] for b in column["elements"]]
    assert button["text"]["content"] == "📝 填写"
    (behavior,) = button["behaviors"]
    assert behavior["value"] == {"command": "/standup form"}

    answer = feishu.click(card_action(behavior["value"]["command"], open_id="ou_bob"))

    assert set(answer) == {"card"}  # no toast: nothing was done yet
    card: dict[str, Any] = answer["card"]["data"]
    return card


def test_the_prompt_button_answers_with_a_prefilled_form_card(feishu: FeishuRig) -> None:
    card = open_form(feishu)

    assert card["header"]["title"]["content"] == "今天的站会"
    assert [e["tag"] for e in card["body"]["elements"]] == ["form"]
    fields = inputs(card)
    assert list(fields) == ["yesterday", "today", "blockers"]
    assert {name: field.get("default_value") for name, field in fields.items()} == {
        "yesterday": None,
        "today": "剪辑探店视频",
        "blockers": None,
    }
    today = fields["today"]
    assert today["label"] == {"tag": "plain_text", "content": "今天打算做什么"}
    assert (today["input_type"], today["required"]) == ("multiline_text", True)
    assert fields["blockers"]["required"] is False
    assert submit_value(card) == {
        "form": "standup",
        "submit": "/standup",
        "fields": [["yesterday", "yesterday:"], ["today", "today:"], ["blockers", "blockers:"]],
    }
    (button,) = [e for e in the_form(card)["elements"] if e["tag"] == "button"]
    assert button["text"]["content"] == "提交" and button["type"] == "primary"
    assert standup_rows(feishu) == []  # opening the form stores nothing


def test_a_submitted_form_stores_the_standup_and_shows_it(feishu: FeishuRig) -> None:
    card = open_form(feishu)
    typed = {"yesterday": "剪视频", "today": "剪辑探店视频，写稿", "blockers": ""}

    answer = feishu.click(form_submission(submit_value(card), typed, open_id="ou_bob"))

    assert standup_rows(feishu) == [("bob", "剪视频", "剪辑探店视频，写稿", None)]
    assert answer["toast"]["type"] == "success"
    shown = answer["card"]["data"]  # the card now shows the stored answer, not the form
    assert shown["header"]["template"] == "green"
    assert "form" not in [e["tag"] for e in shown["body"]["elements"]]
    assert "剪辑探店视频，写稿" in json.dumps(shown, ensure_ascii=False)
    assert feishu.feishu.refused == []


def test_a_bad_submission_is_refused_with_a_toast_and_stores_nothing(feishu: FeishuRig) -> None:
    card = open_form(feishu)
    typed = {"yesterday": "剪视频", "today": "写稿 q7 +任务", "blockers": ""}

    answer = feishu.click(form_submission(submit_value(card), typed, open_id="ou_bob"))

    assert answer["toast"]["type"] == "error" and "q7" in answer["toast"]["content"]
    assert "card" not in answer  # the form stays, to fix the field and submit again
    assert standup_rows(feishu) == []
    tasks = BotDriver(feishu.bot, feishu.clock).export()["tasks"]
    assert [task["text"] for task in tasks] == ["剪辑探店视频"]  # no task from "写稿 q7"

    fixed = {**typed, "today": "写稿 q1 +任务"}
    answer = feishu.click(form_submission(submit_value(card), fixed, open_id="ou_bob"))
    assert answer["toast"]["type"] == "success"
    assert standup_rows(feishu) == [("bob", "剪视频", "写稿 q1", None)]


def test_the_typed_form_command_posts_a_form_card_feishu_takes(feishu: FeishuRig) -> None:
    feishu.send(message_event("/站会 表单", open_id="ou_bob", chat_type="p2p"))

    assert feishu.feishu.refused == []
    ((_, card),) = delivered_cards(feishu)
    validate_card(card)
    assert list(inputs(card)) == ["yesterday", "today", "blockers"]


def test_an_english_form_gets_an_english_submit_button() -> None:
    form = Form("standup", "Today's stand-up", "/standup", (FormField("today", "Today"),))
    card = render_card(Reply(form.title, form=form))

    validate_card(card)
    (button,) = [e for e in the_form(card)["elements"] if e["tag"] == "button"]
    assert button["text"]["content"] == "Submit"


# -- the fake refuses a form Feishu would refuse ------------------------------------------

TEXT = {"tag": "plain_text", "content": "x"}
SUBMIT = {"tag": "button", "name": "go", "text": {"tag": "plain_text", "content": "提交"},
          "form_action_type": "submit",
          "behaviors": [{"type": "callback", "value": {}}]}  # fmt: skip
INPUT = {"tag": "input", "name": "today", "label": TEXT, "input_type": "multiline_text"}


def card_with(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"schema": "2.0", "header": {"title": TEXT}, "body": {"elements": list(elements)}}


def form(*elements: dict[str, Any], name: str = "f") -> dict[str, Any]:
    return {"tag": "form", "name": name, "elements": list(elements)}


def test_the_fake_takes_a_well_formed_form() -> None:
    validate_card(card_with({"tag": "markdown", "content": "正文"}, form(INPUT, SUBMIT)))


@pytest.mark.parametrize(
    ("card", "problem"),
    [
        (card_with(INPUT), "an input outside a form"),
        (card_with(form(INPUT, {**INPUT}, SUBMIT)), "the name 'today' is used twice"),
        (card_with(form(INPUT)), "a form without a submit button"),
        (card_with(form({**INPUT, "name": ""}, SUBMIT)), "without a name"),
        (card_with(form(INPUT, {**SUBMIT, "name": None})), "without a name"),
        (card_with(form(INPUT, SUBMIT, name="x"), form(SUBMIT, name="x")), "used twice"),
        (card_with(form(form(SUBMIT, name="g"), SUBMIT)), "only at the root"),
        (card_with({"tag": "column_set", "columns": [
            {"tag": "column", "elements": [form(SUBMIT)]}]}), "only at the root"),
        (card_with(form(INPUT, {**SUBMIT, "form_action_type": "reset"})),
         "form_action_type 'reset'"),
        (card_with({**SUBMIT, "name": "lonely"}), "form_action_type outside a form"),
        (card_with(form({**INPUT, "multiline": True}, SUBMIT)), "unknown properties ['multiline']"),
        (card_with(form({**INPUT, "input_type": "textarea"}, SUBMIT)), "unknown input_type"),
        (card_with(form({**INPUT, "max_length": 2000}, SUBMIT)), "max_length must be in"),
        (card_with(form({**INPUT, "placeholder": {"tag": "plain_text", "content": "x" * 101}},
                        SUBMIT)), "over 100 characters"),
        (card_with(form(INPUT, SUBMIT) | {"action": "submit"}), "unknown properties ['action']"),
    ],
)  # fmt: skip
def test_the_fake_refuses_a_form_feishu_would_refuse(card: dict[str, Any], problem: str) -> None:
    with pytest.raises(CardRefused, match=problem.replace("[", r"\[").replace("]", r"\]")):
        validate_card(card)
