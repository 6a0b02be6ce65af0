// The local chat page: plays a trainee (or the support staff) against the stand-in Bot API.

import { applyLabels, language, languageOf, setLanguage, t } from "./i18n.js";
import { hydrateIcons, icon } from "./icons.js";
import {
  buildMessage,
  buttonKind,
  documentChip,
  el,
  fillAvatar,
  formatDay,
  previewOf,
  safeUrl,
} from "./render.js";
import { WebAppFrame } from "./webapp.js";

const $ = (id) => document.getElementById(id);

const BASE = (() => {
  const meta = document.querySelector('meta[name="localchat-base"]')?.content;
  return meta && !meta.includes("{{") ? meta : new URL("../", import.meta.url).pathname;
})();
const API = `${BASE}api/`;
const POLL_WAIT_SECONDS = 25;
const DEMO_STAFF = [{ id: 900001, name: "客服" }];
const SUGGESTED_NAMES = {
  zh: ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴刚"],
  en: ["Alex Chen", "Sam Li", "Jamie Wang", "Taylor Zhou", "Jordan Liu"],
};

// ---------------------------------------------------------------- storage and HTTP

const store = {
  get(key, fallback) {
    try {
      const raw = localStorage.getItem(`localchat.${key}`);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      if (value === null || value === undefined) localStorage.removeItem(`localchat.${key}`);
      else localStorage.setItem(`localchat.${key}`, JSON.stringify(value));
    } catch {
      // Private mode or a full quota: the page still works, it just forgets.
    }
  },
};

class ApiError extends Error {
  constructor(status, description) {
    super(description || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, { method = "GET", json, form, signal } = {}) {
  const init = { method, signal, headers: { Accept: "application/json" } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (form) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network error");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok || (data && data.ok === false)) {
    throw new ApiError(response.status, data?.description || response.statusText);
  }
  return data;
}

function describe(error) {
  if (error instanceof ApiError && error.status === 0) return t("offline");
  return error?.message || String(error);
}

// ---------------------------------------------------------------- state

const state = {
  view: store.get("view", "user") === "staff" ? "staff" : "user",
  uiLang: store.get("uiLang", "auto"),
  users: [],
  userId: store.get("userId", null),
  chats: [],
  chatId: store.get("chatId", null),
  threadKey: store.get("threadKey", "general"),
  staffMemberId: store.get("staffMemberId", DEMO_STAFF[0].id),
  bot: null,
  botName: null,
  newUserLang: "zh",
  conversation: null,
  keyboardSignature: "",
  keyboardHidden: false,
  compose: null,
};

const currentUser = () => state.users.find((user) => user.id === state.userId) ?? null;
const currentChat = () => state.chats.find((chat) => chat.id === state.chatId) ?? null;

function staffMembers(chat) {
  // The configured staff first; otherwise the group's human members.
  let members = state.bot?.staff_members;
  if (!Array.isArray(members) || !members.length) {
    members = (chat?.members ?? []).filter((member) => member.id !== state.bot?.id && member.id > 0);
  }
  if (!members.length) return DEMO_STAFF;
  return members.map((member) => ({ id: member.id, name: member.first_name ?? String(member.id) }));
}

const currentStaff = () => {
  const members = staffMembers(currentChat());
  return members.find((member) => member.id === state.staffMemberId) ?? members[0];
};

function isKnownThread(threadId) {
  return Boolean(currentChat()?.topics?.some((topic) => topic.message_thread_id === threadId));
}

function threadKeyOf(message) {
  const thread = message.message_thread_id;
  // General has no thread id in Telegram; some servers call it 1.
  if (!thread || (thread === 1 && !isKnownThread(1))) return "general";
  return String(thread);
}

// ---------------------------------------------------------------- connection banner

let offlineSince = null;

function setOnline(online) {
  if (online) {
    offlineSince = null;
    $("offline-banner").hidden = true;
    return;
  }
  offlineSince ??= Date.now();
  $("offline-banner").hidden = false;
}

// ---------------------------------------------------------------- toasts and dialogs

function toast(text, { kind = "info" } = {}) {
  const node = el("div", `toast ${kind}`, text);
  $("toasts").append(node);
  requestAnimationFrame(() => node.classList.add("shown"));
  const ttl = Math.min(6000, 2200 + String(text).length * 40);
  setTimeout(() => {
    node.classList.remove("shown");
    setTimeout(() => node.remove(), 300);
  }, ttl);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  const dialog = $("alert-dialog");
  if (!dialog.open) dialog.showModal();
}

function dialogResult(dialog) {
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
  });
}

function askPopup({ title, message, buttons }) {
  const dialog = $("popup-dialog");
  $("popup-title").textContent = title || "";
  $("popup-title").hidden = !title;
  $("popup-text").textContent = message || "";
  const holder = $("popup-buttons");
  holder.replaceChildren();
  for (const button of buttons) {
    const type = button.type || "default";
    const labels = { ok: t("ok"), close: t("close"), cancel: t("cancel") };
    const node = el("button", `btn ${type === "destructive" ? "danger" : type === "cancel" ? "ghost" : "primary"}`);
    node.type = "submit";
    node.value = `b:${button.id ?? ""}`;
    node.textContent = button.text || labels[type] || t("ok");
    holder.append(node);
  }
  dialog.returnValue = "";
  const result = dialogResult(dialog).then((value) => (value.startsWith("b:") ? value.slice(2) : null));
  dialog.showModal();
  return result;
}

function defaultPhone(userId) {
  return `138${String(userId).replace(/\D/g, "").slice(-8).padStart(8, "0")}`;
}

async function askPhone(userId) {
  const dialog = $("contact-dialog");
  const input = $("contact-phone");
  input.value = store.get(`phone.${userId}`, defaultPhone(userId));
  dialog.returnValue = "";
  const result = dialogResult(dialog);
  dialog.showModal();
  input.focus();
  input.select();
  if ((await result) !== "share") return null;
  const phone = input.value.trim();
  if (!phone) return null;
  store.set(`phone.${userId}`, phone);
  return phone;
}

