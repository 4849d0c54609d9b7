"""Logging for the command line: one format, on stderr, and no secret in any line.

HTTP clients log the URLs they call (httpx at INFO: `…/gettoken?corpid=…&corpsecret=…`,
`…/webhook/send?key=…`), and an error may repeat a request. Every handler the CLI sets
up carries `MaskSecrets`, which rewrites a record's text before it is written, whatever
logger it came from and whatever level is configured.
"""

from __future__ import annotations

import logging
import re
from typing import TextIO

MASK = "***"
_QUERY = re.compile(
    r"(?i)([?&](?:[a-z_]*secret|[a-z_]*token|key|sign|signature|msg_signature|code)=)[^&\s\"'#]+"
)
_FIELDS = re.compile(
    r"(?i)([\"']?(?:app_secret|secret|corpsecret|bot_secret|encoding_aes_key|encrypt_key|"
    r"access_token|tenant_access_token|bot_token|app_token|signing_secret|token)[\"']?"
    r"\s*[:=]\s*[\"']?)[^\"',\s}&]+"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-+/=]+")
_SLACK_TOKEN = re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+")


def mask_secrets(text: str) -> str:
    """`text` with every secret-looking value replaced by `***`."""
    text = _QUERY.sub(rf"\g<1>{MASK}", text)
    text = _FIELDS.sub(rf"\g<1>{MASK}", text)
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    return _SLACK_TOKEN.sub(MASK, text)


class MaskSecrets(logging.Filter):
    """Rewrites each record's message (and its traceback text) with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        return True


def configure_logging(level: int | str, stream: TextIO) -> logging.Handler:
    """The CLI's logging: one handler on stderr with secrets masked."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskSecrets())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    return handler
