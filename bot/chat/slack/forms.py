"""A neutral `Form` as a Slack modal (`views.open`), and its submission back as a command.

The modal's `private_metadata` carries what turns the submitted values back into the
command the form stands for, so nothing has to be remembered between the two requests.
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.i18n import Translator
from bot.core.messages import Form, FormField

CALLBACK_PREFIX = "opsbot_form_"
VALUE_ACTION = "value"
TITLE_CHARS = 24  # Slack's limit for a modal's title
LABEL_CHARS = 2000
INITIAL_CHARS = 3000


def modal_view(form: Form, t: Translator) -> dict[str, Any]:
    """The `view` of `views.open`: one multi-line input per field, prefilled."""
    metadata = {
        "submit": form.submit_command,
        "fields": [[item.name, item.prefix] for item in form.fields],
        "required": [item.name for item in form.fields if not item.optional],
    }
    return {
        "type": "modal",
        "callback_id": f"{CALLBACK_PREFIX}{form.form_id}",
        "title": {"type": "plain_text", "text": form.title[:TITLE_CHARS]},
        "submit": {"type": "plain_text", "text": t("button.submit")},
        "close": {"type": "plain_text", "text": t("button.cancel")},
        "private_metadata": json.dumps(metadata, ensure_ascii=False),
        "blocks": [_input(item) for item in form.fields],
    }


def _input(item: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": VALUE_ACTION,
        "multiline": True,
    }
    if item.value:
        element["initial_value"] = item.value[:INITIAL_CHARS]
    return {
        "type": "input",
        "block_id": item.name,
        "optional": item.optional,
        "label": {"type": "plain_text", "text": item.label[:LABEL_CHARS]},
        "element": element,
    }


def submitted_command(view: dict[str, Any]) -> tuple[str, str]:
    """The command a submitted modal stands for, and the field to blame for a refusal."""
    metadata = json.loads(view.get("private_metadata") or "{}")
    state = (view.get("state") or {}).get("values") or {}
    values = {
        name: ((state.get(name) or {}).get(VALUE_ACTION) or {}).get("value") or ""
        for name, _ in metadata.get("fields", [])
    }
    form = Form(
        form_id="", title="", submit_command=metadata.get("submit", ""),
        fields=tuple(FormField(name, name, prefix=prefix) for name, prefix in metadata["fields"]),
    )  # fmt: skip
    required = metadata.get("required") or [name for name, _ in metadata["fields"]][:1]
    return form.command_for(values), required[0]
