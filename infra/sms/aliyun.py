"""Aliyun SMS (短信服务, Dysmsapi 2017-05-25 SendSms) through Alibaba Cloud's official SDK.

The template (SMS_TEMPLATE_CODE, approved with the signature SMS_SIGN_NAME) carries `${code}`;
the wording of the text is the template's, fixed at approval, in Chinese.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import utils_models as open_api_models

from domain.locales import Locale
from domain.masking import mask_phone
from domain.phone_codes import SmsFailed

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"
TIMEOUT_MS = 5000


class AliyunSms:
    name = "aliyun"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        endpoint: str = DEFAULT_ENDPOINT,
    ) -> None:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        self._client = Client(
            open_api_models.Config(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                endpoint=parts.netloc,
                protocol=parts.scheme,
                connect_timeout=TIMEOUT_MS,
                read_timeout=TIMEOUT_MS,
            )
        )
        self._sign_name = sign_name
        self._template_code = template_code

    async def send(self, phone: str, code: str, locale: Locale) -> None:
        request = sms_models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=self._sign_name,
            template_code=self._template_code,
            template_param=json.dumps({"code": code}),
        )
        try:
            response = await self._client.send_sms_async(request)
        except Exception as exc:  # the SDK raises its own, aiohttp's and requests' errors
            log.warning("Aliyun SMS to %s failed: %s", mask_phone(phone), type(exc).__name__)
            raise SmsFailed(type(exc).__name__) from exc
        body = response.body
        if body is None or body.code != "OK":
            # e.g. isv.BUSINESS_LIMIT_CONTROL (Aliyun's own per-number limits), a template or
            # signature not approved, an account in arrears: logged for the operator.
            code_name = body.code if body is not None else "no body"
            log.warning("Aliyun SMS to %s refused: %s", mask_phone(phone), code_name)
            raise SmsFailed(str(code_name))
