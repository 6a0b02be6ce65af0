"""The stand-in's state and rules: access tokens, users and their reply allowance, media, the
menu, OAuth codes, what the account sent each user, and the calls to the product's callback."""

import asyncio
import itertools
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

from wechatlocal import protocol

log = logging.getLogger(__name__)

Json = dict[str, Any]

# The local account's credentials: the product's WECHAT_* settings default to them in local mode.
LOCAL_APPID = "wx10ca1c0ffee00001"
LOCAL_APPSECRET = "10ca1a99sec7e7000000000000000001"
LOCAL_TOKEN = "jijiaolocaltoken"
LOCAL_ENCODING_AES_KEY = "jIjIa0L0ca1Enc0d1ngAesKeyF0rTheStandIn00000"
LOCAL_ORIGINAL_ID = "gh_10ca1c0ffee1"

# What WeChat shows a user when the account's server did not answer properly.
SERVICE_UNAVAILABLE = "该公众号暂时无法提供服务，请稍后再试"

ERRMSG = {
    0: "ok",
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40023: "invalid sub button size",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41005: "media data missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    44004: "empty content",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    46003: "menu no exist",
    47001: "data format error",
}

MEDIA_LIMITS = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "thumb": 64 << 10}
CUSTOM_TYPES = {"text", "image", "voice", "video", "news", "msgmenu"}
REPLY_TYPES = {"text", "image", "voice", "video", "music", "news"}


class WeChatError(Exception):
    """An error as WeChat's API answers it: HTTP 200 with errcode and errmsg."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        self.errcode = errcode
        self.errmsg = ERRMSG.get(errcode, "error") + (f" ({detail})" if detail else "")
        super().__init__(f"{errcode}: {self.errmsg}")

    def to_json(self) -> Json:
        return {"errcode": self.errcode, "errmsg": self.errmsg}


class ApiError(Exception):
    """An error of the user-playing JSON API: `{"ok": false, "error_code", "description"}`."""

    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(description)

    def to_json(self) -> Json:
        return {"ok": False, "error_code": self.code, "description": self.description}


class AuthorizeError(Exception):
    """What WeChat's authorize page shows instead of redirecting (a page, not JSON)."""

    def __init__(self, code: int, text: str) -> None:
        self.code = code
        self.text = text
        super().__init__(f"{code}: {text}")


@dataclass(frozen=True)
class Quota:
    """How many customer-service messages one user action allows, and for how long."""

    count: int
    seconds: float


@dataclass
class WeChatLocalConfig:
    appid: str = LOCAL_APPID
    secret: str = LOCAL_APPSECRET
    token: str = LOCAL_TOKEN
    encoding_aes_key: str = LOCAL_ENCODING_AES_KEY
    original_id: str = LOCAL_ORIGINAL_ID
    account_name: str = "继教 jijiao"
    # The product's callback (full URL); None: users' messages are refused with 409.
    callback_url: str | None = None
    # Where WeChat Pay's checkout (getBrandWCPayRequest) is confirmed: the payment sandbox's
    # JSAPI endpoint (the product's, in local mode); None: the checkout answers "fail".
    pay_url: str | None = None
    safe_mode: bool = False
    token_ttl: int = 7200
    # An old access token stays valid this long after a new one is issued (WeChat: 5 minutes).
    token_overlap: int = 300
    code_ttl: int = 300
    media_ttl: int = 3 * 86400
    callback_timeout: float = 5.0
    # WeChat retries a callback that timed out, three tries in all.
    callback_attempts: int = 3
    # The rules for customer-service messages (service account documentation, since 2023):
    # a user's message allows 5 within 48 h; a menu click or a follow allows 3 within a minute.
    # Allowances do not add up: an action raises the count and the deadline to the larger.
    message_quota: Quota = Quota(5, 48 * 3600)
    menu_quota: Quota = Quota(3, 60)
    follow_quota: Quota = Quota(3, 60)
    # Hosts redirect_uri may name (the "网页授权域名"); None: any.
    oauth_hosts: tuple[str, ...] | None = None
    # Users, what they were sent and the menu survive a restart here (tokens, codes and media
    # do not: the product asks again, as after WeChat invalidates them).
    state_path: Path | None = None

    def __post_init__(self) -> None:
        protocol.aes_key(self.encoding_aes_key)


