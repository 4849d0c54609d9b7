"""The one way the vocabulary says "I did not understand this".

Parsers at the bottom of the stack raise `InputError` with a catalogue key and the part
they could not read; the dispatcher turns it into a reply with the sub-command's usage
line, and nothing is stored. The vocabulary knows no catalogue: it only names keys.
"""

from __future__ import annotations


class InputError(Exception):
    """Input the bot did not understand; the reply names what, and nothing is stored.

    `message_key` names a catalogue entry; `show_usage` adds the sub-command's usage line,
    which helps with malformed input but is noise for a refusal such as "no permission".
    """

    def __init__(self, message_key: str, *, show_usage: bool = True, **params: object) -> None:
        super().__init__(message_key)
        self.message_key = message_key
        self.params = params
        self.show_usage = show_usage
