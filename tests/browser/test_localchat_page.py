"""The local chat page, driven in Chromium against the stand-in Bot API and a real aiogram bot."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonWebApp,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    WebAppInfo,
)
from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web
from playwright.async_api import Locator, Page, expect

from localchat import FloodLimits, LocalChat, LocalChatConfig
from tests.browser.conftest import LiveServer
from tests.support import video
from tests.support.serving import api_base, localchat_app

pytestmark = pytest.mark.browser

TOKEN = "123456:local-dev-token"
STAFF_GROUP_ID = -1001000000001
STAFF_ID = 900001
STAFF_NAME = "客服小李"
BOT_NAME = "继教助手"

# A Mini App that shows who Telegram says opened it, and talks to the client like Telegram's
# script does inside an iframe (postMessage with eventType/eventData).
MINI_APP_HTML = """<!doctype html><meta charset="utf-8"><title>学习中心</title>
<h1>学习中心</h1><p id="who"></p><p id="state">等待</p>
<button id="close" type="button">关闭小程序</button>
<script>
const hash = new URLSearchParams(location.hash.slice(1));
const data = new URLSearchParams(hash.get("tgWebAppData") || "");
document.getElementById("who").textContent = JSON.parse(data.get("user") || "{}").first_name || "";
const post = (eventType, eventData) =>
  window.parent.postMessage(JSON.stringify({eventType, eventData}), "*");