// ---------------------------------------------------------------- conversations (long polling)

class Conversation {
  constructor(kind, id) {
    this.kind = kind;
    this.id = id;
    this.messages = new Map();
    this.revision = 0;
    this.loaded = false;
    this.stopped = false;
    this.keyboard = null;
    this.menuButton = null;
    this.commands = [];
    this.chatAction = null;
    this.toastRevision = 0;
    this.seen = new Map();
    this.controller = null;
  }

  get path() {
    return this.kind === "user" ? `users/${this.id}` : `chats/${this.id}`;
  }

  start() {
    this.loop();
    return this;
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
    this.wake?.();
  }

  // Poll again now: the network came back, or the tab became visible after a long sleep.
  kick() {
    this.kicked = true;
    this.controller?.abort();
    this.wake?.();
  }

  async pause(ms) {
    await new Promise((resolve) => {
      this.wake = resolve;
      setTimeout(resolve, ms);
    });
    this.wake = null;
  }

  async loop() {
    let delay = 500;
    while (!this.stopped) {
      const wait = this.loaded ? POLL_WAIT_SECONDS : 0;
      const controller = new AbortController();
      this.controller = controller;
      const watchdog = setTimeout(() => controller.abort(), (wait + 15) * 1000);
      try {
        const query = `changed_after=${this.revision}&all=1&wait=${wait}`;
        const data = await api(`${this.path}/messages?${query}`, { signal: controller.signal });
        if (this.stopped) return;
        setOnline(true);
        delay = 500;
        this.kicked = false;
        this.reported = false;
        this.apply(data ?? {});
      } catch (error) {
        if (this.stopped) return;
        if (this.kicked) {
          this.kicked = false;
          delay = 500;
          continue;
        }
        if (error instanceof ApiError && (error.status === 404 || /not found/i.test(error.message))) {
          this.stop();
          onConversationGone(this);
          return;
        }
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
          if (!this.reported) toast(t("load_failed", { error: describe(error) }), { kind: "error" });
          this.reported = true;
        } else {
          setOnline(false);
        }
        await this.pause(delay);
        if (this.kicked) {
          this.kicked = false;
          delay = 500;
          continue;
        }
        delay = Math.min(delay * 2, 10000);
      } finally {
        clearTimeout(watchdog);
      }
    }
  }

  apply(data) {
    const first = !this.loaded;
    const changed = [];
    for (const message of data.messages ?? []) {
      if (message.deleted) this.messages.delete(message.message_id);
      else this.messages.set(message.message_id, message);
      changed.push(message);
    }
    if (typeof data.revision === "number") this.revision = Math.max(this.revision, data.revision);
    else for (const message of changed) this.revision = Math.max(this.revision, message.revision ?? 0);
    if ("keyboard" in data) this.keyboard = data.keyboard;
    if ("menu_button" in data) this.menuButton = data.menu_button;
    if (Array.isArray(data.commands)) this.commands = data.commands;
    if ("chat_action" in data) {
      // The server keeps an action for ~5 s even after the message it announced has arrived;
      // Telegram clients drop "typing…" as soon as the bot's message shows up.
      const botSpoke = changed.some((message) => message.from_bot && !message.edited && !message.deleted);
      this.chatAction =
        data.chat_action && !botSpoke ? { action: data.chat_action, until: Date.now() + 5000 } : null;
    }
    const toasts = (data.toasts ?? []).filter((item) => !(item.revision <= this.toastRevision));
    for (const item of toasts) this.toastRevision = Math.max(this.toastRevision, item.revision ?? 0);
    this.loaded = true;
    if (first) for (const message of this.messages.values()) this.markSeen(message);
    if (state.conversation === this) view.update(this, changed, first, first ? [] : toasts);
  }

  markSeen(message) {
    const key = this.kind === "user" ? "all" : threadKeyOf(message);
    this.seen.set(key, Math.max(this.seen.get(key) ?? 0, message.message_id));
  }

  unread(key) {
    const seen = this.seen.get(key) ?? 0;
    let count = 0;
    for (const message of this.messages.values()) {
      if (message.message_id > seen && threadKeyOf(message) === key && !isMine(message)) count++;
    }
    return count;
  }
}

function isMine(message) {
  const conversation = state.conversation;
  if (!conversation) return false;
  if (conversation.kind === "user") return !message.from_bot;
  const fromId = message.from?.id ?? message.from_user_id;
  return !message.from_bot && fromId !== undefined && staffMembers(currentChat()).some((m) => m.id === fromId);
}

function senderOf(message) {
  if (state.conversation?.kind !== "staff") return null;
  const from = message.from ?? {};
  const name =
    [from.first_name, from.last_name].filter(Boolean).join(" ") ||
    from.name ||
    from.title ||
    (message.from_bot ? state.botName || t("bot") : t("deleted_user"));
  return { id: from.id ?? (message.from_bot ? "bot" : "unknown"), name };
}

function startConversation(kind, id) {
  state.conversation?.stop();
  state.compose = null;
  renderCompose();
  state.keyboardSignature = "";
  state.keyboardHidden = false;
  if (id === null || id === undefined) {
    state.conversation = null;
    view.reset();
    return;
  }
  state.conversation = new Conversation(kind, id);
  view.reset();
  state.conversation.start();
}

async function onConversationGone(conversation) {
  if (conversation.kind === "user") {
    await loadUsers();
    if (!currentUser()) selectUser(null);
  } else {
    await loadChats();
  }
}

// ---------------------------------------------------------------- chat pane