@dataclass
class User:
    openid: str
    nickname: str
    follows: bool
    created: float
    refuses_notices: bool = False
    allowance: int = 0
    allowance_until: float = 0.0
    last_message_at: float | None = None
    # Subscription-notice templates the user accepted (订阅通知): one-time acceptances left.
    subscriptions: dict[str, int] = field(default_factory=dict)

    def to_json(self, now: float) -> Json:
        live = self.allowance_until > now
        return {
            "openid": self.openid,
            "nickname": self.nickname,
            "follows": self.follows,
            "refuses_notices": self.refuses_notices,
            "allowance": self.allowance if live else 0,
            "allowance_until": int(self.allowance_until) if live else None,
            "last_message_at": int(self.last_message_at) if self.last_message_at else None,
            "subscriptions": dict(self.subscriptions),
        }


@dataclass
class Media:
    media_id: str
    kind: str
    data: bytes
    filename: str
    content_type: str
    created: float


@dataclass
class Code:
    openid: str
    scope: str
    expires: float
    used: bool = False


@dataclass
class Stats:
    tokens_issued: int = 0
    api_calls: int = 0
    custom_sent: int = 0
    custom_refused: int = 0
    callbacks: int = 0
    callback_failures: int = 0
    reply_errors: int = 0
    last_error: str | None = None

    def to_json(self) -> Json:
        return dict(self.__dict__)


