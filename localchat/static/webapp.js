// The Mini App frame: a phone-sized dialog, plus the part of Telegram's web client protocol
// (postMessage with {eventType, eventData}) that telegram-web-app.js uses inside an iframe.

import { t } from "./i18n.js";
import { safeUrl } from "./render.js";

export const THEME = {
  bg_color: "#ffffff",
  text_color: "#1f2a33",
  hint_color: "#8a96a3",
  link_color: "#2a7ab8",
  button_color: "#2a7ab8",
  button_text_color: "#ffffff",
  secondary_bg_color: "#f1f4f6",
  header_bg_color: "#ffffff",
  bottom_bar_bg_color: "#ffffff",
  accent_text_color: "#2a7ab8",
  section_bg_color: "#ffffff",
  section_header_text_color: "#2a7ab8",
  section_separator_color: "#e6eaee",
  subtitle_text_color: "#8a96a3",
  destructive_text_color: "#d0453b",
};

const $ = (id) => document.getElementById(id);

export class WebAppFrame {
  constructor({ toast, askPopup, requestPhone }) {
    this.toast = toast;
    this.askPopup = askPopup;
    this.requestPhone = requestPhone;
    this.dialog = $("webapp-dialog");
    this.frame = $("webapp-frame");
    this.loading = $("webapp-loading");
    this.header = $("webapp-header");
    this.mainButton = $("webapp-main-button");
    this.backButton = $("webapp-back");
    this.closeButton = $("webapp-close");
    this.title = $("webapp-title");
    this.url = null;
    this.needCloseConfirmation = false;

    this.closeButton.addEventListener("click", () => this.requestClose());
    this.backButton.addEventListener("click", () => this.post("back_button_pressed"));
    $("webapp-reload").addEventListener("click", () => this.reload());
    this.mainButton.addEventListener("click", () => this.post("main_button_pressed"));
    this.dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      this.requestClose();
    });
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.requestClose();
    });
    this.frame.addEventListener("load", () => {
      if (this.url) this.loading.hidden = true;
    });
    window.addEventListener("message", (event) => this.onMessage(event));
    window.addEventListener("resize", () => this.isOpen && this.sendViewport());
  }

  get isOpen() {
    return this.dialog.open;
  }

  open(url, title) {
    this.resetChrome();
    this.url = url;
    this.title.textContent = title || t("mini_app");
    this.loading.hidden = false;
    this.frame.src = url;
    if (!this.dialog.open) this.dialog.showModal();
  }

  reload() {
    if (!this.url) return;
    this.resetChrome();
    this.loading.hidden = false;
    this.frame.src = "about:blank";
    requestAnimationFrame(() => {
      this.frame.src = this.url;
    });
  }

  async requestClose() {
    if (this.needCloseConfirmation) {
      const choice = await this.askPopup({
        message: t("close") + "?",
        buttons: [
          { id: "cancel", type: "cancel" },
          { id: "close", type: "destructive", text: t("close") },
        ],
      });
      if (choice !== "close") return;
    }
    this.close();
  }

  close() {
    this.url = null;
    this.frame.src = "about:blank";
    if (this.dialog.open) this.dialog.close();
  }

  resetChrome() {
    this.needCloseConfirmation = false;
    this.mainButton.hidden = true;
    this.backButton.hidden = true;
    this.closeButton.hidden = false;
    this.header.style.background = "";
    this.header.style.color = "";
    this.frame.style.background = "";
  }

  post(eventType, eventData = {}) {
    this.frame.contentWindow?.postMessage(JSON.stringify({ eventType, eventData }), "*");
  }

  sendViewport() {
    this.post("viewport_changed", {
      height: this.frame.clientHeight,
      width: this.frame.clientWidth,
      is_expanded: true,
      is_state_stable: true,
    });
  }

  onMessage(event) {
    if (!this.isOpen || event.source !== this.frame.contentWindow) return;
    let message = event.data;
    if (typeof message === "string") {
      try {
        message = JSON.parse(message);
      } catch {
        return;
      }
    }
    if (!message || typeof message.eventType !== "string") return;
    this.handle(message.eventType, message.eventData || {});
  }

  handle(type, data) {
    switch (type) {
      case "web_app_ready":
        this.loading.hidden = true;
        break;
      case "web_app_close":
        this.close();
        break;
      case "web_app_expand":
      case "web_app_request_viewport":
        this.sendViewport();
        break;
      case "web_app_request_theme":
        this.post("theme_changed", { theme_params: THEME });
        break;
      case "web_app_request_safe_area":
        this.post("safe_area_changed", { top: 0, bottom: 0, left: 0, right: 0 });
        break;
      case "web_app_request_content_safe_area":
        this.post("content_safe_area_changed", { top: 0, bottom: 0, left: 0, right: 0 });
        break;
      case "web_app_setup_main_button":
        this.setupMainButton(data);
        break;
      case "web_app_setup_back_button":
        this.backButton.hidden = !data.is_visible;
        this.closeButton.hidden = Boolean(data.is_visible);
        break;
      case "web_app_setup_closing_behavior":
        this.needCloseConfirmation = Boolean(data.need_confirmation);
        break;
      case "web_app_set_header_color":
        this.header.style.background = data.color || THEME[data.color_key] || "";
        break;
      case "web_app_set_background_color":
        this.frame.style.background = data.color || "";
        break;
      case "web_app_open_link": {
        const href = safeUrl(data.url);
        if (href) window.open(href, "_blank", "noopener");
        break;
      }
      case "web_app_open_popup":
        this.openPopup(data);
        break;
      case "web_app_request_phone":
        this.requestPhone().then((sent) => {
          this.post("phone_requested", { status: sent ? "sent" : "cancelled" });
        });
        break;
      case "web_app_invoke_custom_method":
        this.post("custom_method_invoked", { req_id: data.req_id, error: "UNSUPPORTED" });
        break;
      case "web_app_read_text_from_clipboard":
        this.post("clipboard_text_received", { req_id: data.req_id });
        break;
      case "web_app_open_scan_qr_popup":
        this.toast(t("scan_unsupported"));
        this.post("scan_qr_popup_closed");
        break;
      case "web_app_open_invoice":
        this.toast(t("not_supported"));
        this.post("invoice_closed", { slug: data.slug, status: "failed" });
        break;
      case "web_app_data_send":
        this.toast(t("send_data_unsupported"));
        break;
      case "web_app_open_tg_link":
      case "web_app_switch_inline_query":
        this.toast(t("not_supported"));
        break;
      default:
        break;
    }
  }

  setupMainButton(data) {
    const visible = Boolean(data.is_visible) && Boolean(data.text);
    this.mainButton.hidden = !visible;
    if (!visible) return;
    this.mainButton.textContent = data.text;
    this.mainButton.disabled = data.is_active === false;
    this.mainButton.classList.toggle("progress", Boolean(data.is_progress_visible));
    this.mainButton.style.background = data.color || "";
    this.mainButton.style.color = data.text_color || "";
    requestAnimationFrame(() => this.sendViewport());
  }

  async openPopup(data) {
    const buttonId = await this.askPopup({
      title: data.title,
      message: data.message,
      buttons: Array.isArray(data.buttons) && data.buttons.length ? data.buttons : [{ id: "", type: "ok" }],
    });
    this.post("popup_closed", buttonId === null ? {} : { button_id: buttonId });
  }
}