const view = {
  rows: new Map(),

  get scroller() {
    return $("messages");
  },

  visible(message) {
    const conversation = state.conversation;
    return conversation?.kind !== "staff" || threadKeyOf(message) === state.threadKey;
  },

  // Whether the reader is at the latest message; kept up to date by scroll events so that
  // later growth (images loading, the reply bar opening) keeps the latest message in view.
  stuck: true,

  watchScroll() {
    const box = this.scroller;
    box.addEventListener("scroll", () => {
      this.stuck = this.nearBottom();
    }, { passive: true });
    const keepBottom = () => {
      if (this.stuck) this.scrollToBottom();
    };
    const observer = new ResizeObserver(keepBottom);
    observer.observe(box);
    observer.observe($("messages-inner"));
  },

  nearBottom() {
    const box = this.scroller;
    return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  },

  scrollToBottom() {
    const box = this.scroller;
    box.scrollTop = box.scrollHeight;
    this.stuck = true;
  },

  reset() {
    this.rows.clear();
    this.stuck = true;
    $("messages-inner").replaceChildren();
    renderChrome();
    const conversation = state.conversation;
    if (conversation?.loaded) this.update(conversation, [...conversation.messages.values()], true, []);
    else this.refreshEmpty(true);
  },

  update(conversation, changed, first, toasts) {
    const stick = first || this.stuck || this.nearBottom();
    let ownNew = false;
    for (const message of changed) {
      const id = message.message_id;
      const old = this.rows.get(id);
      const current = conversation.messages.get(id);
      if (!current || !this.visible(current)) {
        old?.remove();
        this.rows.delete(id);
        continue;
      }
      if (!old && isMine(current)) ownNew = true;
      const row = buildMessage(current, {
        mine: isMine(current),
        sender: senderOf(current),
        handlers,
      });
      addMessageActions(row, current);
      if (old) {
        old.replaceWith(row);
        if (!first && current.edited) flash(row);
      } else {
        this.insert(row, id);
        if (!first) row.classList.add("appear");
      }
      this.rows.set(id, row);
      if (conversation.kind === "staff" && this.visible(current)) conversation.markSeen(current);
    }
    this.decorate();
    this.refreshEmpty(false);
    if (stick || ownNew) this.scrollToBottom();
    renderKeyboard(conversation);
    renderMenuButton(conversation);
    renderChatAction(conversation);
    for (const item of toasts) {
      if (item.show_alert) showAlert(item.text);
      else if (item.text) toast(item.text);
    }
    clearPendingButtons();
    if (conversation.kind === "staff") {
      // A message in a topic we have not listed yet: the bot just created that topic.
      if (changed.some((message) => threadKeyOf(message) !== "general" && !isKnownThread(message.message_thread_id))) {
        loadChats();
      }
      renderTopics();
    }
  },

  insert(row, id) {
    const inner = $("messages-inner");
    let before = null;
    for (const existing of inner.querySelectorAll(":scope > .msg")) {
      if (Number(existing.dataset.id) > id) {
        before = existing;
        break;
      }
    }
    inner.insertBefore(row, before);
  },

  decorate() {
    const inner = $("messages-inner");
    for (const sep of inner.querySelectorAll(":scope > .day-sep")) sep.remove();
    let previous = null;
    for (const row of inner.querySelectorAll(":scope > .msg")) {
      if (!previous || previous.dataset.day !== row.dataset.day) {
        const sep = el("div", "day-sep");
        sep.append(el("span", "", formatDay(Number(row.dataset.date))));
        inner.insertBefore(sep, row);
        previous = null;
      }
      const joins =
        previous &&
        previous.dataset.sender === row.dataset.sender &&
        !previous.classList.contains("has-kb") &&
        Number(row.dataset.date) - Number(previous.dataset.date) < 300;
      row.classList.toggle("first-in-group", !joins);
      if (previous) previous.classList.toggle("last-in-group", !joins);
      previous = row;
    }
    previous?.classList.add("last-in-group");
  },

  refreshEmpty(loading) {
    const conversation = state.conversation;
    const empty = $("chat-empty");
    const hasRows = this.rows.size > 0;
    empty.hidden = !conversation || loading || hasRows;
    if (empty.hidden) return;
    const staff = conversation.kind === "staff";
    $("chat-empty-text").textContent = staff ? t("empty_topic") : t("empty_chat");
    $("start-button").hidden = staff;
  },
};

function actionButton(name, title, onClick) {
  const button = el("button", "msg-action");
  button.type = "button";
  button.title = title;
  button.setAttribute("aria-label", title);
  button.append(icon(name));
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick();
  });
  return button;
}

function addMessageActions(row, message) {
  if (message.service) return;
  const actions = el("div", "msg-actions");
  actions.append(actionButton("reply", t("reply"), () => setCompose("reply", message)));
  if (isMine(message) && typeof message.text === "string") {
    actions.append(actionButton("edit", t("edit"), () => setCompose("edit", message)));
  }
  if (row.classList.contains("out")) row.prepend(actions);
  else row.append(actions);
  // Touch screens have no hover: a tap on the bubble shows the actions.
  row.querySelector(".bubble")?.addEventListener("click", (event) => {
    if (event.target.closest("a, button, audio")) return;
    for (const other of document.querySelectorAll(".msg.show-actions")) {
      if (other !== row) other.classList.remove("show-actions");
    }
    row.classList.toggle("show-actions");
  });
}

function setCompose(mode, message) {
  state.compose = mode && message ? { mode, message } : null;
  renderCompose();
  if (state.compose) {
    const input = $("message-input");
    if (mode === "edit") {
      input.value = message.text ?? "";
      autoGrow();
    }
    input.focus();
  }
}

function renderCompose() {
  const bar = $("composer-context");
  const compose = state.compose;
  bar.hidden = !compose;
  if (!compose) return;
  const iconHolder = $("context-icon");
  iconHolder.replaceChildren(icon(compose.mode === "edit" ? "edit" : "reply"));
  $("context-title").textContent =
    compose.mode === "edit" ? t("editing") : t("replying_to", { name: handlers.nameOf(compose.message) ?? "" });
  $("context-text").textContent = previewOf(compose.message);
}

function flash(row) {
  row.classList.add("flash");
  setTimeout(() => row.classList.remove("flash"), 1200);
}

let pendingButtons = new Set();

