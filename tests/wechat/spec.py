"""WeChat's callback as its documentation describes it, written here without wechatpy: what
WeChat's servers send (signed, and sealed in safe mode) and how a safe-mode reply opens."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN = "testtoken"
APPID = "wxtestappid000001"
ACCOUNT = "gh_testaccount"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters
BLOCK = 32  # WeChat pads to 32 bytes (PKCS#7 with k = 32)


def sha1_of(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed_query(timestamp: int, nonce: str, **extra: str) -> dict[str, str]:
    return {
        "signature": sha1_of(TOKEN, str(timestamp), nonce),
        "timestamp": str(timestamp),
        "nonce": nonce,
        **extra,
    }


def _key() -> bytes:
    return base64.b64decode(AES_KEY + "=")


def seal(xml: str, appid: str = APPID) -> str:
    body = xml.encode()
    plain = os.urandom(16) + struct.pack(">I", len(body)) + body + appid.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    key = _key()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def open_sealed(encrypted: str) -> tuple[str, str]:
    key = _key()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode(), plain[20 + length :].decode()


def text_xml(openid: str, text: str, msg_id: int, created: int, **extra: str) -> str:
    more = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in extra.items())
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{created}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
        f"<MsgId>{msg_id}</MsgId>{more}</xml>"
    )


def event_xml(openid: str, event: str, created: int, key: str = "") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{created}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def safe_body(xml: str, timestamp: int, nonce: str) -> tuple[str, str]:
    """The safe-mode body and its msg_signature."""
    encrypted = seal(xml)
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    return body, sha1_of(TOKEN, str(timestamp), nonce, encrypted)


def field(xml: str, name: str) -> str:
    found = re.search(rf"<{name}>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</{name}>", xml, re.S)
    assert found, f"no {name} in {xml}"
    return found.group(1)


def open_reply(xml: str) -> str:
    """A safe-mode passive reply, checked as WeChat checks it: signature, then AES."""
    encrypted = field(xml, "Encrypt")
    timestamp, nonce = field(xml, "TimeStamp"), field(xml, "Nonce")
    assert field(xml, "MsgSignature") == sha1_of(TOKEN, timestamp, nonce, encrypted)
    message, appid = open_sealed(encrypted)
    assert appid == APPID
    return message
