// Building message bubbles. Every piece of user or bot text goes into the DOM as a text node.

import { icon } from "./icons.js";
import { locale, t } from "./i18n.js";

const BLOCK_ENTITIES = new Set(["pre", "blockquote", "expandable_blockquote"]);
const LINK_SCHEMES = new Set(["http:", "https:", "mailto:", "tel:", "tg:"]);
const MEDIA_SCHEMES = new Set(["http:", "https:", "blob:"]);
const SENDER_COLORS = ["#d0564b", "#d08a2e", "#8b62c9", "#3f9a55", "#2f86b8", "#c2537d", "#3b8e8c"];
const AVATAR_COLORS = [
  ["#f4a261", "#e76f51"],
  ["#72c2a8", "#3f9a80"],
  ["#7aa9e8", "#4a78c9"],
  ["#b69ae6", "#8a66cc"],
  ["#f28fb0", "#d25f88"],
  ["#f2c661", "#d49a2c"],
  ["#6dc7d8", "#3895ad"],
];
const UNSUPPORTED_KINDS = [
  "sticker", "video", "animation", "audio", "location", "venue", "poll",
  "dice", "game", "invoice",
];

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function safeUrl(url, { media = false } = {}) {
  if (typeof url !== "string" || !url.trim()) return null;
  let parsed;
  try {
    parsed = new URL(url.trim(), media ? document.baseURI : undefined);
  } catch {
    return null;
  }
  return (media ? MEDIA_SCHEMES : LINK_SCHEMES).has(parsed.protocol) ? parsed.href : null;
}

function hashOf(value) {
  let hash = 0;
  for (const ch of String(value)) hash = (hash * 31 + ch.codePointAt(0)) | 0;
  return Math.abs(hash);
}

export function senderColor(id) {
  return SENDER_COLORS[hashOf(id) % SENDER_COLORS.length];
}

export function fillAvatar(node, id, name) {
  const [from, to] = AVATAR_COLORS[hashOf(id) % AVATAR_COLORS.length];
  node.style.background = `linear-gradient(135deg, ${from}, ${to})`;
  node.textContent = initials(name);
}

export function initials(name) {
  const trimmed = String(name ?? "").trim();
  if (!trimmed) return "?";
  const words = trimmed.split(/\s+/);
  if (/^[\u3400-\u9fff]/.test(trimmed)) return [...trimmed][0];
  const letters = words.slice(0, 2).map((word) => [...word][0]);
  return letters.join("").toUpperCase();
}