function clearPendingButtons() {
  for (const node of pendingButtons) node.classList.remove("pending");
  pendingButtons = new Set();
}

const handlers = {
  onCommand(command) {
    sendText(command.split("@")[0]);
  },
  lookup(messageId) {
    return state.conversation?.messages.get(messageId);
  },
  nameOf(message) {
    if (state.conversation?.kind === "staff") return senderOf(message)?.name;
    return message.from_bot ? state.botName || t("bot") : currentUser()?.first_name ?? t("you");
  },
  onQuote(messageId) {
    const row = view.rows.get(messageId);
    if (!row) return;
    row.scrollIntoView({ block: "center", behavior: "smooth" });
    flash(row);
  },
  onMediaLoad() {
    if (view.stuck || Date.now() - lastSendAt < 4000) view.scrollToBottom();
  },
  async onButton(button, message, node) {
    const kind = buttonKind(button);
    if (kind === "url" || kind === "login_url") {
      const href = safeUrl(button.url ?? button.login_url?.url);
      if (href) window.open(href, "_blank", "noopener");
      return;
    }
    if (kind === "web_app") {
      openWebApp(button.web_app?.url, button.text);
      return;
    }
    if (kind === "copy_text") {
      try {
        await navigator.clipboard.writeText(button.copy_text.text ?? "");
        toast(t("copied"));
      } catch {
        toast(t("not_supported"));
      }
      return;
    }
    if (kind !== "callback") {
      toast(t("not_supported"));
      return;
    }
    await pressCallback(button, message, node);
  },
};

async function pressCallback(button, message, node) {
  const conversation = state.conversation;
  if (!conversation) return;
  node.classList.add("pending");
  pendingButtons.add(node);
  setTimeout(() => node.classList.remove("pending"), 4000);
  const payload = { message_id: message.message_id, data: button.callback_data };
  try {
    if (conversation.kind === "user") {
      await api(`users/${conversation.id}/click`, { method: "POST", json: payload });
    } else {
      await api(`chats/${conversation.id}/click`, {
        method: "POST",
        json: { ...payload, from_user_id: currentStaff().id },
      });
    }
  } catch (error) {
    node.classList.remove("pending");
    toast(t("click_failed", { error: describe(error) }), { kind: "error" });
  }
}

// ---------------------------------------------------------------- sending

let lastSendAt = 0;

async function sendText(text) {
  const conversation = state.conversation;
  if (!conversation || !text) return false;
  lastSendAt = Date.now();
  const fields = { text, ...replyFields() };
  try {
    if (conversation.kind === "user") {
      await api(`users/${conversation.id}/send`, { method: "POST", json: fields });
    } else {
      await api(`chats/${conversation.id}/send`, { method: "POST", json: staffFields(fields) });
    }
    if (state.compose?.mode === "reply") setCompose(null);
    return true;
  } catch (error) {
    toast(t("send_failed", { error: describe(error) }), { kind: "error" });
    return false;
  }
}

function replyFields() {
  const compose = state.compose;
  return compose?.mode === "reply" ? { reply_to_message_id: compose.message.message_id } : {};
}

async function editText(message, text) {
  const conversation = state.conversation;
  if (!conversation) return false;
  const fields = { message_id: message.message_id, text };
  try {
    if (conversation.kind === "user") {
      await api(`users/${conversation.id}/edit`, { method: "POST", json: fields });
    } else {
      await api(`chats/${conversation.id}/edit`, {
        method: "POST",
        json: { ...fields, from_user_id: currentStaff().id },
      });
    }
    setCompose(null);
    return true;
  } catch (error) {
    toast(t("edit_failed", { error: describe(error) }), { kind: "error" });
    return false;
  }
}

async function toggleBlock() {
  const user = currentUser();
  if (!user) return;
  try {
    await api(`users/${user.id}/${user.blocked ? "unblock" : "block"}`, { method: "POST", json: {} });
  } catch (error) {
    toast(t("block_failed", { error: describe(error) }), { kind: "error" });
  }
  await loadUsers();
}

function staffFields(fields) {
  const payload = { ...fields, from_user_id: currentStaff().id };
  if (state.threadKey !== "general") payload.message_thread_id = Number(state.threadKey);
  return payload;
}

async function sendFile(kind, file, caption) {
  const conversation = state.conversation;
  if (!conversation) return;
  const form = new FormData();
  form.append(kind, file, file.name);
  if (caption) form.append("caption", caption);
  for (const [key, value] of Object.entries(replyFields())) form.append(key, String(value));
  let path = `users/${conversation.id}/send`;
  if (conversation.kind === "staff") {
    path = `chats/${conversation.id}/send`;
    for (const [key, value] of Object.entries(staffFields({}))) form.append(key, String(value));
  }
  lastSendAt = Date.now();
  try {
    await api(path, { method: "POST", form });
    if (state.compose?.mode === "reply") setCompose(null);
  } catch (error) {
    toast(t("send_failed", { error: describe(error) }), { kind: "error" });
  }
}

// A round video (Telegram's video note): square, up to 640 px and 60 s. Here it is any video
// file (a face check's head turn, recorded or made for a test), sent as the user's.
async function sendVideoNote(file) {
  const conversation = state.conversation;
  if (!file || conversation?.kind !== "user") return;
  const url = URL.createObjectURL(file);
  let length = 384;
  let duration = 0;
  try {
    const probe = el("video");
    probe.muted = true;
    probe.preload = "metadata";
    await new Promise((resolve, reject) => {
      probe.addEventListener("loadedmetadata", resolve, { once: true });
      probe.addEventListener("error", reject, { once: true });
      probe.src = url;
    });
    length = Math.min(640, Math.max(1, probe.videoWidth || length));
    duration = Math.min(60, Math.round(probe.duration || 0));
  } catch {
    // The server reads the clip itself; these are only what Telegram would report.
  } finally {
    URL.revokeObjectURL(url);
  }
  const form = new FormData();
  form.append("video_note", file, file.name || "video_note.mp4");
  form.append("length", String(length));
  form.append("duration", String(duration));
  lastSendAt = Date.now();
  try {
    await api(`users/${conversation.id}/send`, { method: "POST", form });
  } catch (error) {
    toast(t("send_failed", { error: describe(error) }), { kind: "error" });
  }
}