window.addEventListener("message", (event) => {
  const message = JSON.parse(event.data);
  if (message.eventType === "main_button_pressed") {
    document.getElementById("state").textContent = "已提交";
  }
});
document.getElementById("close").addEventListener("click", () => post("web_app_close", {}));
post("web_app_ready", {});
post("web_app_setup_main_button", {is_visible: true, is_active: true, text: "提交报名"});
</script>"""


@dataclass
class World:
    base: str
    chat: LocalChat
    topics: dict[int, int] = field(default_factory=dict)

    @property
    def page_url(self) -> str:
        return f"{self.base}/_local/"

    @property
    def mini_app_url(self) -> str:
        return f"{self.base}/miniapp"


def make_router(world: World) -> Router:
    router = Router()

    @router.message(CommandStart())
    async def greet(message: Message, bot: Bot) -> None:
        await bot.set_chat_menu_button(
            chat_id=message.chat.id,
            menu_button=MenuButtonWebApp(
                text="学习中心", web_app=WebAppInfo(url=world.mini_app_url)
            ),
        )
        await message.answer(
            "<b>欢迎</b>来到继教助手！\n请确认报名，或打开学习中心。",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(text="确认报名", callback_data="confirm"),
                        InlineKeyboardButton(text="报名须知", callback_data="notice"),
                    ],
                    [
                        InlineKeyboardButton(
                            text="打开学习中心", web_app=WebAppInfo(url=world.mini_app_url)
                        )
                    ],
                ]
            ),
        )
        await message.answer(
            "请分享手机号，用于核对报名信息。",
            reply_markup=ReplyKeyboardMarkup(
                keyboard=[[KeyboardButton(text="分享手机号", request_contact=True)]],
                resize_keyboard=True,
            ),
        )

    @router.callback_query(F.data == "confirm")
    async def confirm(callback: CallbackQuery) -> None:
        assert isinstance(callback.message, Message)
        await callback.message.edit_text("报名已确认 ✅")
        await callback.answer("报名成功")

    @router.callback_query(F.data == "notice")
    async def notice(callback: CallbackQuery) -> None:
        await callback.answer("请先完成实名认证", show_alert=True)

    @router.message(Command("temp"))
    async def short_lived(message: Message) -> None:
        sent = await message.answer("这条消息马上会被撤回")
        await asyncio.sleep(1)
        await sent.delete()

    @router.callback_query(F.data == "solved")
    async def solved(callback: CallbackQuery) -> None:
        assert isinstance(callback.message, Message)
        await callback.message.edit_text(f"{callback.message.text}\n—— 已解决")
        await callback.answer()

    @router.message(F.contact)
    async def got_contact(message: Message) -> None:
        assert message.contact is not None
        await message.answer(
            f"已收到手机号 {message.contact.phone_number}", reply_markup=ReplyKeyboardRemove()
        )

    @router.message(F.photo)
    async def got_photo(message: Message) -> None:
        await message.answer("照片已收到")

    @router.message(F.chat.type == "private", F.text.startswith("咨询"))
    async def ask_support(message: Message, bot: Bot) -> None:
        assert message.from_user is not None and message.text is not None
        user = message.from_user
        if user.id not in world.topics:
            topic = await bot.create_forum_topic(STAFF_GROUP_ID, f"{user.first_name} · {user.id}")
            world.topics[user.id] = topic.message_thread_id
        await bot.send_message(
            STAFF_GROUP_ID,
            f"学员提问：{message.text}",
            message_thread_id=world.topics[user.id],
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="标记已解决", callback_data="solved")]]
            ),
        )
        await message.answer("已转交客服，请稍候。")

    @router.message(F.chat.id == STAFF_GROUP_ID, F.message_thread_id, F.text)
    async def staff_reply(message: Message, bot: Bot) -> None:
        trainee = next(
            (uid for uid, thread in world.topics.items() if thread == message.message_thread_id),
            None,
        )
        if trainee is not None:
            await bot.send_message(trainee, f"客服回复：{message.text}")

    @router.message(F.chat.type == "private", F.text)
    async def echo(message: Message) -> None:
        assert message.text is not None
        await message.answer(message.text, parse_mode=None)

    return router


@pytest_asyncio.fixture(loop_scope="session")
async def world(live_server: LiveServer) -> AsyncIterator[World]:
    chat = LocalChat(
        LocalChatConfig(
            token=TOKEN,
            bot_username="jijiao_test_bot",
            bot_first_name=BOT_NAME,
            staff_group_id=STAFF_GROUP_ID,
            staff_group_title="继教客服",
            staff_members=[(STAFF_ID, STAFF_NAME)],
            state_path=None,
            files_dir=None,
            limits=FloodLimits(enabled=False),
        )
    )

    async def mini_app(request: web.Request) -> web.Response:
        return web.Response(text=MINI_APP_HTML, content_type="text/html")

    root = localchat_app(chat)
    root.router.add_get("/miniapp", mini_app)
    base = await live_server(root)
    the_world = World(base=base, chat=chat)

    bot = Bot(
        TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(api_base(base))),
        default=DefaultBotProperties(parse_mode="HTML"),
    )
    dispatcher = Dispatcher()
    dispatcher.include_router(make_router(the_world))
    started = asyncio.Event()
    dispatcher.startup.register(started.set)
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=True)
    )
    await asyncio.wait_for(started.wait(), 10)
    try:
        yield the_world
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, 10)
        await chat.close()


async def open_page(page: Page, world: World) -> None:
    await page.goto(world.page_url)
    await expect(page.locator("body.ready")).to_be_attached()


async def create_trainee(page: Page, name: str, language: str = "zh") -> None:
    form = page.locator("#new-user-form")
    if await form.is_hidden():
        await page.locator("#new-user-toggle").click()
    await form.locator(f'[data-lang="{language}"]').click()
    await page.locator("#new-user-name").fill(name)
    await page.locator("#new-user-create").click()
    await expect(page.locator("#chat-subtitle")).to_contain_text(name)


async def send(page: Page, text: str) -> None:
    await page.locator("#message-input").fill(text)
    await page.locator("#message-input").press("Enter")


def bot_bubble(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.locator(".msg.in .bubble", has_text=text)


def bot_row(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.locator(".msg.in", has=page.locator(".bubble", has_text=text))


async def test_trainee_starts_the_bot_and_presses_an_inline_button(
    browser_page: Page, world: World
) -> None:
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "张三")

    await send(page, "/start")

    await expect(page.locator(".msg.out .bubble", has_text="/start")).to_be_visible()
    welcome = bot_bubble(page, "来到继教助手")
    await expect(welcome).to_be_visible()
    await expect(welcome.locator("strong")).to_have_text("欢迎")
    await bot_row(page, "来到继教助手").get_by_role("button", name="报名须知").click()
    alert = page.locator("#alert-dialog")
    await expect(alert).to_be_visible()
    await expect(alert).to_contain_text("请先完成实名认证")
    await alert.get_by_role("button", name="确定").click()
    await expect(alert).to_be_hidden()
    await bot_row(page, "来到继教助手").get_by_role("button", name="确认报名").click()

    edited = bot_bubble(page, "报名已确认 ✅")
    await expect(edited).to_be_visible()
    await expect(edited.locator(".meta .meta-edited")).to_have_text("已编辑")
    await expect(bot_bubble(page, "来到继教助手")).to_have_count(0)
    await expect(page.locator(".toast", has_text="报名成功")).to_be_visible()


async def test_trainee_shares_the_phone_from_the_reply_keyboard(
    browser_page: Page, world: World
) -> None:
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "李四")
    await send(page, "/start")

    keyboard = page.locator("#reply-keyboard")
    await expect(keyboard.get_by_role("button", name="分享手机号")).to_be_visible()
    await page.locator("#keyboard-toggle").click()
    await expect(keyboard).to_be_hidden()
    await page.locator("#keyboard-toggle").click()
    await keyboard.get_by_role("button", name="分享手机号").click()
    dialog = page.locator("#contact-dialog")
    await expect(dialog).to_be_visible()
    await page.locator("#contact-phone").fill("13912345678")
    await page.locator("#contact-phone").press("Enter")

    await expect(page.locator(".msg.out .contact-phone")).to_have_text("13912345678")
    await expect(bot_bubble(page, "已收到手机号 13912345678")).to_be_visible()
    await expect(keyboard).to_be_hidden()
    await expect(page.locator("#keyboard-toggle")).to_be_hidden()
    user_id = await page.evaluate("JSON.parse(localStorage.getItem('localchat.userId'))")
    remembered = await page.evaluate(f"localStorage.getItem('localchat.phone.{user_id}')")
    assert json.loads(remembered) == "13912345678"


async def test_web_app_button_opens_the_signed_mini_app_in_the_phone_frame(
    browser_page: Page, world: World
) -> None:
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "王五")
    await send(page, "/start")

    await page.get_by_role("button", name="打开学习中心").click()

    frame_box = page.locator("#webapp-dialog")
    await expect(frame_box).to_be_visible()
    await expect(page.locator("#webapp-title")).to_have_text("打开学习中心")
    src = await page.locator("#webapp-frame").get_attribute("src")
    assert src is not None and src.startswith(world.mini_app_url)
    launch = parse_qs(urlsplit(src).fragment)
    init_data = safe_parse_webapp_init_data(TOKEN, launch["tgWebAppData"][0])
    assert init_data.user is not None and init_data.user.first_name == "王五"

    mini_app = page.frame_locator("#webapp-frame")
    await expect(mini_app.locator("#who")).to_have_text("王五")
    main_button = page.locator("#webapp-main-button")
    await expect(main_button).to_have_text("提交报名")
    await main_button.click()
    await expect(mini_app.locator("#state")).to_have_text("已提交")
    await mini_app.get_by_role("button", name="关闭小程序").click()
    await expect(frame_box).to_be_hidden()

    await page.locator("#menu-button").click()
    await expect(frame_box).to_be_visible()
    await expect(page.locator("#webapp-title")).to_have_text("学习中心")
    await expect(mini_app.locator("#who")).to_have_text("王五")
    await page.locator("#webapp-close").click()
    await expect(frame_box).to_be_hidden()


async def test_support_staff_answers_a_trainee_in_the_trainee_topic(
    browser_page: Page, world: World
) -> None:
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "赵六")
    await send(page, "咨询：证书什么时候能下载？")
    await expect(bot_bubble(page, "已转交客服")).to_be_visible()

    await page.locator("#tab-staff").click()
    topic = page.locator("#topic-list .list-item", has_text="赵六")
    await expect(topic).to_be_visible()
    await topic.click()
    question = page.locator(".msg.in .bubble", has_text="学员提问：咨询：证书什么时候能下载？")
    await expect(question).to_be_visible()
    await expect(page.locator("#chat-subtitle")).to_contain_text(STAFF_NAME)

    await bot_row(page, "学员提问").hover()
    await bot_row(page, "学员提问").get_by_role("button", name="回复").click()
    await expect(page.locator("#composer-context")).to_contain_text("回复 继教助手")
    await send(page, "培训结束后第二天即可下载。")
    answer = page.locator(".msg.out .bubble", has_text="第二天即可下载")
    await expect(answer).to_be_visible()
    await expect(answer.locator(".reply-quote")).to_contain_text("学员提问")
    await expect(page.locator("#composer-context")).to_be_hidden()
    await bot_row(page, "学员提问").get_by_role("button", name="标记已解决").click()
    await expect(bot_bubble(page, "—— 已解决")).to_be_visible()

    await page.locator("#tab-trainees").click()
    await page.locator("#user-list .list-item", has_text="赵六").click()
    await expect(bot_bubble(page, "客服回复：培训结束后第二天即可下载。")).to_be_visible()


async def test_text_from_people_and_bots_is_shown_as_text_never_markup(
    browser_page: Page, world: World
) -> None:
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "Alice", language="en")
    hostile = '<img src=x id="injected"> <b>not bold</b>'

    await send(page, hostile)

    echoed = bot_bubble(page, hostile)
    await expect(echoed).to_be_visible()
    await expect(page.locator("#injected")).to_have_count(0)
    await expect(echoed.locator("b, strong")).to_have_count(0)
    await expect(page.locator("#message-input")).to_have_attribute("placeholder", "Message…")


async def test_trainee_sends_a_photo_and_sees_it_inline(
    browser_page: Page, world: World, tmp_path: Path
) -> None:
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "孙七")
    photo = tmp_path / "certificate.png"
    photo.write_bytes(_png(48, 32))

    await page.locator("#photo-input").set_input_files(photo)
    await expect(page.locator("#upload-preview img")).to_be_visible()
    await page.locator("#upload-caption").fill("我的证书")
    await page.locator("#upload-send").click()

    sent = page.locator(".msg.out .bubble", has_text="我的证书")
    await expect(sent.locator(".photo img")).to_be_visible()
    width = await sent.locator(".photo img").evaluate("img => img.naturalWidth")
    assert width == 48
    await expect(bot_bubble(page, "照片已收到")).to_be_visible()


async def test_trainee_sends_a_round_video_from_the_attach_menu(
    browser_page: Page, world: World, tmp_path: Path
) -> None:
    """For the demo of a face check without a camera in the Mini App: any video file goes as a
    video note, shown round."""
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "钱八")
    clip = tmp_path / "turn.mp4"
    clip.write_bytes(video.head_turn_left())

    await page.locator("#attach-button").click()
    await expect(page.locator("#attach-video-note")).to_be_visible()
    await page.locator("#video-note-input").set_input_files(clip)

    await expect(page.locator(".msg.out .video-note video")).to_be_attached()
    [user] = [u for u in world.chat.list_users() if u["first_name"] == "钱八"]
    shown = world.chat.messages(user["id"], include_user=True)["messages"]
    [sent] = [m for m in shown if m["video_note"]]
    assert sent["video_note"]["length"] == 384


async def test_a_banner_shows_while_the_server_is_unreachable(
    browser_page: Page, world: World
) -> None:
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "周八")
    banner = page.locator("#offline-banner")
    await expect(banner).to_be_hidden()

    await page.route("**/_local/api/**", lambda route: route.abort())
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(banner).to_be_visible(timeout=15000)

    await page.unroute("**/_local/api/**")
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(banner).to_be_hidden(timeout=15000)
    await send(page, "你好")
    await expect(bot_bubble(page, "你好")).to_be_visible()


async def test_a_message_the_bot_deletes_disappears(browser_page: Page, world: World) -> None:
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "郑十")

    await send(page, "/temp")

    await expect(bot_bubble(page, "马上会被撤回")).to_be_visible()
    await expect(bot_bubble(page, "马上会被撤回")).to_have_count(0)
    await expect(page.locator(".msg.out .bubble", has_text="/temp")).to_be_visible()


async def test_trainee_edits_a_sent_message(browser_page: Page, world: World) -> None:
    page = browser_page
    await open_page(page, world)
    await create_trainee(page, "吴九")
    await send(page, "我想报名安全员课程")
    mine = page.locator(".msg.out", has=page.locator(".bubble", has_text="安全员课程"))
    await expect(mine).to_be_visible()

    await mine.hover()
    await mine.get_by_role("button", name="编辑").click()
    await expect(page.locator("#message-input")).to_have_value("我想报名安全员课程")
    await page.locator("#message-input").fill("我想报名施工员课程")
    await page.locator("#message-input").press("Enter")

    edited = page.locator(".msg.out .bubble", has_text="我想报名施工员课程")
    await expect(edited.locator(".meta .meta-edited")).to_be_visible()
    await expect(page.locator(".msg.out .bubble", has_text="安全员课程")).to_have_count(0)


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (42, 122, 184)).save(buffer, "PNG")
    return buffer.getvalue()
