"""Local stand-in for Telegram's Bot API, so the bot runs end to end with no Telegram account.

    chat = LocalChat(LocalChatConfig(...), clock=time.monotonic, wall_clock=time.time)
    parent.add_subapp("/_local", make_localchat_app(chat))
    ...
    await chat.close()  # stops background work, writes the snapshot

Bot side: `/bot{token}/{method}` and `/file/bot{token}/{path}` under the mount point, for
`TelegramAPIServer.from_base("http://host:port/_local")`.

Python side (the JSON API under `/api/` calls the same methods; errors raise `ApiError`):
- users: `create_user(first_name, language_code, *, last_name, username, user_id) -> dict`,
  `ensure_user(user_id, first_name, language_code)`, `list_users()`, `block(user_id)`,
  `unblock(user_id)`
- typing as a user: `send_text(user_id, text, first_name=None, language_code=None)`,
  `send_contact(user_id, phone, *, contact_user_id=OWN, first_name, last_name, forwarded)`,
  `send_photo(user_id, data, caption)`, `send_document(user_id, data, file_name, mime_type,
  caption)`, `post(user_id, *, chat_id, text, contact, photo, document, voice, caption,
  thread_id, reply_to_message_id, forwarded)` (the general form), `edit_text(user_id,
  message_id, text, chat_id=None)`, `click(user_id, message_id, data, chat_id=None)`,
  `group_send(chat_id, from_user_id, text, *, thread_id, reply_to_message_id)`;
  each returns `{"update_id", "message_id"}` (update_id is None when allowed_updates
  filtered the update out; click returns `callback_query_id` instead of message_id)
- reading: `messages(chat_id, after=0, include_user=False, *, changed_after, thread_id)`,
  `await wait_messages(..., wait=seconds)`, `list_chats()`, `file_content(file_id)`,
  `get_stats()`, `webapp_url(user_id, url)`
- counters: `stats` dict (`updates`, `sent`, `rejected_429`, `bot_requests`,
  `webhook_deliveries`, `webhook_failures`)

JSON API under `/api/` (errors are `{"ok": false, "error_code", "description"}`):
`GET /bot`, `GET /stats`, `GET|POST /users`, `POST /users/{id}/send|click|edit|block|unblock`,
`GET /users/{id}/messages?after=&wait=&all=1&changed_after=`, `GET /users/{id}/webapp?url=`,
`GET /chats`, `GET /chats/{id}/messages?...&thread_id=`, `POST /chats/{id}/send|click|edit`,
`GET /files/{file_id}`.

Formatting: parse_mode HTML (b strong i em u ins s strike del code pre[+language] a[href]
tg-spoiler span.tg-spoiler blockquote[expandable] tg-emoji) and MarkdownV2 (all of it but custom
emoji) become entities, with Telegram's "can't parse entities" texts; offsets count UTF-16 code
units; text is trimmed as Telegram trims it.

Deliberate differences from Telegram: http:// is accepted for webhooks and Mini App URLs (local
development is loopback), webhooks go one at a time, files live in memory unless `files_dir` is
set (so with only `state_path` a restart keeps messages but not file bytes), and legacy
Markdown is refused as an unsupported parse_mode (the product sends HTML).

Where things are: botapi.py (the method table) and methods/ (the Bot API methods), userapi.py
(the JSON API), formatting.py, markup.py, wire.py (request bodies), limits.py (sizes and flood
limits), state.py (LocalChat, from world.py, persistence.py, filestore.py, users.py and
reading.py), model.py (the records), app.py (the sub-app), page.py and static/ (the page).
"""

from localchat.app import LOCALCHAT_KEY, make_localchat_app
from localchat.errors import ApiError
from localchat.limits import FloodLimits
from localchat.model import LocalChatConfig
from localchat.state import LocalChat
from localchat.users import OWN

__all__ = [
    "LOCALCHAT_KEY",
    "OWN",
    "ApiError",
    "FloodLimits",
    "LocalChat",
    "LocalChatConfig",
    "make_localchat_app",
]
