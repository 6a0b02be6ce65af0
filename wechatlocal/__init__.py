"""Local stand-in for WeChat's Official Account platform (服务号), so the WeChat channel runs end
to end with no WeChat account. It knows nothing of the product.

    wx = WeChatLocal(WeChatLocalConfig(callback_url=...), wall_clock=clock_seconds)
    mount_wechatlocal(parent, wx, prefix="/_local")   # before the local chat's /_local
    ...
    await wx.close()

WeChat side, under `{prefix}/wechat` (the product's WECHAT_API_BASE), answering as WeChat does
(HTTP 200, `{"errcode", "errmsg"}` on errors):
- `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=` → `{access_token,
  expires_in: 7200}` (40013 bad appid, 40125 bad secret, 40002 bad grant_type); an older token
  keeps working 5 minutes after a new one is issued; `POST /cgi-bin/stable_token`.
- every other call takes `?access_token=`: 41001 missing, 40001 invalid, 42001 expired (by the
  injected wall clock).
- `POST /cgi-bin/message/custom/send` (客服消息): text (content may hold `<a href>` links),
  image/voice/video by media_id, news (one article), msgmenu `{head_content, list: [{id,
  content}], tail_content}`. Allowed per WeChat's rules for service accounts: a user's message
  allows 5 within 48 h, a CLICK menu event or a follow 3 within 1 minute; allowances do not add
  up (count and deadline rise to the larger). Outside: 45015; used up: 45047; 40003 unknown
  openid; 40008 other msgtypes (official accounts have no "file" message).
- `POST /cgi-bin/media/upload?type=image|voice|video|thumb` (multipart field `media`) →
  `{type, media_id, created_at}` (temporary media, 3 days); `GET /cgi-bin/media/get?media_id=`.
- `POST /cgi-bin/message/template/send` (to a follower: 43004 otherwise) → `{msgid}`;
  `POST /cgi-bin/message/subscribe/bizsend` (订阅通知; only for a template the user accepted in
  the subscription popup, one notice per acceptance; 43101 otherwise, or when the user does
  not follow or refused the notices). Both work outside the 48-hour window.
- `GET /cgi-bin/user/info?openid=` → `{subscribe: 1|0, openid, ...}` (40003 unknown).
- `POST /cgi-bin/menu/create`, `GET /cgi-bin/menu/get`, `GET /cgi-bin/menu/delete`,
  `GET /cgi-bin/get_current_selfmenu_info`.
- OAuth: `GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope=snsapi_base
  &state` redirects to `redirect_uri?code=&state=` as the user holding the phone (the cookie the
  phone page sets through `GET /open?openid=&url=`, or `&openid=` on the URL); `GET
  /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code` → `{access_token,
  expires_in, refresh_token, openid, scope}`; a code works once (40163) and for 5 minutes (40029).
- `GET /phone?openid=`: the phone-frame page playing a WeChat user. Its in-app browser offers
  the page a fake `WeixinJSBridge` (same-origin pages only, as the product is in local mode):
  `invoke('getBrandWCPayRequest', params, cb)` shows a sandbox checkout (Pay / Cancel); Pay goes
  through `POST /users/{openid}/pay` below, Cancel answers `get_brand_wcpay_request:cancel`.

Callback side: users' messages and events are POSTed to `callback_url` with `signature`
(SHA-1 of the sorted token, timestamp, nonce), `timestamp`, `nonce`, `openid`; in safe mode also
`encrypt_type=aes` and `msg_signature` (over token, timestamp, nonce, Encrypt) with the body
`<xml><ToUserName/><Encrypt/></xml>` (AES-256-CBC, EncodingAESKey). A passive reply ("" or
"success" = none; XML, encrypted in safe mode) is checked and recorded as a message to the
user; a bad reply, an error status or three timeouts show the user WeChat's
"该公众号暂时无法提供服务，请稍后再试".

Python side (the JSON API calls the same; user errors raise `ApiError`, WeChat's `WeChatError`):
- users: `ensure_user(openid=None, nickname=None, *, follows=False) -> User`, `user(openid)`,
  `list_users()`, `refuse_notices(openid, refuses=True)`
- as a user: `await send_text(openid, text)`, `await send_event(openid, "subscribe" |
  "unsubscribe" | "CLICK" | "VIEW" | "subscribe_msg_popup_event", key, status="accept")` (the
  popup: `key` is the template id, the acceptance is recorded, then the event is posted),
  `await choose(openid, menu_choice_id)`; each returns
  `{"delivered", "reply", "error"?}` (+ `msg_id` for texts)
- reading: `messages(openid, after=0, include_user=False)`, `await wait_messages(..., wait=s)`,
  `get_media(media_id)`, `menu`, `stats`, `await verify_callback()` (echostr check)

JSON API under `{prefix}/api/wechat` (errors `{"ok": false, "error_code", "description"}`;
cross-site requests refused): `GET /config` (appid, token, encoding_aes_key, safe_mode,
callback_url, original_id, account_name), `GET|POST /users`, `GET /users/{openid}`,
`POST /users/{openid}/send` (`{"text"}` | `{"event": "subscribe"|"unsubscribe"|"CLICK"|"VIEW"|
"subscribe_msg_popup_event", "key", "status"?}` | `{"menu_choice": id}` | `{"image": base64}`
(a photo: kept as temporary media, sent with its MediaId); → `{"ok", "result":
{"delivered", "reply", ...}}`),
`GET /users/{openid}/messages?after=&wait=&all=1` → `{"ok", "messages": [{id, date, from:
"account"|"user"|"system", via: "custom"|"reply"|"template"|"notice"|..., type, ...}]}` (what
the account sent the user; `all=1` adds the user's own), `GET /users/{openid}/media/{media_id}`,
`POST /users/{openid}/notices` (`{"refuse": bool}`), `POST /users/{openid}/pay` (`{"bridge":
{appId, timeStamp, nonceStr, package, signType, paySign}}`: the user confirms WeChat Pay's
checkout; the stand-in posts it with the openid to `pay_url`, the payment sandbox, which pays
and notifies the product; → `{"ok", "result": {"err_msg": "get_brand_wcpay_request:ok"|
"…:fail"}}`), `GET /menu`, `GET /stats`, `POST /verify`.

Deliberate differences from WeChat: http:// everywhere (loopback); users, messages and the menu
kept in one JSON file when `state_path` is set (tokens, codes and media are not); no rate limits
or daily quotas on template messages and notices, any template_id accepted, no
TEMPLATESENDJOBFINISH event; plaintext and safe mode only (no compatible mode); the openid of
OAuth comes from the phone page's cookie (or `&openid=` on the authorize URL). A test (in the
same process) makes WeChat refuse the next message sends with `WeChatLocal.refusals` (errcodes,
one per send: -1 busy, 45009 quota), to see the product retry.
"""

from wechatlocal.app import (
    WECHATLOCAL_KEY,
    make_wechat_app,
    make_wechat_user_api_app,
    mount_wechatlocal,
)
from wechatlocal.state import (
    LOCAL_APPID,
    LOCAL_APPSECRET,
    LOCAL_ENCODING_AES_KEY,
    LOCAL_ORIGINAL_ID,
    LOCAL_TOKEN,
    ApiError,
    Quota,
    WeChatError,
    WeChatLocal,
    WeChatLocalConfig,
)

__all__ = [
    "LOCAL_APPID",
    "LOCAL_APPSECRET",
    "LOCAL_ENCODING_AES_KEY",
    "LOCAL_ORIGINAL_ID",
    "LOCAL_TOKEN",
    "WECHATLOCAL_KEY",
    "ApiError",
    "Quota",
    "WeChatError",
    "WeChatLocal",
    "WeChatLocalConfig",
    "make_wechat_app",
    "make_wechat_user_api_app",
    "mount_wechatlocal",
]
