"""Words for reminders, muting and staff broadcasts.

Reminders are rows in the outbox with a `text_key` and `params`; they become sentences here at
send time, in the recipient's language of that moment, so "3 days left" is true when it arrives.
The bot (bot/reminder_messages.py) makes them Telegram messages, with their buttons.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from domain.certrules import rules_for
from domain.desks import DeskTopic
from domain.enrolment import EnrolmentState
from domain.registry import TRACKS, CertType, Track, renewal_window, void_date
from domain.reminders import (
    Audience,
    AudienceKind,
    BroadcastProgress,
    BroadcastStatus,
    ReminderKind,
)
from domain.timezone import CHINA, local_date
from texts.broadcasts import status_name
from texts.desks import desks
from texts.enrolment import cert_type_name, desk, masked_number, next_step, state_name
from texts.i18n import gettext as _

SUMMARY_LINES = 30


def _moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(CHINA)


def _certificate(params: dict[str, Any]) -> str:
    return f"{cert_type_name(CertType(params['cert_type']))} {masked_number(params['number'])}"


def _mute_hint() -> str:
    return _("Reminders like this one can be switched off with /mute.")


# ---- a trainee's own reminders -----------------------------------------------------------


def study_deadline(params: dict[str, Any], now: datetime) -> str:
    """R-STUDY-2, R-EXT-1: days left, what stage they are at, and on the last day how an
    extension works."""
    deadline = _moment(params["deadline"])
    days = (deadline.date() - local_date(now)).days
    values = {
        "certificate": _certificate(params),
        "deadline": deadline.strftime("%Y-%m-%d %H:%M"),
        "time": deadline.strftime("%H:%M"),
        "days": days,
    }
    if now >= deadline:
        return _(
            "⌛ The 30-day study window for your {certificate} closed at {deadline} (Beijing "
            "time). You can now apply for a free extension: open 📨 Applications in the menu."
        ).format(**values)
    state = EnrolmentState(params["state"])
    if days <= 0:
        lines = [
            _(
                "⚠️ Today is the last day for your {certificate}: the lessons and the exam must "
                "be finished by {time} today (Beijing time)."
            ).format(**values),
            _("Where you are: {stage}. {next}").format(
                stage=state_name(state), next=next_step(state)
            ),
            _(
                "If you cannot finish in time, you can apply for a free extension once the window "
                "has closed: open 📨 Applications in the menu."
            ),
        ]
    elif days == 1:
        lines = [
            _(
                "⏰ Tomorrow is the last day for your {certificate}: the lessons and the exam must "
                "be finished by {deadline} (Beijing time)."
            ).format(**values),
            _("Where you are: {stage}. {next}").format(
                stage=state_name(state), next=next_step(state)
            ),
        ]
    else:
        lines = [
            _(
                "⏰ {days} days left for your {certificate}: the lessons and the exam must be "
                "finished by {deadline} (Beijing time)."
            ).format(**values),
            _("Where you are: {stage}. {next}").format(
                stage=state_name(state), next=next_step(state)
            ),
            _mute_hint(),
        ]
    return "\n\n".join(lines)


def study_overdue(params: dict[str, Any]) -> str:
    """Once, when the window ended without a pass: the next step, as a button where the manual
    gives an online process (the bot adds it), as the desk's number where it gives a phone
    call."""
    values = {
        "certificate": _certificate(params),
        "deadline": _moment(params["deadline"]).strftime("%Y-%m-%d %H:%M"),
    }
    phone = rules_for(params["cert_type"]).applications_desk
    if phone:
        return _(
            "⌛ The study window for your {certificate} ended at {deadline} (Beijing time) "
            "without a pass. For this certificate, extension, make-up exam and re-study are "
            "arranged by phone: {phone}."
        ).format(**values, phone=phone)
    return _(
        "⌛ The study window for your {certificate} ended at {deadline} (Beijing time) "
        "without a pass. Your status is now overdue. Next step: apply for a free extension "
        "(or a make-up exam if your 5 attempts are used): tap 📨 Applications below."
    ).format(**values)


def cert_expiry(params: dict[str, Any], now: datetime, essential: bool) -> str:
    """R-CERT-1, R-CERT-2: the renewal window and the void date, while CE is not done."""
    expires_on = date.fromisoformat(params["expires_on"])
    window_from, window_to = renewal_window(expires_on)
    values = {
        "certificate": _certificate(params),
        "expires_on": expires_on.isoformat(),
        "window_from": window_from.isoformat(),
        "window_to": window_to.isoformat(),
        "void_on": void_date(expires_on).isoformat(),
    }
    today = local_date(now)
    step = str(params.get("step", ""))
    rules = rules_for(params["cert_type"])
    if not rules.renewal_window_stated:
        # The manual leaves renewal (and any void date) of this type to the exam centre.
        head = _(
            "📅 Your {certificate} expires on {expires_on} and its continuing education is not "
            "done yet. For renewal, follow the notices of the Yunnan construction examination "
            "centre (www.ynjspx.cn)."
        )
    elif step.startswith("v"):
        head = _(
            "⚠️ Your {certificate} becomes void on {void_on} unless you pass continuing "
            "education before then."
        )
    elif today >= expires_on and not rules.voids_after_three_months:
        head = _(
            "⚠️ Your {certificate} expired on {expires_on} and its continuing education is not "
            "done yet. Renewal is possible until {window_to}, after a pass."
        )
    elif today >= expires_on:
        head = _(
            "⚠️ Your {certificate} expired on {expires_on} and its continuing education is not "
            "done yet. Without it, the certificate becomes void on {void_on}."
        )
    elif step == "m-3" or today >= window_from:
        head = _(
            "📅 The renewal window for your {certificate} is open from {window_from} to "
            "{window_to} (it expires on {expires_on}). Renewal needs a continuing education "
            "pass first."
        )
    else:
        head = _(
            "📅 Your {certificate} expires on {expires_on} and its continuing education is not "
            "done yet. Renewal is possible from {window_from} to {window_to}, after a pass."
        )
    state = params.get("state")
    lines = [
        head.format(**values),
        next_step(EnrolmentState(state))
        if state
        else _("Enrol and study now: tap 📝 Enrol, or 📋 My status if you have enrolled already."),
    ]
    if not essential:
        lines.append(_mute_hint())
    return "\n\n".join(lines)


def cert_void(params: dict[str, Any]) -> str:
    expires_on = date.fromisoformat(params["expires_on"])
    track = TRACKS.get(CertType(params["cert_type"]))
    return _(
        "❌ Your {certificate} is void since {void_on}: it expired on {expires_on} and no "
        "continuing education was passed within three months. To find out what you can do now, "
        "contact the {desk}."
    ).format(
        certificate=_certificate(params),
        void_on=void_date(expires_on).isoformat(),
        expires_on=expires_on.isoformat(),
        desk=desk(track),
    )


# ---- an enterprise contact's daily summaries ------------------------------------------------


def _summary(heading: str, lines: list[str], footer: str) -> str:
    shown = lines[:SUMMARY_LINES]
    if len(lines) > SUMMARY_LINES:
        shown.append(
            _("…and {count} more: see 📋 My status.").format(count=len(lines) - SUMMARY_LINES)
        )
    return "\n".join([heading, "", *shown, "", footer])


def study_summary(params: dict[str, Any]) -> str:
    items = params["items"]
    lines = [
        _("• {name} · {certificate}: by {deadline} · {stage}").format(
            name=escape(item["name"]),
            certificate=_certificate(item),
            deadline=_moment(item["deadline"]).strftime("%Y-%m-%d %H:%M"),
            stage=state_name(EnrolmentState(item["state"])),
        )
        for item in items
    ]
    heading = _(
        "🏢 {company}: employees whose 30-day study window closes soon ({count}). Lessons and "
        "the exam must be finished by the time shown (Beijing time):"
    ).format(company=escape(params["enterprise"]), count=len(items))
    footer = _("After the window closes, each of them can apply for a free extension in this chat.")
    return _summary(heading, lines, footer)


def cert_summary(params: dict[str, Any]) -> str:
    items = params["items"]
    lines = [
        _("• {name} · {certificate}: expires on {expires_on}").format(
            name=escape(item["name"]), certificate=_certificate(item), expires_on=item["expires_on"]
        )
        + (f" · {state_name(EnrolmentState(item['state']))}" if item.get("state") else "")
        for item in items
    ]
    heading = _(
        "🏢 {company}: employee certificates due for renewal whose continuing education is not "
        "done yet ({count}):"
    ).format(company=escape(params["enterprise"]), count=len(items))
    if any(rules_for(item["cert_type"]).voids_after_three_months for item in items):
        footer = _(
            "Without a pass, a certificate becomes void three months after it expires. Enrol "
            "them: tap 📝 Enrol."
        )
    else:
        footer = _("Enrol them: tap 📝 Enrol.")
    return _summary(heading, lines, footer)


def void_summary(params: dict[str, Any]) -> str:
    items = params["items"]
    lines = [
        _("• {name} · {certificate}: expired on {expires_on}, void since {void_on}").format(
            name=escape(item["name"]),
            certificate=_certificate(item),
            expires_on=item["expires_on"],
            void_on=void_date(date.fromisoformat(item["expires_on"])).isoformat(),
        )
        for item in items
    ]
    heading = _(
        "🏢 {company}: employee certificates that became void because no continuing education "
        "was passed within three months of expiry ({count}):"
    ).format(company=escape(params["enterprise"]), count=len(items))
    return _summary(
        heading, lines, _("For what can be done now, contact the {desk}.").format(desk=desk(None))
    )


def staff_daily(params: dict[str, Any]) -> str:
    lines = [
        _(
            "📋 Daily summary {day}: {count} recipients could not be reached (they blocked the "
            "bot or deleted the chat); nothing more is sent to them until they write again."
        ).format(day=params["day"], count=params["count"])
    ]
    lines += [f"• {escape(person)}" for person in params["people"]]
    return "\n".join(lines)


def exam_attempts(params: dict[str, Any]) -> str:
    certificate = _certificate(params)
    if params["left"] <= 0:
        return _(
            "✍️ Your {certificate}: all exam attempts are used (best {best}). You can apply for "
            "a free make-up exam under 📨 Applications; approved, it gives 5 new attempts."
        ).format(certificate=certificate, best=params.get("best"))
    text = _(
        "✍️ Your {certificate}: your best exam score so far is {best}; 60 passes. You have "
        "{left} attempts left. Review the wrong answers on the exam page, then try again."
    ).format(certificate=certificate, best=params.get("best"), left=params["left"])
    if params.get("deadline"):
        text += "\n" + _(
            "The lessons and the exam must be finished by {deadline} (Beijing time)."
        ).format(deadline=_moment(params["deadline"]).strftime("%Y-%m-%d %H:%M"))
    return text + "\n" + _mute_hint()


def renewal(params: dict[str, Any], now: datetime) -> str:
    """R-CERT-1 after the pass: where, until when, with what, and the manual's pitfalls."""
    expires_on = date.fromisoformat(params["expires_on"])
    opens, closes = renewal_window(expires_on)
    values = {
        "certificate": _certificate(params),
        "opens": opens.isoformat(),
        "closes": (closes - timedelta(days=1)).isoformat(),
    }
    if params.get("for_contact"):
        head = _(
            "🪪 {name} passed continuing education for the {certificate}. The certificate is "
            "renewed only when the renewal (到期换证) is applied for in the Yunnan construction "
            "market supervision system (云南省建筑市场监管系统), from {opens} to {closes}, with "
            "the completion receipt (the employee has it in their chat)."
        ).format(name=escape(params.get("name") or ""), **values)
    else:
        head = _(
            "🪪 You passed continuing education for your {certificate}. Your certificate is "
            "renewed only when you apply for the renewal (到期换证) in the Yunnan construction "
            "market supervision system (云南省建筑市场监管系统), from {opens} to {closes}, with "
            "your completion receipt: tap below for it as a colour PDF and picture."
        ).format(**values)
    track = TRACKS.get(CertType(params["cert_type"]))
    lines = [
        head,
        _(
            "If the system will not take the receipt, upload it from 360 Secure Browser "
            "(360安全浏览器); send the colour receipt as it is, with its photo and QR code."
        ),
        _("If the system does not find the person to renew, call the {desk}.").format(
            desk=desks(track, DeskTopic.RENEWAL)
        ),
        _("Tap “I have applied” once it is done, and these reminders stop."),
    ]
    if (closes - local_date(now)).days <= 7:
        lines.insert(1, _("⚠️ The renewal window closes after {closes}.").format(**values))
    return "\n\n".join(lines)


