"""The Official Account's custom menu (自定义菜单), from the core's main menu: a press becomes a
click whose key comes back as that press, a page of the web view a link through OAuth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conversation.flows.common import menu_buttons
from conversation.replies import Button, OpenPage, OpenUrl, Press
from domain.locales import DEFAULT_LOCALE
from texts import wechat as texts
from texts.i18n import use_locale
from wechat.api import WeChatApi
from wechat.channel import WeChatReplies, plain

# WeChat: at most 3 top-level entries of at most 5 each; a click's key at most 128 bytes.
GROUPS: tuple[tuple[Callable[[], str], slice], ...] = (
    (texts.menu_group_study, slice(0, 2)),  # enrol, status, pay, study
    (texts.menu_group_exam, slice(2, 4)),  # exam, applications, help, support
    (texts.menu_group_me, slice(4, None)),  # records, language
)


def _entry(button: Button, replies: WeChatReplies) -> dict[str, Any]:
    name, action = plain(str(button.label)), button.action
    if isinstance(action, Press):
        return {"type": "click", "name": name, "key": action.pack()}
    if isinstance(action, OpenPage):
        return {"type": "view", "name": name, "url": replies.page_url(action.path)}
    assert isinstance(action, OpenUrl)
    return {"type": "view", "name": name, "url": action.url}


def custom_menu(replies: WeChatReplies, locale: str = DEFAULT_LOCALE.value) -> dict[str, Any]:
    """In one language (the product's default): WeChat's menu is the account's, not the
    person's; a person reading English gets the replies in English."""
    rows = menu_buttons()
    with use_locale(locale):
        return {
            "button": [
                {
                    "name": name(),
                    "sub_button": [_entry(b, replies) for row in rows[part] for b in row][:5],
                }
                for name, part in GROUPS
            ]
        }


async def publish_menu(api: WeChatApi, replies: WeChatReplies) -> None:
    await api.create_menu(custom_menu(replies))
