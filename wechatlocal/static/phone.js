"use strict";
// The phone page plays one WeChat user: it long-polls what the account sent, sends texts,
// menu clicks and msgmenu choices through the stand-in's JSON API, and opens links in an
// in-phone browser (through /open, which remembers the user for OAuth).
(function () {
  const body = document.body;
  const base = body.dataset.base;
  const api = body.dataset.api;
  const $ = (id) => document.getElementById(id);
  const chat = $("chat");
  let openid = new URLSearchParams(location.search).get("openid");
  let after = 0;
  let menuJson = "";
  let follows = false;

  async function call(method, path, payload) {
    const response = await fetch(api + path, {
      method,
      headers: payload ? { "Content-Type": "application/json" } : {},
      body: payload ? JSON.stringify(payload) : undefined,
    });
    const data = await response.json();
    if (!data.ok) throw new Error(data.description || "error");
    return data;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function openLink(url) {
    const target = base + "/open?openid=" + encodeURIComponent(openid) + "&url=" + encodeURIComponent(url);
    $("browser-frame").src = target;
    $("browser-external").href = target;
    let title = url;
    try { title = new URL(url, location.href).host; } catch (e) { /* keep the url */ }
    $("browser-title").textContent = title;
    $("browser").hidden = false;
  }

  function link(text, url) {
    const a = el("a", "", text);
    a.href = url;
    a.addEventListener("click", (event) => { event.preventDefault(); openLink(url); });
    return a;
  }

  // WeChat texts may carry <a href="...">...</a>; everything else is shown as text.
  const A_TAG = /<a\s+[^>]*?href\s*=\s*(["'])(.*?)\1[^>]*>([\s\S]*?)<\/a>/gi;
  function richText(node, content) {
    let last = 0;
    for (const match of content.matchAll(A_TAG)) {
      node.append(document.createTextNode(content.slice(last, match.index)));
      const url = match[2].replace(/&amp;/g, "&");
      node.append(/^(https?:)?\//i.test(url) ? link(match[3], url) : document.createTextNode(match[3]));
      last = match.index + match[0].length;
    }
    node.append(document.createTextNode(content.slice(last)));
  }

  function mediaUrl(mediaId) {
    return api + "/users/" + encodeURIComponent(openid) + "/media/" + encodeURIComponent(mediaId);
  }

  function bubbleRow(fromUser) {
    const row = el("div", "row " + (fromUser ? "user" : "account"));
    row.append(el("div", "avatar", fromUser ? "我" : "继"));
    return row;
  }

  function noticeCard(message) {
    const card = el("div", "card");
    card.append(el("h3", "", message.type === "notice" ? "服务通知" : "模板消息"));
    const list = el("dl");
    for (const [key, value] of Object.entries(message.data || {})) {
      list.append(el("dt", "", key), el("dd", "", value));
    }
    card.append(list);
    if (message.url) card.append(Object.assign(link("详情", message.url), { className: "more" }));
    return card;
  }

  function render(message) {
    if (message.from === "system") {
      const row = el("div", "system");
      row.append(el("span", "", message.text));
      chat.append(row);
      return;
    }
    if (message.type === "event") {
      // WeChat shows nothing for menu taps; following and leaving get a grey line here.
      const words = { subscribe: "你关注了公众号", unsubscribe: "你取消关注了公众号" };
      if (!words[message.event]) return;
      const row = el("div", "event");
      row.append(el("span", "", words[message.event]));
      chat.append(row);
      return;
    }
    const fromUser = message.from === "user";
    const row = bubbleRow(fromUser);
    row.dataset.messageId = message.id;
    let bubble;
    if (message.type === "template" || message.type === "notice") {
      bubble = noticeCard(message);
    } else {
      bubble = el("div", "bubble");
      if (message.type === "text") {
        richText(bubble, message.text);
      } else if (message.type === "image") {
        const image = el("img");
        image.src = mediaUrl(message.media_id);
        image.alt = "图片";
        bubble.append(image);
      } else if (message.type === "voice" || message.type === "video") {
        bubble.append(link(message.type === "voice" ? "[语音]" : "[视频] " + (message.title || ""), mediaUrl(message.media_id)));
      } else if (message.type === "news") {
        for (const article of message.articles) {
          const card = link("", article.url);
          card.className = "news";
          card.append(el("strong", "", article.title), el("p", "", article.description));
          bubble.append(card);
        }
      } else if (message.type === "msgmenu") {
        if (message.head_content) richText(bubble, message.head_content + "\n");
        for (const item of message.list) {
          const choice = el("button", "choice", item.content);
          choice.type = "button";
          choice.dataset.choice = item.id;
          choice.addEventListener("click", () => send({ menu_choice: item.id }));
          bubble.append(choice);
        }
        if (message.tail_content) richText(bubble, message.tail_content);
      } else {
        bubble.textContent = "[" + message.type + "]";
      }
    }
    row.append(bubble);
    chat.append(row);
  }

  function showError(error) {
    render({ from: "system", text: String(error.message || error) });
    chat.scrollTop = chat.scrollHeight;
  }

  async function send(payload) {
    try {
      await call("POST", "/users/" + encodeURIComponent(openid) + "/send", payload);
    } catch (error) {
      showError(error);
    }
  }

  function renderMenu(menu) {
    const nav = $("menu");
    nav.replaceChildren();
    const buttons = (menu && menu.button) || [];
    $("toggle").hidden = buttons.length === 0;
    if (buttons.length === 0) { showCompose(true); return; }
    buttons.forEach((button, index) => {
      const node = el("button", button.sub_button ? "parent" : "", button.name);
      node.type = "button";
      node.addEventListener("click", () => press(button, index, buttons.length));
      nav.append(node);
    });
  }

  function press(button, index, count) {
    const submenu = $("submenu");
    if (button.sub_button) {
      if (!submenu.hidden && submenu.dataset.index === String(index)) { submenu.hidden = true; return; }
      submenu.replaceChildren();
      for (const sub of button.sub_button) {
        const node = el("button", "", sub.name);
        node.type = "button";
        node.addEventListener("click", () => { submenu.hidden = true; press(sub, index, count); });
        submenu.append(node);
      }
      submenu.dataset.index = String(index);
      submenu.style.left = (8 + 42 + ((390 - 58) / count) * index) + "px";
      submenu.hidden = false;
      return;
    }
    submenu.hidden = true;
    if (button.type === "click") send({ event: "CLICK", key: button.key });
    if (button.type === "view") { send({ event: "VIEW", key: button.url }); openLink(button.url); }
  }

  function showCompose(compose) {
    $("compose").hidden = !compose;
    $("menu").hidden = compose;
    $("toggle").textContent = compose ? "≡" : "⌨";
    if (compose) $("text").focus();
  }

  async function refreshMenu() {
    try {
      const data = await call("GET", "/menu");
      const json = JSON.stringify(data.result);
      if (json !== menuJson) { menuJson = json; renderMenu(data.result); }
    } catch (error) { /* the next poll tries again */ }
  }

  async function refreshUser() {
    const data = await call("GET", "/users/" + encodeURIComponent(openid));
    follows = data.result.follows;
    $("follow").hidden = follows;
    $("footer").hidden = !follows;
    $("who").textContent = data.result.nickname;
  }

  async function poll() {
    for (;;) {
      try {
        const data = await call("GET", "/users/" + encodeURIComponent(openid) + "/messages?all=1&wait=25&after=" + after);
        for (const message of data.messages) {
          after = Math.max(after, message.id);
          render(message);
          if (message.type === "event") await refreshUser();
        }
        if (data.messages.length) chat.scrollTop = chat.scrollHeight;
        await refreshMenu();
      } catch (error) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }

  // WeChat's in-app browser gives pages WeixinJSBridge; this one offers a fake to same-origin
  // pages (the product in local mode), whose WeChat Pay checkout is the payment sandbox's.
  let checkout = null;

  function offerBridge(frame) {
    let win;
    try {
      win = frame.contentWindow;
      if (!win || !win.document || win.location.href === "about:blank") return;
    } catch (error) { return; /* another origin: no bridge, as for a page WeChat does not trust */ }
    win.WeixinJSBridge = {
      invoke(name, params, callback) {
        const answer = (outcome) => { if (typeof callback === "function") callback({ err_msg: outcome }); };
        if (name !== "getBrandWCPayRequest") { answer(name + ":fail"); return; }
        openCheckout(params || {}, answer);
      },
    };
    win.document.dispatchEvent(new win.Event("WeixinJSBridgeReady"));
  }

  function openCheckout(params, answer) {
    if (checkout) { answer("get_brand_wcpay_request:fail"); return; }
    checkout = { params, answer };
    $("checkout").hidden = false;
  }

  async function closeCheckout(pay) {
    if (!checkout) return;
    const { params, answer } = checkout;
    $("checkout-pay").disabled = true;
    let outcome = "get_brand_wcpay_request:cancel";
    if (pay) {
      try {
        outcome = (await call("POST", "/users/" + encodeURIComponent(openid) + "/pay", { bridge: params })).result.err_msg;
      } catch (error) { outcome = "get_brand_wcpay_request:fail"; }
    }
    checkout = null;
    $("checkout").hidden = true;
    $("checkout-pay").disabled = false;
    answer(outcome);
  }

  function listen() {
    // Before anything is shown: a control made visible by refreshUser (the follow button)
    // must already answer a tap, whatever the fetches after it still wait for.
    $("toggle").addEventListener("click", () => showCompose($("compose").hidden));
    $("compose").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("text").value.trim();
      if (!text) return;
      $("text").value = "";
      send({ text });
    });
    $("photo").addEventListener("change", () => {
      // A photo from the phone's album, as WeChat sends it: the account gets its MediaId.
      const file = $("photo").files[0];
      $("photo").value = "";
      if (!file) return;
      const reader = new FileReader();
      reader.onload = () => send({ image: String(reader.result).split(",", 2)[1] });
      reader.readAsDataURL(file);
    });
    $("follow-button").addEventListener("click", async () => {
      await send({ event: "subscribe" });
      await refreshUser();
    });
    $("browser-frame").addEventListener("load", () => {
      // WeChat's browser shows the page's title; only same-origin pages can be read.
      try {
        const title = $("browser-frame").contentDocument.title;
        if (title) $("browser-title").textContent = title;
      } catch (error) { /* another origin keeps the host as title */ }
      offerBridge($("browser-frame"));
    });
    $("checkout-pay").addEventListener("click", () => closeCheckout(true));
    $("checkout-cancel").addEventListener("click", () => closeCheckout(false));
    $("browser-close").addEventListener("click", () => {
      $("browser").hidden = true;
      $("browser-frame").src = "about:blank";
    });
  }

  async function start() {
    listen();
    if (!openid) {
      const data = await call("POST", "/users", {});
      openid = data.result.openid;
      history.replaceState(null, "", "?openid=" + encodeURIComponent(openid));
    } else {
      await call("POST", "/users", { openid });
    }
    const config = await call("GET", "/config");
    $("title").textContent = config.account_name;
    document.title = config.account_name + " · 微信";
    await refreshUser();
    await refreshMenu();
    poll();
  }

  start().catch(showError);
})();