def renewal_applied_button() -> str:
    return _("✅ I have applied for the renewal")


def renewal_applied() -> str:
    return _("Noted: you applied for the renewal. No more renewal reminders for this certificate.")


def render(payload: dict[str, Any], now: datetime, *, essential: bool = True) -> str:
    params: dict[str, Any] = payload.get("params", {})
    kind = ReminderKind(payload["text_key"])
    if kind is ReminderKind.STUDY_DEADLINE:
        return study_deadline(params, now)
    if kind is ReminderKind.CERT_EXPIRY:
        return cert_expiry(params, now, essential)
    if kind is ReminderKind.CERT_VOID:
        return cert_void(params)
    if kind is ReminderKind.STUDY_SUMMARY:
        return study_summary(params)
    if kind is ReminderKind.CERT_SUMMARY:
        return cert_summary(params)
    if kind is ReminderKind.VOID_SUMMARY:
        return void_summary(params)
    if kind is ReminderKind.STAFF_DAILY:
        return staff_daily(params)
    if kind is ReminderKind.EXAM_ATTEMPTS:
        return exam_attempts(params)
    if kind is ReminderKind.RENEWAL:
        return renewal(params, now)
    raise ValueError(f"no text for {kind}")


# ---- muting ---------------------------------------------------------------------------------