@dataclass
class _Shutdown:
    closing: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def _require_str(body: Json, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise WeChatError(47001, f"{name} is required")
    return value


class WeChatLocal:
    def __init__(self, config: WeChatLocalConfig, *, wall_clock: Callable[[], float]) -> None:
        self.config = config
        self.wall_clock = wall_clock
        self.users: dict[str, User] = {}
        self.tokens: dict[str, float] = {}
        self.media: dict[str, Media] = {}
        self.codes: dict[str, Code] = {}
        self.sns_tokens: dict[str, tuple[str, float]] = {}
        self.menu: Json | None = None
        self.menu_id = 0
        self.stats = Stats()
        # What the next message sends (customer-service, template, subscription) answer instead,
        # one each, first first: a test's WeChat outage (-1) or quota (45009) at that moment.
        self.refusals: list[int] = []
        self._messages: list[Json] = []
        self._ids = itertools.count(1)
        self._msg_ids = itertools.count(24_000_000_000_000_001)
        self._locks: dict[str, asyncio.Lock] = {}
        self._state = _Shutdown()
        self._http: aiohttp.ClientSession | None = None
        self._dirty = False
        self._save_handle: asyncio.TimerHandle | None = None
        if config.state_path is not None and config.state_path.exists():
            self._load(config.state_path)

    # -- the snapshot -----------------------------------------------------------------------

    def snapshot(self) -> Json:
        return {
            "version": 1,
            "users": [asdict(user) for user in self.users.values()],
            "messages": self._messages,
            "menu": self.menu,
            "menu_id": self.menu_id,
        }

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            names = {f.name for f in fields(User)}
            users = {
                u["openid"]: User(**{k: v for k, v in u.items() if k in names})
                for u in data["users"]
            }
            messages = [dict(m) for m in data["messages"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A broken snapshot must not stop local development: keep it aside, start fresh.
            aside = path.with_name(path.name + ".corrupt")
            log.warning("wechatlocal: unreadable snapshot %s (%s), moved to %s", path, exc, aside)
            try:
                os.replace(path, aside)
            except OSError:
                pass
            return
        self.users = users
        self._messages = messages
        self.menu = data.get("menu")
        self.menu_id = int(data.get("menu_id") or 0)
        self._ids = itertools.count(max((int(m["id"]) for m in messages), default=0) + 1)

    def _touch(self) -> None:
        if self.config.state_path is None:
            return
        self._dirty = True
        if self._save_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.save()
                return
            self._save_handle = loop.call_later(0.5, self._save_now)

    def _save_now(self) -> None:
        self._save_handle = None
        self.save()

    def save(self) -> None:
        path = self.config.state_path
        if path is None or not self._dirty:
            return
        self._dirty = False
        try:
            text = json.dumps(self.snapshot(), ensure_ascii=False, separators=(",", ":"))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            log.exception("wechatlocal: could not write snapshot to %s", path)

    # -- time -------------------------------------------------------------------------------

    def now(self) -> float:
        return self.wall_clock()

    # -- access tokens ----------------------------------------------------------------------

    def _check_credentials(self, appid: str | None, secret: str | None) -> None:
        if appid != self.config.appid:
            raise WeChatError(40013)
        if secret != self.config.secret:
            raise WeChatError(40125)

    def issue_token(self, grant_type: str | None, appid: str | None, secret: str | None) -> Json:
        self._check_credentials(appid, secret)
        if grant_type != "client_credential":
            raise WeChatError(40002)
        now = self.now()
        overlap = now + self.config.token_overlap
        for token, expires in list(self.tokens.items()):
            if expires <= now:
                del self.tokens[token]
            else:
                self.tokens[token] = min(expires, overlap)
        token = "wxlocal_" + secrets.token_urlsafe(48)
        self.tokens[token] = now + self.config.token_ttl
        self.stats.tokens_issued += 1
        return {"access_token": token, "expires_in": self.config.token_ttl}

    def stable_token(self, body: Json) -> Json:
        """getStableAccessToken: the current token while it is valid, unless force_refresh."""
        self._check_credentials(body.get("appid"), body.get("secret"))
        if body.get("grant_type") != "client_credential":
            raise WeChatError(40002)
        now = self.now()
        if not body.get("force_refresh"):
            live = [(expires, token) for token, expires in self.tokens.items() if expires > now]
            if live:
                expires, token = max(live)
                return {"access_token": token, "expires_in": int(expires - now)}
        return self.issue_token("client_credential", body.get("appid"), body.get("secret"))

    def check_token(self, token: str | None) -> None:
        self.stats.api_calls += 1
        if not token:
            raise WeChatError(41001)
        expires = self.tokens.get(token)
        if expires is None:
            raise WeChatError(40001)
        if expires <= self.now():
            raise WeChatError(42001)

    # -- users ------------------------------------------------------------------------------

    def _new_openid(self) -> str:
        return "o" + secrets.token_urlsafe(21)[:27]

    def ensure_user(
        self, openid: str | None = None, nickname: str | None = None, *, follows: bool = False
    ) -> User:
        """The user with this openid, created when new (a follower already when `follows`)."""
        if openid is not None and not (0 < len(openid) <= 64 and openid.isprintable()):
            raise ApiError(400, "openid must be 1 to 64 printable characters")
        openid = openid or self._new_openid()
        user = self.users.get(openid)
        if user is None:
            user = User(openid, nickname or f"微信用户{len(self.users) + 1}", follows, self.now())
            self.users[openid] = user
            self._touch()
        elif nickname:
            user.nickname = nickname
            self._touch()
        return user

    def user(self, openid: str) -> User:
        user = self.users.get(openid)
        if user is None:
            raise ApiError(404, f"no user {openid}")
        return user

    def list_users(self) -> list[Json]:
        now = self.now()
        return [user.to_json(now) for user in self.users.values()]

    def user_info(self, openid: str | None) -> Json:
        """cgi-bin/user/info: whether the user follows (the only fields known here)."""
        user = self.users.get(openid or "")
        if user is None:
            raise WeChatError(40003)
        if not user.follows:
            return {"subscribe": 0, "openid": user.openid}
        return {
            "subscribe": 1,
            "openid": user.openid,
            "language": "zh_CN",
            "subscribe_time": int(user.created),
            "remark": "",
            "groupid": 0,
            "tagid_list": [],
            "subscribe_scene": "ADD_SCENE_OTHERS",
        }

    def refuse_notices(self, openid: str, refuses: bool = True) -> None:
        self.user(openid).refuses_notices = refuses
        self._touch()

    def _grant(self, user: User, quota: Quota) -> None:
        now = self.now()
        live = user.allowance if user.allowance_until > now else 0
        user.allowance = max(live, quota.count)
        user.allowance_until = max(user.allowance_until, now + quota.seconds)

    # -- messages to users ------------------------------------------------------------------

    def _record(self, openid: str, sender: str, via: str, payload: Json) -> Json:
        message = {
            "id": next(self._ids),
            "openid": openid,
            "date": int(self.now()),
            "from": sender,
            "via": via,
            **payload,
        }
        self._messages.append(message)
        self._notify()
        return message

    def _notify(self) -> None:
        self._touch()
        self._state.changed.set()
        self._state.changed = asyncio.Event()

    def _customer_payload(self, msgtype: str, body: Json) -> Json:
        if msgtype not in CUSTOM_TYPES:
            raise WeChatError(40008, msgtype)
        part = body.get(msgtype)
        if not isinstance(part, dict):
            raise WeChatError(47001, f"{msgtype} is required")
        if msgtype == "text":
            content = part.get("content")
            if not isinstance(content, str) or not content:
                raise WeChatError(44004)
            return {"type": "text", "text": content}
        if msgtype in ("image", "voice", "video"):
            media_id = _require_str(part, "media_id")
            media = self._media(media_id)
            payload: Json = {"type": msgtype, "media_id": media_id, "filename": media.filename}
            if msgtype == "video":
                payload["title"] = part.get("title") or ""
                payload["description"] = part.get("description") or ""
            return payload
        if msgtype == "news":
            articles = part.get("articles")
            if not isinstance(articles, list) or len(articles) != 1:
                raise WeChatError(47001, "news takes exactly one article")
            article = articles[0]
            if not isinstance(article, dict) or not article.get("url"):
                raise WeChatError(47001, "the article needs a url")
            return {"type": "news", "articles": [self._article(article)]}
        # msgmenu: a list of choices the user taps; each comes back as a text message with
        # bizmsgmenuid.
        items = part.get("list")
        if not isinstance(items, list) or not items:
            raise WeChatError(47001, "msgmenu.list is required")
        choices = []
        for item in items:
            if not isinstance(item, dict):
                raise WeChatError(47001, "msgmenu.list items are objects")
            choice_id = item.get("id")
            content = item.get("content")
            if choice_id in (None, "") or not isinstance(content, str) or not content:
                raise WeChatError(47001, "each msgmenu item needs id and content")
            choices.append({"id": str(choice_id), "content": content})
        return {
            "type": "msgmenu",
            "head_content": str(part.get("head_content") or ""),
            "list": choices,
            "tail_content": str(part.get("tail_content") or ""),
        }

    @staticmethod
    def _article(article: Json) -> Json:
        return {
            "title": str(article.get("title") or article.get("Title") or ""),
            "description": str(article.get("description") or article.get("Description") or ""),
            "url": str(article.get("url") or article.get("Url") or ""),
            "picurl": str(article.get("picurl") or article.get("PicUrl") or ""),
        }

    def custom_send(self, body: Json) -> Json:
        """客服消息: only inside the user's allowance (45015 outside it, 45047 when used up)."""
        self._refuse_if_told()
        openid = _require_str(body, "touser")
        msgtype = _require_str(body, "msgtype")
        user = self.users.get(openid)
        if user is None:
            raise WeChatError(40003)
        payload = self._customer_payload(msgtype, body)
        now = self.now()
        if not user.follows or user.allowance_until <= now:
            self.stats.custom_refused += 1
            raise WeChatError(45015)
        if user.allowance <= 0:
            self.stats.custom_refused += 1
            raise WeChatError(45047)
        user.allowance -= 1
        self.stats.custom_sent += 1
        self._record(openid, "account", "custom", payload)
        return {"errcode": 0, "errmsg": "ok"}

    def template_send(self, body: Json) -> Json:
        """模板消息: to a follower, outside the 48-hour window too."""
        self._refuse_if_told()
        openid = _require_str(body, "touser")
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not template_id:
            raise WeChatError(40037)
        user = self.users.get(openid)
        if user is None:
            raise WeChatError(40003)
        if not user.follows:
            raise WeChatError(43004)
        message = self._record(
            openid,
            "account",
            "template",
            {
                "type": "template",
                "template_id": template_id,
                "url": str(body.get("url") or ""),
                "data": self._notice_data(body.get("data")),
            },
        )
        return {"errcode": 0, "errmsg": "ok", "msgid": message["id"]}

    def subscribe_send(self, body: Json) -> Json:
        """订阅通知 (bizsend): to a follower who accepted this template (the subscribe popup)
        and has not refused the account's notices; each acceptance is used by one notice."""
        self._refuse_if_told()
        openid = _require_str(body, "touser")
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not template_id:
            raise WeChatError(40037)
        user = self.users.get(openid)
        if user is None:
            raise WeChatError(40003)
        left = user.subscriptions.get(template_id, 0)
        if not user.follows or user.refuses_notices or left <= 0:
            raise WeChatError(43101)
        if left > 1:
            user.subscriptions[template_id] = left - 1
        else:
            del user.subscriptions[template_id]
        self._record(
            openid,
            "account",
            "notice",
            {
                "type": "notice",
                "template_id": template_id,
                "url": str(body.get("page") or body.get("url") or ""),
                "data": self._notice_data(body.get("data")),
            },
        )
        return {"errcode": 0, "errmsg": "ok"}

    def _refuse_if_told(self) -> None:
        if self.refusals:
            raise WeChatError(self.refusals.pop(0))

    @staticmethod
    def _notice_data(data: Any) -> dict[str, str]:
        if not isinstance(data, dict) or not data:
            raise WeChatError(47001, "data is required")
        values: dict[str, str] = {}
        for key, item in data.items():
            value = item.get("value") if isinstance(item, dict) else None
            if not isinstance(value, str):
                raise WeChatError(47001, f"data.{key}.value must be a string")
            values[str(key)] = value
        return values

    def messages(self, openid: str, after: int = 0, *, include_user: bool = False) -> list[Json]:
        return [
            message
            for message in self._messages
            if message["openid"] == openid
            and message["id"] > after
            and (include_user or message["from"] != "user")
        ]

    async def wait_messages(
        self, openid: str, after: int = 0, *, include_user: bool = False, wait: float = 0
    ) -> list[Json]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            found = self.messages(openid, after, include_user=include_user)
            remaining = deadline - loop.time()
            if found or remaining <= 0 or self._state.closing:
                return found
            changed = self._state.changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass

    # -- media ------------------------------------------------------------------------------

    def upload_media(self, kind: str | None, filename: str, content_type: str, data: bytes) -> Json:
        if kind not in MEDIA_LIMITS:
            raise WeChatError(40004, str(kind))
        if not data:
            raise WeChatError(41005)
        if len(data) > MEDIA_LIMITS[kind]:
            raise WeChatError(40009 if kind == "image" else 40004, "too large")
        media_id = secrets.token_urlsafe(48)
        now = self.now()
        self.media[media_id] = Media(media_id, kind, data, filename, content_type, now)
        return {"type": kind, "media_id": media_id, "created_at": int(now)}

    def _media(self, media_id: str) -> Media:
        media = self.media.get(media_id)
        if media is None or media.created + self.config.media_ttl <= self.now():
            raise WeChatError(40007)
        return media

    def get_media(self, media_id: str | None) -> Media:
        if not media_id:
            raise WeChatError(40007)
        return self._media(media_id)

    # -- menu -------------------------------------------------------------------------------

    def _check_button(self, button: Any, *, sub: bool) -> Json:
        if not isinstance(button, dict):
            raise WeChatError(47001, "buttons are objects")
        name = button.get("name")
        limit = 60 if sub else 16
        if not isinstance(name, str) or not name or len(name.encode()) > limit:
            raise WeChatError(40018)
        subs = button.get("sub_button")
        if subs and not sub:
            if not isinstance(subs, list) or len(subs) > 5:
                raise WeChatError(40023)
            return {"name": name, "sub_button": [self._check_button(s, sub=True) for s in subs]}
        kind = button.get("type")
        if kind == "click":
            key = button.get("key")
            if not isinstance(key, str) or not key or len(key.encode()) > 128:
                raise WeChatError(47001, "click buttons need a key of at most 128 bytes")
            return {"type": "click", "name": name, "key": key}
        if kind == "view":
            url = button.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise WeChatError(47001, "view buttons need an http(s) url")
            return {"type": "view", "name": name, "url": url}
        raise WeChatError(40017, str(kind))

    def menu_create(self, body: Json) -> Json:
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise WeChatError(40016)
        checked = [self._check_button(button, sub=False) for button in buttons]
        self.menu_id += 1
        self.menu = {"button": checked, "menuid": self.menu_id}
        self._notify()
        return {"errcode": 0, "errmsg": "ok"}

    def menu_get(self) -> Json:
        if self.menu is None:
            raise WeChatError(46003)
        return {"menu": self.menu}

    def menu_delete(self) -> Json:
        self.menu = None
        self._notify()
        return {"errcode": 0, "errmsg": "ok"}

    def selfmenu_info(self) -> Json:
        if self.menu is None:
            return {"is_menu_open": 0}

        def shaped(button: Json) -> Json:
            if "sub_button" in button:
                return {"name": button["name"], "sub_button": {"list": button["sub_button"]}}
            if button["type"] == "click":
                return {"type": "click", "name": button["name"], "key": button["key"]}
            return {"type": "view", "name": button["name"], "url": button["url"]}

        return {
            "is_menu_open": 1,
            "selfmenu_info": {"button": [shaped(b) for b in self.menu["button"]]},
        }

    # -- OAuth (snsapi_base) ----------------------------------------------------------------

    def authorize(
        self,
        *,
        appid: str | None,
        redirect_uri: str | None,
        response_type: str | None,
        scope: str | None,
        state: str | None,
        openid: str | None,
    ) -> str:
        """The URL WeChat redirects to: redirect_uri with a fresh code and the state."""
        if appid != self.config.appid:
            raise AuthorizeError(10016, "不支持微信开放平台的Appid，请使用公众号Appid")
        if not redirect_uri or not redirect_uri.startswith(("http://", "https://")):
            raise AuthorizeError(10003, "redirect_uri参数错误")
        hosts = self.config.oauth_hosts
        if hosts is not None and urlsplit(redirect_uri).hostname not in hosts:
            raise AuthorizeError(10003, "redirect_uri域名与后台配置不一致")
        if response_type != "code":
            raise AuthorizeError(10004, "此公众号被封禁")  # WeChat's page for a bad request
        if scope not in ("snsapi_base", "snsapi_userinfo"):
            raise AuthorizeError(10005, "此公众号并没有这些scope的权限")
        if not openid or openid not in self.users:
            raise AuthorizeError(10006, "请在微信客户端打开链接 (open it from the phone page)")
        code = secrets.token_urlsafe(24)
        self.codes[code] = Code(openid, scope, self.now() + self.config.code_ttl)
        parts = urlsplit(redirect_uri)
        query = [*parse_qsl(parts.query, keep_blank_values=True), ("code", code)]
        query.append(("state", state or ""))
        return urlunsplit(parts._replace(query=urlencode(query)))

    def oauth_access_token(
        self,
        appid: str | None,
        secret: str | None,
        code: str | None,
        grant_type: str | None,
    ) -> Json:
        self._check_credentials(appid, secret)
        if grant_type != "authorization_code":
            raise WeChatError(40002)
        entry = self.codes.get(code or "")
        if entry is None or entry.expires <= self.now():
            raise WeChatError(40029)
        if entry.used:
            raise WeChatError(40163)
        entry.used = True
        token = secrets.token_urlsafe(48)
        self.sns_tokens[token] = (entry.openid, self.now() + 7200)
        return {
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": secrets.token_urlsafe(48),
            "openid": entry.openid,
            "scope": entry.scope,
        }

    # -- the user side: messages and events to the product's callback -----------------------

    def _lock(self, openid: str) -> asyncio.Lock:
        return self._locks.setdefault(openid, asyncio.Lock())

    def _base_fields(self, openid: str, msgtype: str) -> Json:
        return {
            "ToUserName": self.config.original_id,
            "FromUserName": openid,
            "CreateTime": int(self.now()),
            "MsgType": msgtype,
        }

    async def send_text(self, openid: str, text: str, *, menu_id: str | None = None) -> Json:
        if not text:
            raise ApiError(400, "text must not be empty")
        user = self.user(openid)
        if not user.follows:
            raise ApiError(403, "the user does not follow the account: send a subscribe first")
        msg_id = next(self._msg_ids)
        fields = {**self._base_fields(openid, "text"), "Content": text, "MsgId": msg_id}
        if menu_id is not None:
            fields["bizmsgmenuid"] = menu_id
        async with self._lock(openid):
            user.last_message_at = self.now()
            self._grant(user, self.config.message_quota)
            self._record(openid, "user", "user", {"type": "text", "text": text, "msg_id": msg_id})
            return {"msg_id": msg_id, **(await self._deliver(openid, fields))}

    async def send_image(self, openid: str, data: bytes, filename: str = "photo.jpg") -> Json:
        """The user sends a photo: WeChat keeps it as temporary media and tells the account
        its MediaId and PicUrl; the account fetches the file with media/get."""
        user = self.user(openid)
        if not user.follows:
            raise ApiError(403, "the user does not follow the account: send a subscribe first")
        try:
            media = self.upload_media("image", filename, "image/jpeg", data)
        except WeChatError as error:
            raise ApiError(400, f"not a photo WeChat takes ({error.errcode})") from error
        msg_id = next(self._msg_ids)
        media_id = media["media_id"]
        fields = {
            **self._base_fields(openid, "image"),
            "PicUrl": f"/_local/api/wechat/users/{openid}/media/{media_id}",  # the stand-in's
            "MediaId": media_id,
            "MsgId": msg_id,
        }
        async with self._lock(openid):
            user.last_message_at = self.now()
            self._grant(user, self.config.message_quota)
            self._record(
                openid, "user", "user", {"type": "image", "media_id": media_id, "msg_id": msg_id}
            )
            return {"msg_id": msg_id, **(await self._deliver(openid, fields))}

    async def choose(self, openid: str, menu_choice: str) -> Json:
        """Taps a msgmenu item the account sent: a text message with its content and id."""
        for message in reversed(self.messages(openid)):
            if message.get("type") == "msgmenu":
                for item in message["list"]:
                    if item["id"] == menu_choice:
                        return await self.send_text(openid, item["content"], menu_id=item["id"])
        raise ApiError(404, f"no menu item {menu_choice} was sent to {openid}")

    async def send_event(
        self, openid: str, event: str, key: str | None = None, *, status: str = "accept"
    ) -> Json:
        event = event.lower()
        user = self.ensure_user(openid)
        fields = self._base_fields(openid, "event")
        if event == "subscribe":
            if user.follows:
                raise ApiError(409, "the user already follows the account")
            user.follows = True
            self._grant(user, self.config.follow_quota)
            fields["Event"] = "subscribe"
            if key:
                fields["EventKey"] = key
        elif event == "unsubscribe":
            if not user.follows:
                raise ApiError(409, "the user does not follow the account")
            user.follows = False
            user.allowance = 0
            user.allowance_until = 0.0
            fields["Event"] = "unsubscribe"
        elif event in ("click", "view"):
            if not user.follows:
                raise ApiError(403, "the user does not follow the account: send a subscribe first")
            if not key:
                raise ApiError(400, f'a {event.upper()} event needs "key"')
            fields["Event"] = event.upper()
            fields["EventKey"] = key
            if event == "click":
                self._grant(user, self.config.menu_quota)
            elif self.menu is not None:
                fields["MenuId"] = self.menu["menuid"]
        elif event == "subscribe_msg_popup_event":
            # The user answered the subscription popup for template `key`: WeChat keeps the
            # consent (one notice per acceptance) and tells the account.
            if not user.follows:
                raise ApiError(403, "the user does not follow the account: send a subscribe first")
            if not key or status not in ("accept", "reject"):
                raise ApiError(400, 'the popup event needs "key" (a template id) and a status')
            if status == "accept":
                user.subscriptions[key] = user.subscriptions.get(key, 0) + 1
            fields["Event"] = "subscribe_msg_popup_event"
            fields["SubscribeMsgPopupEvent"] = {
                "List": {"TemplateId": key, "SubscribeStatusString": status, "PopupScene": 2}
            }
        else:
            raise ApiError(
                400,
                "event must be subscribe, unsubscribe, CLICK, VIEW or subscribe_msg_popup_event",
            )
        async with self._lock(openid):
            self._record(
                openid,
                "user",
                "user",
                {"type": "event", "event": fields["Event"], "key": key or ""},
            )
            return await self._deliver(openid, fields)

    def _signed_request(self, openid: str, fields: Json) -> tuple[dict[str, str], str]:
        config = self.config
        timestamp = str(int(self.now()))
        nonce = protocol.nonce()
        query = {
            "signature": protocol.signature(config.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": openid,
        }
        plain = protocol.to_xml(fields)
        if not config.safe_mode:
            return query, plain
        encrypted = protocol.encrypt(config.encoding_aes_key, config.appid, plain)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = protocol.signature(config.token, timestamp, nonce, encrypted)
        body = protocol.to_xml({"ToUserName": config.original_id, "Encrypt": encrypted})
        return query, body

    async def pay_jsapi(self, openid: str, bridge: Json) -> Json:
        """The user confirmed WeChat Pay's checkout in the in-app browser: the sandbox is told
        who pays (this openid), with the page's parameters as they came; its answer is the
        bridge's `err_msg`. The product hears of the payment by its own notification."""
        self.user(openid)
        url = self.config.pay_url
        if url is None or bridge.get("appId") != self.config.appid:
            return {"err_msg": "get_brand_wcpay_request:fail"}
        fields = {k: str(v) for k, v in bridge.items() if isinstance(v, str | int)}
        try:
            async with self._session().post(
                url,
                json={"openid": openid, "bridge": fields},
                timeout=aiohttp.ClientTimeout(total=self.config.callback_timeout * 2),
            ) as response:
                answer = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning("wechatlocal: JSAPI payment for %s failed: %s", openid, exc)
            return {"err_msg": "get_brand_wcpay_request:fail"}
        ok = isinstance(answer, dict) and answer.get("err_msg") == "get_brand_wcpay_request:ok"
        return {"err_msg": f"get_brand_wcpay_request:{'ok' if ok else 'fail'}"}

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    async def _deliver(self, openid: str, fields: Json) -> Json:
        url = self.config.callback_url
        if url is None:
            raise ApiError(409, "no callback URL is configured")
        failure = "no answer"
        for _attempt in range(max(1, self.config.callback_attempts)):
            # Each try is signed afresh, as WeChat's retries are.
            query, body = self._signed_request(openid, fields)
            self.stats.callbacks += 1
            try:
                async with self._session().post(
                    url,
                    params=query,
                    data=body.encode(),
                    headers={"Content-Type": "text/xml"},
                    timeout=aiohttp.ClientTimeout(total=self.config.callback_timeout),
                ) as response:
                    status = response.status
                    text = await response.text()
            except (TimeoutError, aiohttp.ClientError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
                continue
            if status != 200:
                failure = f"HTTP {status}"
                break
            try:
                reply = self._read_reply(openid, text)
            except ValueError as exc:
                self.stats.reply_errors += 1
                return self._unavailable(openid, f"bad reply: {exc}")
            return {"delivered": True, "reply": reply}
        self.stats.callback_failures += 1
        return self._unavailable(openid, failure)

    def _unavailable(self, openid: str, reason: str) -> Json:
        log.warning("wechatlocal: callback for %s failed: %s", openid, reason)
        self.stats.last_error = reason
        self._record(openid, "system", "system", {"type": "system", "text": SERVICE_UNAVAILABLE})
        return {"delivered": False, "reply": None, "error": reason}

    def _read_reply(self, openid: str, text: str) -> Json | None:
        """A passive reply: "" or "success" is none; else XML (encrypted in safe mode)."""
        if text.strip() in ("", "success"):
            return None
        fields = protocol.parse_xml(text)
        config = self.config
        if config.safe_mode:
            encrypted = fields.get("Encrypt")
            timestamp = fields.get("TimeStamp")
            nonce = fields.get("Nonce")
            given = fields.get("MsgSignature")
            if not all(isinstance(v, str) and v for v in (encrypted, timestamp, nonce, given)):
                raise ValueError("safe mode needs Encrypt, MsgSignature, TimeStamp and Nonce")
            assert isinstance(encrypted, str) and isinstance(timestamp, str)
            assert isinstance(nonce, str)
            if protocol.signature(config.token, timestamp, nonce, encrypted) != given:
                raise ValueError("MsgSignature does not match")
            fields = protocol.parse_xml(
                protocol.decrypt(config.encoding_aes_key, config.appid, encrypted)
            )
        if fields.get("ToUserName") != openid:
            raise ValueError("ToUserName is not the user")
        if fields.get("FromUserName") != config.original_id:
            raise ValueError("FromUserName is not the account")
        msgtype = fields.get("MsgType")
        if msgtype not in REPLY_TYPES:
            raise ValueError(f"MsgType {msgtype!r}")
        payload: Json
        if msgtype == "text":
            content = fields.get("Content")
            if not isinstance(content, str) or not content:
                raise ValueError("empty Content")
            payload = {"type": "text", "text": content}
        elif msgtype in ("image", "voice", "video"):
            part = fields.get(msgtype.capitalize())
            media_id = part.get("MediaId") if isinstance(part, dict) else None
            if not isinstance(media_id, str) or media_id not in self.media:
                raise ValueError("unknown MediaId")
            payload = {"type": msgtype, "media_id": media_id}
        elif msgtype == "news":
            articles = fields.get("Articles")
            items = articles.get("item") if isinstance(articles, dict) else None
            if isinstance(items, dict):
                items = [items]
            if not isinstance(items, list) or len(items) != 1:
                raise ValueError("news replies carry one article")
            payload = {"type": "news", "articles": [self._article(items[0])]}
        else:
            payload = {"type": "music", "title": str(fields.get("Music", {}).get("Title", ""))}
        return self._record(openid, "account", "reply", payload)

    async def verify_callback(self) -> bool:
        """The URL check WeChat makes when the server address is saved: echostr echoed back."""
        url = self.config.callback_url
        if url is None:
            raise ApiError(409, "no callback URL is configured")
        timestamp = str(int(self.now()))
        nonce = protocol.nonce()
        echostr = secrets.token_hex(10)
        query = {
            "signature": protocol.signature(self.config.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        try:
            async with self._session().get(
                url,
                params=query,
                timeout=aiohttp.ClientTimeout(total=self.config.callback_timeout),
            ) as response:
                return response.status == 200 and (await response.text()) == echostr
        except (TimeoutError, aiohttp.ClientError):
            return False

    # -- lifecycle --------------------------------------------------------------------------

    def begin_shutdown(self) -> None:
        self._state.closing = True
        self._notify()

    async def close(self) -> None:
        self.begin_shutdown()
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        self.save()
        if self._http is not None:
            await self._http.close()
            self._http = None