function link(href, className) {
  const a = el("a", className);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function entityElement(entity, entityText, handlers) {
  switch (entity.type) {
    case "bold":
      return el("strong");
    case "italic":
      return el("em");
    case "underline":
      return el("u");
    case "strikethrough":
      return el("s");
    case "spoiler": {
      const span = el("span", "spoiler");
      span.addEventListener("click", () => span.classList.add("revealed"), { once: true });
      return span;
    }
    case "code":
      return el("code", "inline-code");
    case "pre": {
      const pre = el("pre", "pre-block");
      if (entity.language) pre.dataset.language = entity.language;
      return pre;
    }
    case "blockquote":
    case "expandable_blockquote":
      return el("blockquote", "quote");
    case "text_link": {
      const href = safeUrl(entity.url);
      return href ? link(href, "link") : el("span", "link-broken");
    }
    case "url": {
      const href = safeUrl(/^[a-z][\w+.-]*:/i.test(entityText) ? entityText : `http://${entityText}`);
      return href ? link(href, "link") : el("span");
    }
    case "email":
      return link(`mailto:${entityText}`, "link");
    case "phone_number":
      return link(`tel:${entityText.replace(/[^\d+]/g, "")}`, "link");
    case "bot_command": {
      const a = el("a", "link command");
      a.href = "#";
      a.addEventListener("click", (event) => {
        event.preventDefault();
        handlers.onCommand?.(entityText);
      });
      return a;
    }
    case "mention":
    case "text_mention":
    case "hashtag":
    case "cashtag":
      return el("span", "link");
    default:
      return el("span");
  }
}

// Entities nest but never cross in Telegram; a crossing one is clipped to its parent.
function appendEntities(parent, text, entities, start, end, handlers) {
  let cursor = start;
  let index = 0;
  while (index < entities.length) {
    const entity = entities[index];
    let next = index + 1;
    while (next < entities.length && entities[next].offset < entity.end) next++;
    const from = Math.max(entity.offset, cursor);
    const to = Math.min(entity.end, end);
    if (to > from) {
      if (from > cursor) parent.append(text.slice(cursor, from));
      const node = entityElement(entity, text.slice(entity.offset, entity.end), handlers);
      const children = entities.slice(index + 1, next).map((c) => ({ ...c, end: Math.min(c.end, to) }));
      appendEntities(node, text, children, from, to, handlers);
      parent.append(node);
      cursor = to;
      // A block already ends its line; the newline after it would show as an empty line.
      if (BLOCK_ENTITIES.has(entity.type) && text[cursor] === "\n" && cursor < end) cursor += 1;
    }
    index = next;
  }
  if (cursor < end) parent.append(text.slice(cursor, end));
}

export function renderRichText(text, entities, handlers = {}) {
  const fragment = document.createDocumentFragment();
  const source = String(text ?? "");
  const list = (Array.isArray(entities) ? entities : [])
    .filter((e) => e && Number.isInteger(e.offset) && e.length > 0 && e.offset < source.length)
    .map((e) => ({ ...e, end: Math.min(e.offset + e.length, source.length) }))
    .sort((a, b) => a.offset - b.offset || b.end - a.end);
  appendEntities(fragment, source, list, 0, source.length, handlers);
  return fragment;
}

export function formatTime(unixSeconds) {
  if (!unixSeconds) return "";
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", hour12: false })
    .format(new Date(unixSeconds * 1000));
}

export function dayKey(unixSeconds) {
  const date = new Date((unixSeconds || 0) * 1000);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

export function formatDay(unixSeconds) {
  const date = new Date((unixSeconds || 0) * 1000);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(unixSeconds) === dayKey(today.getTime() / 1000)) return t("today");
  if (dayKey(unixSeconds) === dayKey(yesterday.getTime() / 1000)) return t("yesterday");
  const options = { month: "long", day: "numeric", weekday: "short" };
  if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
  return new Intl.DateTimeFormat(locale(), options).format(date);
}

function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes <= 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fileExtension(name, mime) {
  const match = /\.([a-z0-9]{1,5})$/i.exec(name || "");
  if (match) return match[1].toUpperCase();
  const sub = (mime || "").split("/")[1];
  return sub ? sub.slice(0, 4).toUpperCase() : t("file");
}

export function documentChip(doc, { download = true } = {}) {
  const href = safeUrl(doc.url, { media: true });
  const chip = href && download ? link(href, "doc-chip") : el("div", "doc-chip");
  if (href && download) chip.setAttribute("download", doc.file_name || "");
  const badge = el("span", "doc-icon");
  badge.append(icon("file"));
  badge.append(el("span", "doc-ext", fileExtension(doc.file_name, doc.mime_type)));
  const info = el("span", "doc-info");
  info.append(el("span", "doc-name", doc.file_name || t("file")));
  const details = [formatSize(doc.file_size), doc.mime_type].filter(Boolean).join(" · ");
  info.append(el("span", "doc-details", details));
  chip.append(badge, info);
  if (href && download) {
    const arrow = el("span", "doc-download");
    arrow.append(icon("download"));
    chip.append(arrow);
  }
  return chip;
}

function photoBlock(photo, onLoad) {
  const href = safeUrl(photo.url, { media: true });
  const wrap = href ? link(href, "photo") : el("div", "photo");
  const img = el("img");
  img.alt = "";
  img.loading = "lazy";
  img.decoding = "async";
  if (photo.width && photo.height) {
    img.width = photo.width;
    img.height = photo.height;
    img.style.aspectRatio = `${photo.width} / ${photo.height}`;
  }
  if (href) img.src = href;
  img.addEventListener("load", () => onLoad?.(), { once: true });
  wrap.append(img);
  return wrap;
}

function contactCard(contact) {
  const card = el("div", "contact-card");
  const avatar = el("span", "avatar small");
  const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
  fillAvatar(avatar, contact.user_id ?? contact.phone_number, name || contact.phone_number);
  const info = el("span", "contact-info");
  info.append(el("span", "contact-name", name || t("contact_card")));
  info.append(el("span", "contact-phone", contact.phone_number));
  card.append(avatar, info);
  return card;
}

function metaNode(message, mine) {
  const meta = el("span", "meta");
  if (message.edited) meta.append(el("span", "meta-edited", t("edited")));
  meta.append(el("span", "meta-time", formatTime(message.date)));
  if (mine) {
    const checks = el("span", "meta-checks");
    checks.append(icon("checks"));
    meta.append(checks);
  }
  return meta;
}

export function buttonKind(button) {
  if (button.web_app) return "web_app";
  if (button.url) return "url";
  if (button.login_url) return "login_url";
  if (button.copy_text) return "copy_text";
  if (button.callback_data !== undefined && button.callback_data !== null) return "callback";
  return "other";
}

function inlineKeyboard(message, rows, handlers) {
  const board = el("div", "inline-kb");
  for (const row of rows) {
    if (!Array.isArray(row) || !row.length) continue;
    const line = el("div", "kb-row");
    for (const button of row) {
      const node = el("button", "kb-button");
      node.type = "button";
      const kind = buttonKind(button);
      node.dataset.kind = kind;
      node.append(el("span", "kb-label", button.text));
      if (kind === "url" || kind === "login_url") node.append(icon("link"));
      if (kind === "web_app") node.append(icon("app"));
      if (kind === "copy_text") node.append(icon("copy"));
      node.addEventListener("click", () => handlers.onButton?.(button, message, node));
      line.append(node);
    }
    board.append(line);
  }
  return board;
}

function unsupportedKind(message) {
  return UNSUPPORTED_KINDS.find((kind) => message[kind]);
}

function serviceText(service) {
  switch (service.type) {
    case "forum_topic_created":
      return t("service_topic_created", { name: service.name ?? "" });
    case "forum_topic_edited":
      return service.name ? t("service_topic_renamed", { name: service.name }) : t("service_topic_edited");
    case "forum_topic_closed":
      return t("service_topic_closed");
    case "forum_topic_reopened":
      return t("service_topic_reopened");
    default:
      return service.type;
  }
}

function buildService(message) {
  const row = el("div", "msg service");
  row.dataset.id = String(message.message_id);
  row.dataset.date = String(message.date || 0);
  row.dataset.day = dayKey(message.date);
  row.dataset.sender = "service";
  row.append(el("span", "service-pill", serviceText(message.service)));
  return row;
}

function forwardName(origin) {
  const user = origin.sender_user;
  if (user) return [user.first_name, user.last_name].filter(Boolean).join(" ");
  return origin.sender_user_name ?? origin.sender_chat?.title ?? origin.chat?.title ?? "";
}

export function previewOf(message) {
  if (!message) return "";
  const body = message.text ?? message.caption ?? "";
  if (body) return body.replace(/\s+/g, " ").slice(0, 120);
  if (message.photo) return `[${t("photo")}]`;
  if (message.document) return `[${message.document.file_name || t("document")}]`;
  if (message.contact) return `[${t("contact_card")}] ${message.contact.phone_number ?? ""}`;
  if (message.voice) return `[${t("voice")}]`;
  if (message.video_note) return `[${t("video_note")}]`;
  if (message.service) return serviceText(message.service);
  return "";
}

function replyQuote(message, handlers) {
  const original = handlers.lookup?.(message.reply_to_message_id);
  const quote = el("button", "reply-quote");
  quote.type = "button";
  const name = original ? handlers.nameOf?.(original) ?? "" : "";
  quote.append(el("span", "reply-name", name || t("reply")));
  quote.append(el("span", "reply-text", original ? previewOf(original) : t("message_unavailable")));
  quote.addEventListener("click", () => handlers.onQuote?.(message.reply_to_message_id));
  return quote;
}

function voiceBlock(voice) {
  const wrap = el("div", "voice");
  const href = safeUrl(voice.url, { media: true });
  if (href) {
    const audio = el("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = href;
    wrap.append(audio);
  }
  if (voice.duration) wrap.append(el("span", "doc-details", `${voice.duration}s`));
  return wrap;
}

function videoNoteBlock(note) {
  const wrap = el("div", "video-note");
  const href = safeUrl(note.url, { media: true });
  if (href) {
    const video = el("video");
    video.controls = true;
    video.muted = true;
    video.playsInline = true;
    video.preload = "metadata";
    video.src = href;
    wrap.append(video);
  }
  if (note.duration) wrap.append(el("span", "doc-details", `${note.duration}s`));
  return wrap;
}

export function buildMessage(message, { mine, sender, handlers }) {
  if (message.service) return buildService(message);
  const row = el("div", `msg ${mine ? "out" : "in"}`);
  row.dataset.id = String(message.message_id);
  row.dataset.date = String(message.date || 0);
  row.dataset.day = dayKey(message.date);
  row.dataset.sender = sender ? String(sender.id) : mine ? "me" : "bot";

  const bubble = el("div", "bubble");
  if (sender) {
    const name = el("div", "sender", sender.name);
    name.style.color = senderColor(sender.id);
    bubble.append(name);
  }
  if (message.forward_origin) {
    bubble.append(el("div", "forwarded", t("forwarded_from", { name: forwardName(message.forward_origin) })));
  }
  if (message.reply_to_message_id) bubble.append(replyQuote(message, handlers));
  const text = message.text ?? message.caption ?? "";
  const entities = message.text != null ? message.entities : message.caption_entities;
  if (message.photo) {
    bubble.classList.add("has-photo");
    bubble.append(photoBlock(message.photo, handlers.onMediaLoad));
  }
  if (message.document) bubble.append(documentChip(message.document));
  if (message.contact) bubble.append(contactCard(message.contact));
  if (message.voice) bubble.append(voiceBlock(message.voice));
  if (message.video_note) bubble.append(videoNoteBlock(message.video_note));
  const kind = unsupportedKind(message);
  if (kind && !text) bubble.append(el("div", "unsupported", `[${kind}]`));

  const meta = metaNode(message, mine);
  if (text) {
    const body = el("div", "text");
    body.append(renderRichText(text, entities, handlers));
    // An invisible copy of the meta reserves room so the real one can sit on the last line.
    const spacer = metaNode(message, mine);
    spacer.className = "meta-spacer";
    spacer.setAttribute("aria-hidden", "true");
    body.append(spacer);
    bubble.append(body);
  } else if (message.photo && !message.document && !message.contact) {
    bubble.classList.add("media-only");
  } else {
    bubble.classList.add("no-text");
  }
  bubble.append(meta);
  // The column wraps the bubble and its keyboard so both take the wider one's width.
  const column = el("div", "msg-body");
  column.append(bubble);
  const rows = message.reply_markup?.inline_keyboard;
  if (Array.isArray(rows) && rows.length) {
    row.classList.add("has-kb");
    column.append(inlineKeyboard(message, rows, handlers));
  }
  row.append(column);
  return row;
}