def muted() -> str:
    return _(
        "🔕 Reminders are muted. The deadline-critical ones still come: the last day before your "
        "study window closes, and your certificate's expiry and void dates, because missing those "
        "can cost you the certificate. Send /unmute to get every reminder again."
    )


def unmuted() -> str:
    return _(
        "🔔 Every reminder is on again: study deadlines and your certificate's renewal window. "
        "Send /mute to keep only the deadline-critical ones."
    )


# ---- staff broadcasts -----------------------------------------------------------------------


def ask_audience() -> str:
    return _("📣 New broadcast. Who should receive it?")


def audience_button(kind: AudienceKind) -> str:
    return {
        AudienceKind.ALL: _("👥 All trainees with a bound account"),
        AudienceKind.CERT_TYPE: _("🪪 One certificate type"),
        AudienceKind.TRACK: _("🗂 One track (T1 or T2)"),
        AudienceKind.ENTERPRISE: _("🏢 One enterprise"),
        AudienceKind.OVERDUE: _("⏰ Overdue trainees"),
    }[kind]


def track_button(track: Track) -> str:
    return {
        Track.T1: _("T1: special operations, safety A/B, on-site professionals"),
        Track.T2: _("T2: safety C, tower-crane drivers, riggers/signallers"),
    }[track]


