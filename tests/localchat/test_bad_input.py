import io
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from localchat import LocalChat
from tests.localchat.conftest import GROUP_ID, STAFF_ID, TOKEN

USER = 100001
BOT = f"/_local/bot{TOKEN}"


@pytest.fixture
async def talking(client: TestClient, chat: LocalChat) -> TestClient:
    chat.send_text(USER, "/start")
    return client


async def assert_telegram_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["ok"] is False and body["error_code"] == status
    assert isinstance(body["description"], str) and body["description"]
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/users/abc/messages", {}),
        ("GET", f"/api/users/{GROUP_ID}/messages", {}),
        ("POST", "/api/users/abc/send", {"json": {"text": "x"}}),
        ("POST", "/api/users/-5/send", {"json": {"text": "x"}}),
        ("POST", "/api/users/99999999999999999999999/send", {"json": {"text": "x"}}),
        (
            "POST",
            f"/api/users/{USER}/send",
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
        ),
        ("POST", f"/api/users/{USER}/send", {"json": ["text"]}),
        ("POST", f"/api/users/{USER}/send", {"json": {}}),
        ("POST", f"/api/users/{USER}/send", {"json": {"text": 5}}),
        ("POST", f"/api/users/{USER}/send", {"json": {"text": ""}}),
        ("POST", f"/api/users/{USER}/send", {"json": {"text": "   "}}),
        ("POST", f"/api/users/{USER}/send", {"json": {"text": "长" * 4097}}),
        ("POST", f"/api/users/{USER}/send", {"json": {"text": "x", "contact": {}}}),
        ("POST", f"/api/users/{USER}/send", {"json": {"contact": "+86138"}}),
        ("POST", f"/api/users/{USER}/send", {"json": {"contact": {"phone_number": 138}}}),
        (
            "POST",
            f"/api/users/{USER}/send",
            {"json": {"contact": {"phone_number": "1", "user_id": "x"}}},
        ),
        ("POST", f"/api/users/{USER}/send", {"json": {"text": "x", "first_name": ["a"]}}),
        ("POST", f"/api/users/{USER}/send", {"json": {"text": "x", "reply_to_message_id": 999}}),
        ("POST", f"/api/users/{USER}/send", {"json": {"text": "x", "forwarded": "maybe"}}),
        ("POST", f"/api/users/{USER}/click", {"json": {"message_id": 999, "data": "x"}}),
        ("POST", f"/api/users/{USER}/click", {"json": {"message_id": "one", "data": "x"}}),
        ("POST", f"/api/users/{USER}/click", {"json": {"message_id": 1}}),
        ("POST", "/api/users/4242/click", {"json": {"message_id": 1, "data": "x"}}),
        ("POST", f"/api/users/{USER}/edit", {"json": {"message_id": 999, "text": "x"}}),
        ("POST", f"/api/users/{USER}/edit", {"json": {"message_id": 1, "text": "/start"}}),
        ("POST", "/api/users/4242/block", {}),
        ("GET", f"/api/users/{USER}/messages?after=abc", {}),
        ("GET", f"/api/users/{USER}/messages?wait=soon", {}),
        ("GET", f"/api/users/{USER}/messages?wait=3600", {}),
        ("GET", f"/api/users/{USER}/messages?changed_after=1.5", {}),
        ("POST", "/api/users", {"json": {"first_name": 5}}),
        ("POST", "/api/users", {"json": {"id": 0}}),
        ("POST", "/api/chats/abc/send", {"json": {"from_user_id": STAFF_ID, "text": "x"}}),
        ("POST", "/api/chats/-1/send", {"json": {"from_user_id": STAFF_ID, "text": "x"}}),
        ("POST", f"/api/chats/{GROUP_ID}/send", {"json": {"from_user_id": "boss", "text": "x"}}),
        ("POST", f"/api/chats/{GROUP_ID}/send", {"json": {"text": "x"}}),
        (
            "POST",
            f"/api/chats/{GROUP_ID}/send",
            {"json": {"from_user_id": STAFF_ID, "text": "x", "message_thread_id": 77}},
        ),
        (
            "POST",
            f"/api/chats/{GROUP_ID}/click",
            {"json": {"from_user_id": STAFF_ID, "message_id": 5, "data": "x"}},
        ),
        ("GET", "/api/chats/abc/messages", {}),
    ],
)
async def test_bad_input_to_the_user_api_gets_a_telegram_like_400(
    talking: TestClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = await talking.request(method, "/_local" + path, **kwargs)
    await assert_telegram_error(response, 400)


async def test_oversized_bodies_are_refused_with_413(talking: TestClient) -> None:
    big_json = await talking.post(
        f"/_local/api/users/{USER}/send", json={"text": "x", "pad": "y" * 70_000}
    )
    form = FormData()
    form.add_field("document", io.BytesIO(b"0" * (21 * 1024 * 1024)), filename="big.bin")
    big_file = await talking.post(f"/_local/api/users/{USER}/send", data=form)
    await assert_telegram_error(big_json, 413)
    await assert_telegram_error(big_file, 413)


async def test_unknown_paths_and_files_are_404_json(talking: TestClient) -> None:
    await assert_telegram_error(await talking.get("/_local/api/nothing-here"), 404)
    await assert_telegram_error(await talking.get("/_local/api/files/nope"), 404)


@pytest.mark.parametrize(
    ("method", "fields", "description"),
    [
        ("sendMessage", {"text": "x"}, "Bad Request: chat_id is empty"),
        ("sendMessage", {"chat_id": "abc", "text": "x"}, "Bad Request: chat not found"),
        ("sendMessage", {"chat_id": str(USER)}, "Bad Request: message text is empty"),
        (
            "sendMessage",
            {"chat_id": str(USER), "text": "x", "reply_markup": "{bad"},
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        (
            "sendMessage",
            {"chat_id": str(USER), "text": "x", "reply_markup": '{"inline_keyboard": 5}'},
            None,
        ),
        (
            "sendMessage",
            {
                "chat_id": str(USER),
                "text": "x",
                "reply_markup": '{"inline_keyboard": [[{"text": "x"}]]}',
            },
            None,
        ),
        (
            "sendMessage",
            {"chat_id": str(USER), "text": "x", "parse_mode": "Klingon"},
            "Bad Request: unsupported parse_mode",
        ),
        (
            "sendMessage",
            {"chat_id": str(USER), "text": "*x*", "parse_mode": "Markdown"},
            "Bad Request: unsupported parse_mode",
        ),
        ("sendMessage", {"chat_id": str(USER), "text": "x", "entities": '[{"type": 5}]'}, None),
        ("sendMessage", {"chat_id": str(USER), "text": "x", "message_thread_id": "two"}, None),
        ("editMessageText", {"chat_id": str(USER), "message_id": "abc", "text": "x"}, None),
        (
            "editMessageText",
            {"chat_id": str(USER), "text": "x"},
            "Bad Request: message identifier is not specified",
        ),
        (
            "deleteMessage",
            {"chat_id": str(USER), "message_id": "404"},
            "Bad Request: message to delete not found",
        ),
        ("sendPhoto", {"chat_id": str(USER)}, None),
        ("sendPhoto", {"chat_id": str(USER), "photo": "attach://missing"}, None),
        ("getUpdates", {"offset": "abc"}, None),
        ("getUpdates", {"allowed_updates": "{bad"}, None),
        (
            "setMyCommands",
            {"commands": '[{"command": "Bad Cmd", "description": "x"}]'},
            "Bad Request: BOT_COMMAND_INVALID",
        ),
        ("setMyCommands", {"commands": "5"}, None),
        (
            "answerCallbackQuery",
            {"callback_query_id": "42"},
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        ),
        ("getFile", {"file_id": "nope"}, "Bad Request: invalid file_id"),
        (
            "copyMessage",
            {"chat_id": str(USER), "from_chat_id": str(USER), "message_id": "99"},
            "Bad Request: message to copy not found",
        ),
        ("createForumTopic", {"chat_id": str(GROUP_ID), "name": "x", "icon_color": "123"}, None),
        ("setChatMenuButton", {"menu_button": '{"type": "web_app"}'}, None),
        ("sendChatAction", {"chat_id": str(USER), "action": "dancing"}, None),
    ],
)
async def test_bad_bot_api_arguments_get_400_with_a_description(
    talking: TestClient, method: str, fields: dict[str, str], description: str | None
) -> None:
    body = await assert_telegram_error(await talking.post(f"{BOT}/{method}", data=fields), 400)
    if description is not None:
        assert body["description"] == description


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"\xff\xfe\x00garbage", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b"--x\r\nnot really\r\n", {"Content-Type": "multipart/form-data"}),
        (
            b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--\r\n",
            {"Content-Type": "multipart/form-data; boundary=x"},
        ),
        (b"[1, 2, 3]", {"Content-Type": "application/json"}),
        (b'{"chat_id": {"nested": true}, "text": [1]}', {"Content-Type": "application/json"}),
        (b"\x00" * 100, {"Content-Type": "application/octet-stream"}),
    ],
)
@pytest.mark.parametrize(
    "method",
    [
        "sendMessage",
        "sendPhoto",
        "getUpdates",
        "setWebhook",
        "editMessageText",
        "createForumTopic",
        "setMyCommands",
    ],
)
async def test_garbage_bodies_never_cause_a_server_error(
    talking: TestClient, method: str, body: bytes, headers: dict[str, str]
) -> None:
    response = await talking.post(f"{BOT}/{method}", data=body, headers=headers)
    assert response.status < 500, await response.text()
    assert (await response.json())["ok"] is (response.status == 200)


async def test_a_json_body_is_accepted_by_the_bot_api_like_telegram_does(
    talking: TestClient,
) -> None:
    response = await talking.post(f"{BOT}/sendMessage", json={"chat_id": USER, "text": "hi"})
    assert (await response.json())["result"]["text"] == "hi"
