"""What the core says, as WeChat shows it; the core reached through whatever callable the
composition root hands the channel (the SMS phone proof wraps it the same way)."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
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
from domain.locales import Locale
from infra.repositories.accounts import TortoiseAccountRepository
from tests.support.clock import FixedClock
from tests.wechat import spec
from texts.i18n import CATALOGS
from texts.notices import Composed, Step
from wechat.api import ApiConfig, WeChatApi
from wechat.channel import WeChatChannel, WeChatReplies
from wechat.notices import WeChatNotices
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


class FormDesk:
    """The applications' port, offering a blank form (signable in the web view or not)."""

    def __init__(self, signable: bool) -> None:
        self.signable = signable

    async def offers(self, account):
        return []

    async def blank_form(self, account, kind, enrolment_id):
        from conversation.ports import BlankForm

        return BlankForm("extension-application.docx", b"PK docx", self.signable)

    async def file(self, account, kind, enrolment_id, form):
        raise AssertionError("nothing is filed by asking for the form")

    async def still_open(self, account, kind, enrolment_id):
        return True


async def form_asked(signable: bool) -> list[dict]:
    from conversation import actions
    from conversation.actions import ApplyAction
    from conversation.events import Pressed
    from conversation.flows.applications import Applications
    from domain.accounts import ChatAccount, ChatUserId
    from domain.support import ApplicationKind

    account = ChatAccount(ChatUserId(-7), "微信用户", None, "en")
    state = FSMContext(MemoryStorage(), StorageKey(bot_id=0, chat_id=-7, user_id=-7))
    press = actions.apply(ApplyAction.START, ApplicationKind.EXTENSION, 7)
    turn = await Applications(desk=FormDesk(signable))(Pressed(press), Talk(account, state))
    assert turn is not None
    return [o.message for o in WeChatReplies("https://jj.example").render(turn, Locale.EN)]


async def test_a_wechat_user_asked_for_a_form_gets_the_fill_and_sign_page_not_a_file():
    [message] = await form_asked(signable=True)

    content = message["text"]["content"]
    sign = "https://jj.example/wechat/oauth?next=/app/apply/extension/7"
    assert f'<a href="{sign}">✍️ Fill in and sign</a>' in content
    # Not told to send a file back, nor that a blank form waits on the records page.
    assert "/records" not in content and "WPS" not in content
    assert "WeChat cannot carry the form as a file here" in content


async def test_a_form_the_web_view_cannot_sign_is_not_promised_on_the_records_page():
    [message] = await form_asked(signable=False)

    content = message["text"]["content"]
    assert "/records" not in content and "href" not in content
    assert "Apply for one person at a time" in content


def test_the_paid_notices_start_studying_opens_the_study_page_not_telegrams_launch_page():
    """The payer is told to start studying with Telegram's Mini App address (/app/launch, which
    only Telegram signs in); in WeChat the link goes to the study page through OAuth."""
    base = "https://jj.example"
    render = WeChatNotices(CATALOGS, WeChatReplies(base), f"{base}/app")
    for launch, page in (("/app/launch", "/app"), ("/app/launch/exam?enrolment=5", "/app/exam")):
        composed = Composed("Paid.", (Step.START_STUDYING,), params={"webapp_url": base + launch})
        notice = render.notice("order_paid", composed, Locale.EN)
        assert notice.url.startswith(f"{base}/wechat/oauth?next={page}")
        [message] = notice.messages
        assert "launch" not in message.message["text"]["content"]


def test_wechats_chinese_placeholder_name_is_said_in_the_readers_language():
    """WeChat gives no name: an English reader is greeted as "WeChat user", not as 微信用户."""
    from texts.common import greeting
    from texts.i18n import use_locale
    from texts.wechat import UNNAMED

    with use_locale(Locale.EN.value):
        assert greeting(UNNAMED).startswith("Hello, WeChat user!")
        assert greeting("Wang Lei").startswith("Hello, Wang Lei!")
    with use_locale(Locale.ZH_CN.value):
        assert greeting(UNNAMED).startswith("微信用户，您好")