def cancel_button() -> str:
    return _("✖️ Cancel")


def confirm_button() -> str:
    return _("✅ Send")


def ask_cert_type() -> str:
    return _("Which certificate type? Holders of it with a bound account receive the message.")


def ask_track() -> str:
    return _("Which track? Holders of its certificate types with a bound account receive it.")


def ask_credit_code() -> str:
    return _(
        "Send the enterprise's unified social credit code (18 characters). Its employees with a "
        "bound account and its registered contacts receive the message."
    )


def ask_content() -> str:
    return _(
        "Now send the message exactly as it should arrive: text, or one photo with a caption. "
        "Formatting is kept."
    )


def audience_name(audience: Audience) -> str:
    if audience.kind is AudienceKind.CERT_TYPE and audience.cert_type is not None:
        return _("holders of {type}").format(type=cert_type_name(audience.cert_type))
    if audience.kind is AudienceKind.TRACK and audience.track is not None:
        return _("holders of track {track} certificates").format(track=audience.track.value)
    if audience.kind is AudienceKind.ENTERPRISE:
        return _("the enterprise with credit code {code}").format(code=audience.credit_code)
    if audience.kind is AudienceKind.OVERDUE:
        return _("trainees whose study deadline passed without a pass")
    return _("all trainees with a bound account")