async function shareContact() {
  const conversation = state.conversation;
  if (conversation?.kind !== "user") return false;
  const phone = await askPhone(conversation.id);
  if (!phone) return false;
  lastSendAt = Date.now();
  try {
    await api(`users/${conversation.id}/send`, {
      method: "POST",
      json: { contact: { phone_number: phone }, ...replyFields() },
    });
    if (state.compose?.mode === "reply") setCompose(null);
    return true;
  } catch (error) {
    toast(t("send_failed", { error: describe(error) }), { kind: "error" });
    return false;
  }
}

let previewUrl = null;

async function chooseFile(kind, file) {
  if (!file) return;
  const dialog = $("upload-dialog");
  $("upload-title").textContent = kind === "photo" ? t("photo_title") : t("document_title");
  const preview = $("upload-preview");
  preview.replaceChildren();
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = null;
  if (kind === "photo") {
    previewUrl = URL.createObjectURL(file);
    const img = el("img");
    img.alt = "";
    img.src = previewUrl;
    preview.append(img);
  } else {
    preview.append(documentChip({ file_name: file.name, file_size: file.size, mime_type: file.type }, { download: false }));
  }
  $("upload-caption").value = "";
  dialog.returnValue = "";
  const result = dialogResult(dialog);
  dialog.showModal();
  $("upload-caption").focus();
  if ((await result) === "send") await sendFile(kind, file, $("upload-caption").value.trim());
}

// ---------------------------------------------------------------- Mini Apps

let webApp = null;

async function openWebApp(url, title) {
  const conversation = state.conversation;
  if (!url) return;
  if (conversation?.kind !== "user") {
    toast(t("webapp_in_group"));
    return;
  }
  try {
    const data = await api(`users/${conversation.id}/webapp?url=${encodeURIComponent(url)}`);
    const signed = safeUrl(data?.url, { media: true });
    if (!signed) throw new Error("no url");
    webApp.open(signed, title);
  } catch (error) {
    toast(t("load_failed", { error: describe(error) }), { kind: "error" });
  }
}

// ---------------------------------------------------------------- reply keyboard and menu button

function renderKeyboard(conversation) {
  const panel = $("reply-keyboard");
  const toggle = $("keyboard-toggle");
  const markup = conversation?.kind === "user" ? conversation.keyboard : null;
  const rows = Array.isArray(markup?.keyboard) ? markup.keyboard.filter((row) => Array.isArray(row) && row.length) : [];
  const signature = rows.length ? JSON.stringify(markup) : "";
  if (signature !== state.keyboardSignature) {
    state.keyboardSignature = signature;
    state.keyboardHidden = false;
    panel.replaceChildren();
    for (const row of rows) {
      const line = el("div", "reply-row");
      for (const raw of row) {
        const button = typeof raw === "string" ? { text: raw } : raw;
        const node = el("button", "reply-button");
        node.type = "button";
        node.append(el("span", "", button.text));
        if (button.request_contact) node.classList.add("special");
        node.addEventListener("click", () => pressReplyButton(button, markup));
        line.append(node);
      }
      panel.append(line);
    }
  }
  const input = $("message-input");
  input.placeholder = markup?.input_field_placeholder || placeholder();
  toggle.hidden = !rows.length;
  panel.hidden = !rows.length || state.keyboardHidden;
  toggle.classList.toggle("active", !panel.hidden);
  toggle.title = panel.hidden ? t("keyboard_show") : t("keyboard_hide");
  toggle.setAttribute("aria-label", toggle.title);
}

async function pressReplyButton(button, markup) {
  if (button.request_contact) {
    if (!(await shareContact())) return;
  } else if (button.web_app?.url) {
    await openWebApp(button.web_app.url, button.text);
    return;
  } else if (button.request_location || button.request_poll || button.request_users || button.request_chat) {
    toast(t("not_supported"));
    return;
  } else if (!(await sendText(button.text))) {
    return;
  }
  if (markup?.one_time_keyboard) {
    state.keyboardHidden = true;
    renderKeyboard(state.conversation);
  }
}

function renderMenuButton(conversation) {
  const menu = conversation?.kind === "user" ? conversation.menuButton : null;
  const node = $("menu-button");
  const isWebApp = Boolean(menu?.type === "web_app" && menu.web_app?.url);
  const hasCommands = conversation?.kind === "user" && conversation.commands.length > 0;
  node.hidden = !isWebApp && !hasCommands;
  node.classList.toggle("commands", !isWebApp);
  $("menu-button-text").textContent = isWebApp ? menu.text || t("mini_app") : t("menu");
}

function pressMenuButton() {
  const conversation = state.conversation;
  const menu = conversation?.menuButton;
  if (menu?.type === "web_app" && menu.web_app?.url) {
    openWebApp(menu.web_app.url, menu.text);
    return;
  }
  const popover = $("command-menu");
  if (!popover.hidden && !popover.dataset.filter) {
    popover.hidden = true;
    return;
  }
  showCommands("");
}

// Commands set by the bot (setMyCommands), offered from the menu button and while typing "/".
function showCommands(filter) {
  const popover = $("command-menu");
  const conversation = state.conversation;
  const commands = conversation?.kind === "user" ? conversation.commands : [];
  const matching = commands.filter((item) => `/${item.command}`.startsWith(filter || "/"));
  popover.replaceChildren();
  popover.dataset.filter = filter;
  popover.hidden = matching.length === 0;
  for (const item of matching) {
    const button = el("button", "command-item");
    button.type = "button";
    button.append(el("span", "command-name", `/${item.command}`));
    button.append(el("span", "command-description", item.description ?? ""));
    button.addEventListener("click", async () => {
      popover.hidden = true;
      $("message-input").value = "";
      autoGrow();
      await sendText(`/${item.command}`);
      focusInput();
    });
    popover.append(button);
  }
}

