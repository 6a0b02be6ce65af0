"""What the core says, as WeChat shows it; the core reached through whatever callable the
composition root hands the channel (the SMS phone proof wraps it the same way)."""

from __future__ import annotations

from aiogram.fsm.storage.memory import MemoryStorage

from conversation.engine import Talk
from conversation.events import Event, Typed
from conversation.replies import (
    Ask,
    Attachment,
    Button,
    FileKind,
    OpenPage,
    Press,
    Reply,
    Turn,
    rows,
)
from infra.repositories.accounts import TortoiseAccountRepository
from tests.support.clock import FixedClock
from tests.wechat import spec
from wechat.api import ApiConfig, WeChatApi
from wechat.channel import WeChatChannel, WeChatReplies
from wechat.protocol import Callbacks
from wechat.store import MemoryMemo

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
WANG = "oWang00000000000000000000003"


async def test_a_photo_is_uploaded_and_sent_a_phone_is_asked_for_in_words(
    database, clock: FixedClock, fake_wechat
):
    fake, api_base = fake_wechat
    seen: list[tuple[Event, Talk]] = []

    async def wrapped(event: Event, talk: Talk) -> Turn:
        seen.append((event, talk))
        return Turn().add(
            Reply("扫码支付", attachment=Attachment(FileKind.PHOTO, "qr.png", data=PNG)),
            Reply("收据", attachment=Attachment(FileKind.DOCUMENT, "receipt.pdf", data=b"%PDF")),
            Reply("<b>请验证手机号</b>", ask=Ask.PHONE),
            Reply(
                "下一步",
                rows(
                    [Button("继续", Press("enr", ("go", "1")))],
                    [Button("学习", OpenPage("/study"))],
                ),
            ),
        )

    api = WeChatApi(ApiConfig(spec.APPID, "test-secret", api_base), clock)
    channel = WeChatChannel(
        conversations=wrapped,
        accounts=TortoiseAccountRepository(),
        storage=MemoryStorage(),
        api=api,
        replies=WeChatReplies("https://jj.example"),
        clock=clock,
    )
    callbacks = Callbacks(
        token=spec.TOKEN,
        appid=spec.APPID,
        encoding_aes_key=None,
        clock=clock,
        seen=MemoryMemo(clock),
    )
    now = int(clock.now().timestamp())
    inbound = await callbacks.open(
        spec.signed_query(now, "n1"), spec.text_xml(WANG, "你好", 1, now).encode()
    )
    try:
        assert await channel.handle(inbound.message) is None
    finally:
        await api.close()

    [(event, talk)] = seen
    assert event == Typed("你好") and talk.account.id < 0
    await talk.state.update_data(step="phone")  # the account's own state, kept by the storage
    assert (await channel.state(talk.account).get_data()) == {"step": "phone"}
    [upload] = [body for path, query, body in fake.calls if path == "/cgi-bin/media/upload"]
    assert upload == {"file": "qr.png", "size": len(PNG)}
    image, caption, receipt, phone, step = fake.sent(WANG)
    assert image == {"touser": WANG, "msgtype": "image", "image": {"media_id": "MEDIA1"}}
    assert caption["text"]["content"] == "扫码支付"
    assert receipt["text"]["content"].startswith("收据\n\n文件在您的学习记录页面：")
    assert (
        '<a href="https://jj.example/wechat/oauth?next=/app/records">' in receipt["text"]["content"]
    )
    assert phone["text"]["content"] == "请验证手机号\n\n请输入登记在册的手机号（11 位）。"
    assert step["msgmenu"]["list"] == [{"id": "enr:go:1", "content": "继续"}]
    assert (
        '<a href="https://jj.example/wechat/oauth?next=/app/study">学习</a>'
        in (step["msgmenu"]["head_content"])
    )
