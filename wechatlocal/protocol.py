"""WeChat's message protocol as the platform speaks it: signatures, the XML of pushed messages,
and the message encryption of safe mode (AES-256-CBC with the EncodingAESKey; wechatpy's
`PrpCrypto` does the cipher and the padding)."""

import base64
import hashlib
import secrets
import string
import xml.etree.ElementTree as ET
from typing import Any

from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException

_NONCE_ALPHABET = string.ascii_letters + string.digits


def nonce() -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(16))


def signature(*parts: str) -> str:
    """SHA-1 of the parts sorted and joined: `signature` over (token, timestamp, nonce) and
    `msg_signature` over (token, timestamp, nonce, Encrypt)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters of base64 (32 bytes)")
    return key


def new_encoding_aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def encrypt(encoding_aes_key: str, appid: str, plaintext: str) -> str:
    """random(16) + length(4, network order) + message + appid, PKCS#7 to 32 bytes, AES-CBC
    with the key's first 16 bytes as IV, base64."""
    raw = PrpCrypto(aes_key(encoding_aes_key)).encrypt(plaintext, appid)
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class DecryptError(ValueError):
    pass


def decrypt(encoding_aes_key: str, appid: str, ciphertext: str) -> str:
    try:
        plain = PrpCrypto(aes_key(encoding_aes_key)).decrypt(ciphertext, appid)
    except InvalidAppIdException as exc:
        raise DecryptError("the encrypted message names another appid") from exc
    except Exception as exc:  # bad base64, padding or length: all "cannot decrypt"
        raise DecryptError(f"cannot decrypt: {exc}") from exc
    return plain.decode() if isinstance(plain, bytes) else str(plain)


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_xml(fields: dict[str, Any]) -> str:
    """WeChat's XML: strings in CDATA, numbers bare, a dict as nested elements (an event's
    list)."""
    return f"<xml>{_elements(fields)}</xml>"


def _elements(fields: dict[str, Any]) -> str:
    parts = []
    for name, value in fields.items():
        if isinstance(value, dict):
            parts.append(f"<{name}>{_elements(value)}</{name}>")
        elif isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}>{_cdata(str(value))}</{name}>")
    return "".join(parts)


class XmlError(ValueError):
    pass


def _element_to_value(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        value = _element_to_value(child)
        if child.tag in result:
            existing = result[child.tag]
            if not isinstance(existing, list):
                result[child.tag] = [existing]
            result[child.tag].append(value)
        else:
            result[child.tag] = value
    return result


def parse_xml(body: str) -> dict[str, Any]:
    if "<!DOCTYPE" in body or "<!ENTITY" in body:
        raise XmlError("DTDs are not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise XmlError(f"not XML: {exc}") from exc
    if root.tag != "xml":
        raise XmlError("the root element must be <xml>")
    value = _element_to_value(root)
    return value if isinstance(value, dict) else {}