let chatActionTimer = null;

function renderChatAction(conversation) {
  clearTimeout(chatActionTimer);
  const subtitle = $("chat-subtitle");
  const action = conversation?.kind === "user" ? conversation.chatAction : null;
  const active = action && action.until > Date.now();
  subtitle.classList.toggle("typing", Boolean(active));
  if (!active) {
    if (conversation?.kind === "user") {
      subtitle.textContent = t("bot_subtitle", { name: currentUser()?.first_name ?? conversation.id });
    }
    return;
  }
  const labels = { upload_photo: "sending_photo", upload_document: "sending_file" };
  subtitle.textContent = t(labels[action.action] ?? "typing");
  chatActionTimer = setTimeout(() => renderChatAction(state.conversation), action.until - Date.now() + 50);
}

function placeholder() {
  return state.conversation?.kind === "staff" ? t("topic_placeholder") : t("message_placeholder");
}

// ---------------------------------------------------------------- sidebar: trainees

async function loadUsers() {
  try {
    const data = await api("users");
    state.users = Array.isArray(data) ? data : data?.users ?? [];
    setOnline(true);
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) setOnline(false);
    return;
  }
  renderUsers();
  if (state.view === "user") renderChrome();
}

function renderUsers() {
  const list = $("user-list");
  list.replaceChildren();
  for (const user of state.users) {
    const item = el("li");
    const button = el("button", "list-item");
    button.type = "button";
    button.dataset.userId = String(user.id);
    if (user.id === state.userId && state.view === "user") button.classList.add("selected");
    const avatar = el("span", "avatar");
    fillAvatar(avatar, user.id, user.first_name);
    const body = el("span", "list-body");
    body.append(el("span", "list-title", user.first_name || String(user.id)));
    const meta = el("span", "list-meta");
    meta.append(el("span", "lang-badge", languageOf(user.language_code) === "zh" ? "中" : "EN"));
    meta.append(el("span", "", `ID ${user.id}`));
    if (user.blocked) meta.append(el("span", "blocked-badge", t("blocked")));
    body.append(meta);
    button.append(avatar, body);
    button.addEventListener("click", () => selectUser(user.id));
    item.append(button);
    list.append(item);
  }
  $("user-list-empty").hidden = state.users.length > 0;
}

function selectUser(userId) {
  state.view = "user";
  state.userId = userId;
  store.set("view", "user");
  store.set("userId", userId);
  applyLanguage();
  renderUsers();
  renderTabs();
  startConversation("user", userId);
  openChatOnMobile(userId !== null);
  if (userId !== null) focusInput();
}

async function createUser(event) {
  event.preventDefault();
  const nameInput = $("new-user-name");
  const firstName = nameInput.value.trim() || nameInput.placeholder;
  const button = $("new-user-create");
  button.disabled = true;
  try {
    const user = await api("users", {
      method: "POST",
      json: { first_name: firstName, language_code: state.newUserLang },
    });
    const created = user?.user ?? user;
    $("new-user-form").hidden = true;
    nameInput.value = "";
    await loadUsers();
    selectUser(created.id);
  } catch (error) {
    toast(t("send_failed", { error: describe(error) }), { kind: "error" });
  } finally {
    button.disabled = false;
  }
}

function toggleNewUserForm(show) {
  const form = $("new-user-form");
  form.hidden = !show;
  if (!show) return;
  const names = SUGGESTED_NAMES[state.newUserLang];
  const taken = new Set(state.users.map((user) => user.first_name));
  $("new-user-name").placeholder = names.find((name) => !taken.has(name)) ?? names[state.users.length % names.length];
  $("new-user-name").focus();
}

function renderNewUserLang() {
  for (const button of $("new-user-lang").querySelectorAll("button")) {
    const on = button.dataset.lang === state.newUserLang;
    button.classList.toggle("on", on);
    button.setAttribute("aria-checked", String(on));
  }
}

// ---------------------------------------------------------------- sidebar: support staff

async function loadChats() {
  try {
    const data = await api("chats");
    state.chats = Array.isArray(data) ? data : data?.chats ?? [];
    setOnline(true);
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) setOnline(false);
    return;
  }
  if (!currentChat() && state.chats.length) {
    state.chatId = (state.chats.find((chat) => chat.is_forum) ?? state.chats[0]).id;
    store.set("chatId", state.chatId);
  }
  renderTopics();
  if (state.view === "staff") {
    renderChrome();
    if (!state.conversation || state.conversation.kind !== "staff" || state.conversation.id !== state.chatId) {
      startConversation("staff", currentChat()?.id ?? null);
    }
  }
}

function topicColor(value) {
  if (typeof value === "string" && value) return value;
  if (Number.isInteger(value)) return `#${value.toString(16).padStart(6, "0")}`;
  return "#6fb9f0";
}

function renderTopics() {
  const chat = currentChat();
  const list = $("topic-list");
  list.replaceChildren();
  $("topic-list-empty").hidden = Boolean(chat);
  $("staff-group-title").textContent = chat?.title ?? t("staff_group");
  const members = staffMembers(chat);
  const identity = $("staff-identity");
  identity.hidden = members.length < 2;
  const select = $("staff-member");
  select.replaceChildren();
  for (const member of members) {
    const option = el("option", "", member.name);
    option.value = String(member.id);
    option.selected = member.id === currentStaff().id;
    select.append(option);
  }
  if (!chat) return;
  const topics = [{ key: "general", name: t("general_topic"), general: true }];
  for (const topic of chat.topics ?? []) {
    if (topic.deleted) continue;
    topics.push({ key: String(topic.message_thread_id), name: topic.name, color: topic.icon_color, closed: topic.closed });
  }
  const conversation = state.conversation?.kind === "staff" ? state.conversation : null;
  for (const topic of topics) {
    const item = el("li");
    const button = el("button", "list-item topic");
    button.type = "button";
    button.dataset.thread = topic.key;
    if (state.view === "staff" && topic.key === state.threadKey) button.classList.add("selected");
    const mark = el("span", topic.general ? "topic-icon general" : "topic-icon");
    if (topic.general) mark.textContent = "#";
    else {
      mark.style.background = topicColor(topic.color);
      mark.textContent = [...String(topic.name ?? "?")][0] ?? "?";
    }
    const body = el("span", "list-body");
    body.append(el("span", "list-title", topic.name));
    const last = conversation ? lastMessageIn(conversation, topic.key) : null;
    body.append(el("span", "list-meta preview", last ? previewText(last) : ""));
    button.append(mark, body);
    if (topic.closed) {
      const lock = el("span", "topic-closed", t("topic_closed"));
      button.append(lock);
    }
    const unread = conversation && topic.key !== state.threadKey ? conversation.unread(topic.key) : 0;
    if (unread) button.append(el("span", "unread", String(unread)));
    button.addEventListener("click", () => selectThread(topic.key));
    item.append(button);
    list.append(item);
  }
}

