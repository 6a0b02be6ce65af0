"""Tencent Cloud SMS (短信, API 2021-01-11 SendSms) through Tencent Cloud's official SDK.

The template (SMS_TEMPLATE_CODE: the template id, approved with the signature SMS_SIGN_NAME)
takes the code as its first parameter. The SDK is synchronous (requests): each send runs in a
worker thread so the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from domain.locales import Locale
from domain.masking import mask_phone
from domain.phone_codes import SmsFailed

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com"
TIMEOUT_SECONDS = 5


class TencentSms:
    name = "tencent"

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        app_id: str,
        sign_name: str,
        template_id: str,
        region: str = "ap-guangzhou",
        endpoint: str = DEFAULT_ENDPOINT,
    ) -> None:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        profile = HttpProfile(
            protocol=parts.scheme, endpoint=parts.netloc, reqTimeout=TIMEOUT_SECONDS
        )
        self._client = sms_client.SmsClient(
            credential.Credential(secret_id, secret_key),
            region,
            ClientProfile(httpProfile=profile),
        )
        self._app_id = app_id
        self._sign_name = sign_name
        self._template_id = template_id

    def _send(self, phone: str, code: str) -> str:
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = self._app_id
        request.SignName = self._sign_name
        request.TemplateId = self._template_id
        request.TemplateParamSet = [code]
        response = self._client.SendSms(request)
        statuses = response.SendStatusSet or []
        return statuses[0].Code if statuses else "no status"

    async def send(self, phone: str, code: str, locale: Locale) -> None:
        try:
            status = await asyncio.to_thread(self._send, phone, code)
        except Exception as exc:  # the SDK's TencentCloudSDKException, requests' errors
            log.warning("Tencent SMS to %s failed: %s", mask_phone(phone), type(exc).__name__)
            raise SmsFailed(type(exc).__name__) from exc
        if status != "Ok":
            # e.g. LimitExceeded.PhoneNumberDailyLimit, a template or signature not approved.
            log.warning("Tencent SMS to %s refused: %s", mask_phone(phone), status)
            raise SmsFailed(status)
