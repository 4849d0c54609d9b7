"""Feishu's callback envelope: AES-256-CBC with the Encrypt Key, and the signature."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class CallbackRejected(Exception):
    """A callback that fails decryption, signature or token checks (HTTP 401)."""


def decrypt(encrypted: str, encrypt_key: str) -> str:
    """Feishu's envelope: base64(IV + AES-256-CBC(PKCS#7(text))), key = SHA-256(Encrypt Key)."""
    try:
        raw = base64.b64decode(encrypted)
        key = hashlib.sha256(encrypt_key.encode()).digest()
        decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
        padded = decryptor.update(raw[16:]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise CallbackRejected(f"cannot decrypt: {error}") from None


def encrypt(plaintext: str, encrypt_key: str, iv: bytes) -> str:
    """The inverse of `decrypt` (what Feishu does; the tests build callbacks with it)."""
    key = hashlib.sha256(encrypt_key.encode()).digest()
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode()


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256(
        timestamp.encode() + nonce.encode() + encrypt_key.encode() + body
    ).hexdigest()