function lastMessageIn(conversation, key) {
  let last = null;
  for (const message of conversation.messages.values()) {
    if (threadKeyOf(message) === key && (!last || message.message_id > last.message_id)) last = message;
  }
  return last;
}

function previewText(message) {
  const sender = senderOf(message)?.name;
  let body = message.text ?? message.caption ?? "";
  if (!body && message.photo) body = `[${t("photo")}]`;
  if (!body && message.document) body = `[${message.document.file_name || t("document")}]`;
  if (!body && message.contact) body = `[${t("contact_card")}]`;
  return sender ? `${sender}: ${body}` : body;
}

function selectThread(key) {
  state.view = "staff";
  state.threadKey = key;
  store.set("view", "staff");
  store.set("threadKey", key);
  const conversation = state.conversation;
  if (conversation?.kind === "staff" && conversation.id === state.chatId) {
    view.reset();
    for (const message of conversation.messages.values()) {
      if (threadKeyOf(message) === key) conversation.markSeen(message);
    }
  } else {
    startConversation("staff", state.chatId);
  }
  renderTopics();
  openChatOnMobile(true);
  focusInput();
}

// ---------------------------------------------------------------- chrome: header, tabs, language

function renderChrome() {
  const conversation = state.conversation;
  const avatar = $("chat-avatar");
  const hasConversation = Boolean(conversation);
  $("pick-user").hidden = hasConversation;
  $("composer-wrap").hidden = !hasConversation;
  $("chat").classList.toggle("staff", conversation?.kind === "staff");
  const notice = $("chat-notice");
  notice.hidden = true;
  if (!conversation) {
    $("block-toggle").hidden = true;
    $("chat-title").textContent = "";
    $("chat-subtitle").textContent = "";
    avatar.hidden = true;
    return;
  }
  avatar.hidden = false;
  if (conversation.kind === "user") {
    const user = currentUser();
    const botName = state.botName || t("bot");
    fillAvatar(avatar, "bot", botName);
    avatar.classList.add("bot");
    $("chat-title").textContent = botName;
    $("chat-subtitle").textContent = t("bot_subtitle", { name: user?.first_name ?? conversation.id });
    if (user?.blocked) {
      notice.hidden = false;
      notice.textContent = t("blocked_notice");
    }
    const blockToggle = $("block-toggle");
    blockToggle.hidden = !user;
    blockToggle.textContent = user?.blocked ? t("unblock") : t("block");
    blockToggle.classList.toggle("danger", !user?.blocked);
    $("attach-contact").hidden = false;
    $("attach-video-note").hidden = false;
  } else {
    const chat = currentChat();
    avatar.classList.remove("bot");
    fillAvatar(avatar, chat?.id ?? "staff", chat?.title ?? t("staff_group"));
    const topic = chat?.topics?.find((item) => String(item.message_thread_id) === state.threadKey);
    const topicName = state.threadKey === "general" ? t("general_topic") : topic?.name ?? `#${state.threadKey}`;
    $("chat-title").textContent = `${chat?.title ?? t("staff_group")} · ${topicName}`;
    $("chat-subtitle").textContent = t("staff_subtitle", { name: currentStaff().name });
    $("attach-contact").hidden = true;
    $("attach-video-note").hidden = true;
    $("block-toggle").hidden = true;
  }
  $("message-input").placeholder = placeholder();
  renderKeyboard(conversation);
  renderMenuButton(conversation);
  renderChatAction(conversation);
}

function renderTabs() {
  for (const tab of document.querySelectorAll(".tab")) {
    const on = tab.dataset.view === state.view;
    tab.classList.toggle("on", on);
    tab.setAttribute("aria-selected", String(on));
  }
  $("users-pane").hidden = state.view !== "user";
  $("staff-pane").hidden = state.view !== "staff";
}

function switchView(viewName) {
  if (viewName === state.view && state.conversation) return;
  state.view = viewName;
  store.set("view", viewName);
  renderTabs();
  applyLanguage();
  if (viewName === "user") {
    renderUsers();
    startConversation("user", currentUser() ? state.userId : null);
  } else {
    startConversation("staff", currentChat()?.id ?? null);
    renderTopics();
    loadChats();
  }
}

function effectiveLanguage() {
  if (state.uiLang === "zh" || state.uiLang === "en") return state.uiLang;
  if (state.view === "user" && currentUser()) return languageOf(currentUser().language_code);
  return "zh";
}

function applyLanguage() {
  const before = language();
  setLanguage(effectiveLanguage());
  applyLabels();
  for (const button of $("ui-lang").querySelectorAll("button")) {
    const on = button.dataset.lang === state.uiLang;
    button.classList.toggle("on", on);
    button.setAttribute("aria-checked", String(on));
  }
  if (before !== language()) {
    renderUsers();
    renderTopics();
    if (state.conversation) view.reset();
  } else {
    renderChrome();
  }
}

function openChatOnMobile(open) {
  document.body.classList.toggle("chat-open", open);
}

