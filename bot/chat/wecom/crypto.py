"""WXBizMsgCrypt, Tencent's callback scheme: signatures, the AES envelope, the XML."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from xml.etree.ElementTree import Element

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml.ElementTree import ParseError, fromstring

BLOCK = 32


class CallbackRejected(Exception):
    """A callback that fails its signature or decryption (HTTP 401)."""


class MalformedCallback(CallbackRejected):
    """A callback that cannot even be read: not XML, a non-ASCII signature (HTTP 400).

    A `CallbackRejected` still, so a caller that only knows that refuses it too.
    """


class WecomCrypto:
    """WXBizMsgCrypt: signatures and the AES envelope."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("encoding_aes_key must be the 43 characters WeCom shows")
        self.corp_id = corp_id

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return hashlib.sha1(
            "".join(sorted([self.token, timestamp, nonce, encrypted])).encode()
        ).hexdigest()

    def check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        if not (msg_signature or "").isascii():  # compare_digest raises on non-ASCII text
            raise MalformedCallback("the signature is not ASCII")
        if not hmac.compare_digest(
            self.signature(timestamp, nonce, encrypted), msg_signature or ""
        ):
            raise CallbackRejected("bad signature")

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted)
            decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
            padded = decryptor.update(raw) + decryptor.finalize()
            pad = padded[-1]
            if not 1 <= pad <= BLOCK:
                raise ValueError("bad padding")
            plain = padded[:-pad]
            (length,) = struct.unpack(">I", plain[16:20])
            message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        except (ValueError, struct.error, IndexError) as error:
            raise CallbackRejected(f"cannot decrypt: {error}") from None
        if receive_id.decode(errors="replace") != self.corp_id:
            raise CallbackRejected("the message is for another corp id")
        try:
            return message.decode()
        except UnicodeDecodeError:
            raise CallbackRejected("the decrypted message is not UTF-8") from None

    def encrypt(self, message: str, *, random_bytes: bytes | None = None) -> str:
        body = (
            (random_bytes or os.urandom(16))
            + struct.pack(">I", len(message.encode()))
            + message.encode()
            + self.corp_id.encode()
        )
        pad = BLOCK - len(body) % BLOCK
        body += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()


def parse_xml(text: str | bytes) -> Element:
    """The XML's root; `MalformedCallback` for anything expat or defusedxml refuses
    (LookupError: an XML declaration naming an unknown encoding)."""
    try:
        root: Element = fromstring(text)
        return root
    except (ParseError, ValueError, LookupError, RecursionError) as error:
        raise MalformedCallback(f"not XML: {str(error)[:200]}") from None


def xml_field(root: Element, name: str) -> str:
    node = root.find(name)
    return (node.text or "").strip() if node is not None else ""
