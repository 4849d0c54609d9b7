"""Feishu callbacks are verified before anything reads them: signed, recent, once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fake_feishu import FeishuRig, feishu_rig, message_event, sealed


@pytest.fixture
def feishu(sqlite_url: str) -> Iterator[FeishuRig]:
    with feishu_rig(sqlite_url) as rig:
        yield rig


def test_an_encrypted_event_without_its_signature_is_refused(feishu: FeishuRig) -> None:
    body, _ = sealed(message_event("/topic add 没有签名", chat_type="p2p"))

    response = feishu.post(body, {"Content-Type": "application/json"})

    assert response.status_code == 401
    assert feishu.topics() == [] and feishu.feishu.messages() == []


@pytest.mark.parametrize("age", [6 * 60, 24 * 3600, -10 * 60], ids=["6 min", "a day", "future"])
def test_a_signature_outside_five_minutes_is_refused(feishu: FeishuRig, age: int) -> None:
    body, headers = sealed(message_event("/topic add 旧的回调", chat_type="p2p"), age_seconds=age)

    assert feishu.post(body, headers).status_code == 401
    assert feishu.topics() == []


def test_a_plain_event_with_an_encrypt_key_configured_is_refused(feishu: FeishuRig) -> None:
    event = message_event("/topic add 明文", chat_type="p2p")

    response = feishu.post(json.dumps(event).encode(), {"Content-Type": "application/json"})

    assert response.status_code == 401 and feishu.topics() == []


def test_an_event_without_an_event_id_is_still_processed_once(feishu: FeishuRig) -> None:
    event = message_event("/topic add 没有编号", chat_type="p2p")
    del event["header"]["event_id"]
    body, headers = sealed(event)

    assert feishu.post(body, headers).status_code == 200
    body, headers = sealed(event)  # the same event, sent again (a fresh envelope)
    assert feishu.post(body, headers).status_code == 200

    assert feishu.topics() == ["没有编号"]