function focusInput() {
  if (window.matchMedia("(pointer: fine)").matches) $("message-input").focus();
}

// ---------------------------------------------------------------- composer

function autoGrow() {
  const input = $("message-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}

async function submitComposer(event) {
  event?.preventDefault();
  const input = $("message-input");
  const text = input.value.trim();
  if (!text) return;
  $("command-menu").hidden = true;
  input.value = "";
  autoGrow();
  if (state.compose?.mode === "edit") {
    if (!(await editText(state.compose.message, text)) && !input.value) input.value = text;
    autoGrow();
    return;
  }
  if (!(await sendText(text))) {
    if (!input.value) input.value = text;
    autoGrow();
  }
}

function wireComposer() {
  const input = $("message-input");
  $("composer").addEventListener("submit", submitComposer);
  input.addEventListener("input", () => {
    autoGrow();
    const value = input.value;
    if (/^\/\w*$/.test(value)) showCommands(value);
    else if ($("command-menu").dataset.filter) $("command-menu").hidden = true;
  });
  input.addEventListener("keydown", (event) => {
    // IME composition (pinyin) uses Enter to commit text: never send then.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    submitComposer();
  });
  const menu = $("attach-menu");
  $("attach-button").addEventListener("click", (event) => {
    event.stopPropagation();
    menu.hidden = !menu.hidden;
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !menu.contains(event.target)) menu.hidden = true;
  });
  $("attach-photo").addEventListener("click", () => {
    menu.hidden = true;
    $("photo-input").click();
  });
  $("attach-document").addEventListener("click", () => {
    menu.hidden = true;
    $("document-input").click();
  });
  $("attach-video-note").addEventListener("click", () => {
    menu.hidden = true;
    $("video-note-input").click();
  });
  $("video-note-input").addEventListener("change", (event) => {
    const file = event.target.files?.[0];
    event.target.value = "";
    sendVideoNote(file);
  });
  $("attach-contact").addEventListener("click", () => {
    menu.hidden = true;
    shareContact();
  });
  for (const [inputId, kind] of [["photo-input", "photo"], ["document-input", "document"]]) {
    $(inputId).addEventListener("change", (event) => {
      const file = event.target.files?.[0];
      event.target.value = "";
      chooseFile(kind, file);
    });
  }
  $("keyboard-toggle").addEventListener("click", () => {
    state.keyboardHidden = !state.keyboardHidden;
    renderKeyboard(state.conversation);
  });
  $("menu-button").addEventListener("click", (event) => {
    event.stopPropagation();
    pressMenuButton();
  });
  document.addEventListener("click", (event) => {
    const popover = $("command-menu");
    if (!popover.hidden && !popover.contains(event.target)) popover.hidden = true;
  });
  $("start-button").addEventListener("click", () => sendText("/start"));
  $("context-cancel").addEventListener("click", () => {
    if (state.compose?.mode === "edit") {
      $("message-input").value = "";
      autoGrow();
    }
    setCompose(null);
  });
  $("block-toggle").addEventListener("click", toggleBlock);
  // Cancel buttons are plain buttons so that Enter in a field submits the primary action.
  for (const button of document.querySelectorAll("[data-close-dialog]")) {
    button.addEventListener("click", () => button.closest("dialog")?.close("cancel"));
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
    const popups = [$("attach-menu"), $("command-menu")].filter((node) => !node.hidden);
    for (const node of popups) node.hidden = true;
    if (!popups.length && state.compose) $("context-cancel").click();
  });
}

function wireSidebar() {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => switchView(tab.dataset.view));
  }
  $("new-user-toggle").addEventListener("click", () => toggleNewUserForm($("new-user-form").hidden));
  $("new-user-cancel").addEventListener("click", () => toggleNewUserForm(false));
  $("new-user-form").addEventListener("submit", createUser);
  for (const button of $("new-user-lang").querySelectorAll("button")) {
    button.addEventListener("click", () => {
      state.newUserLang = button.dataset.lang;
      renderNewUserLang();
      toggleNewUserForm(true);
    });
  }
  for (const button of $("ui-lang").querySelectorAll("button")) {
    button.addEventListener("click", () => {
      state.uiLang = button.dataset.lang;
      store.set("uiLang", state.uiLang);
      applyLanguage();
    });
  }
  $("staff-member").addEventListener("change", (event) => {
    state.staffMemberId = Number(event.target.value);
    store.set("staffMemberId", state.staffMemberId);
    renderChrome();
    if (state.conversation) view.reset();
  });
  $("back-button").addEventListener("click", () => openChatOnMobile(false));
}

async function loadBot() {
  try {
    state.bot = await api("bot");
    state.botName = state.bot?.first_name ?? null;
  } catch {
    return;
  }
  renderChrome();
  renderTopics();
}

async function main() {
  hydrateIcons();
  setLanguage(effectiveLanguage());
  applyLabels();
  renderNewUserLang();
  renderTabs();
  wireComposer();
  wireSidebar();
  view.watchScroll();
  webApp = new WebAppFrame({
    toast,
    askPopup,
    requestPhone: () => shareContact(),
  });
  await Promise.all([loadUsers(), loadChats(), loadBot()]);
  if (state.view === "user" && currentUser()) selectUser(state.userId);
  else if (state.view === "user") {
    applyLanguage();
    startConversation("user", null);
    if (!state.users.length) toggleNewUserForm(true);
  } else {
    applyLanguage();
    if (!state.conversation) startConversation("staff", currentChat()?.id ?? null);
    renderTopics();
  }
  // Users and topics appear from elsewhere (other tabs, the bot creating topics): refresh now
  // and then rather than holding a second long poll open.
  setInterval(() => {
    if (document.hidden) return;
    if (state.view === "staff") loadChats();
    else loadUsers();
  }, 8000);
  window.addEventListener("online", () => state.conversation?.kick());
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && offlineSince !== null) state.conversation?.kick();
  });
  document.body.classList.add("ready");
}

main();