def preview(audience: Audience, recipients: int) -> str:
    return _(
        "☝️ This is how the message will look.\nAudience: {audience}.\nRecipients: {count}.\n"
        "Send it?"
    ).format(audience=audience_name(audience), count=recipients)


def composer_cancelled() -> str:
    return _("Broadcast cancelled. Nothing was sent.")


def refusal(code: str, params: dict[str, object] | None = None) -> str:
    params = params or {}
    texts = {
        "empty_message": _("The message is empty: send text, or a photo with a caption."),
        "message_too_long": _(
            "The text is too long for one Telegram message ({limit} characters at most). Shorten "
            "it and send it again."
        ),
        "caption_too_long": _(
            "A photo caption can have at most {limit} characters. Shorten it, or send the text "
            "without the photo."
        ),
        "bad_credit_code": _(
            "That is not a valid unified social credit code. Send the 18-character code again."
        ),
        "unknown_enterprise": _(
            "No enterprise with that credit code is in the registry. Check it and send it again."
        ),
        "no_recipients": _(
            "Nobody in this audience has a bound account, so nothing can be sent. Start again "
            "with /broadcast and choose another audience."
        ),
        "broadcast_not_found": _("This broadcast no longer exists."),
        "broadcast_finished": _("This broadcast has already finished."),
    }
    text = texts.get(code, _("The broadcast could not be started."))
    return "❌ " + text.format(limit=params.get("limit", ""))


def progress(progress: BroadcastProgress, quiet_until: str | None) -> str:
    lines = [
        _("📣 Broadcast #{id}: {status}").format(
            id=progress.id, status=status_name(progress.status)
        ),
        _(
            "Sent: {sent} · failed: {failed} · blocked the bot: {blocked} · skipped: {skipped} · "
            "remaining: {remaining}"
        ).format(
            sent=progress.sent,
            failed=progress.failed,
            blocked=progress.blocked,
            skipped=progress.dropped,
            remaining=progress.remaining,
        ),
    ]
    if progress.status is BroadcastStatus.RUNNING:
        lines.append(_("Rate: {rate} messages a second").format(rate=f"{progress.per_second:.1f}"))
        if quiet_until is not None and progress.remaining:
            lines.append(
                _("Quiet hours: sending continues at {time} (Beijing time).").format(
                    time=quiet_until
                )
            )
    return "\n".join(lines)


def pause_button() -> str:
    return _("⏸ Pause")


def resume_button() -> str:
    return _("▶️ Resume")


def stop_button() -> str:
    return _("⏹ Cancel the broadcast")


def control_done(status: BroadcastStatus) -> str:
    return {
        BroadcastStatus.PAUSED: _("Paused. Nothing more is sent until you resume."),
        BroadcastStatus.RUNNING: _("Resumed."),
        BroadcastStatus.CANCELLED: _("Cancelled. What was sent stays sent; nothing more goes out."),
    }.get(status, status_name(status))
