"""Words for the support desk, the trainee card and applications."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape

from domain.desks import DeskTopic
from domain.enrolment import EnrolmentState
from domain.masking import mask_name
from domain.payment import OrderStatus, format_yuan
from domain.registry import Certificate, CertType, Track
from domain.support import Applicable, ApplicationKind, ApplicationStatus, Eligibility
from domain.timezone import CHINA
from infra.repositories.support import TraineeCard
from texts.common import item as list_item
from texts.desks import desks
from texts.desks import topic_name as desk_topic_name
from texts.enrolment import cert_type_name, masked_number, state_name
from texts.i18n import gettext as _

REASON_MAX = 1000


def _day(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def topic_title(card: TraineeCard, ticket: int) -> str:
    """A forum topic's title, for staff to tell trainees apart: the registry name (else the
    Telegram name), the certificate type and the ticket; never an ID number or phone."""
    who = card.name or card.first_name or _("Trainee")
    kind = cert_type_name(card.enrolments[0].cert_type) if card.enrolments else _("not enrolled")
    return f"{who} · {kind} · #{ticket}"[:128]


def staff_label() -> str:
    """Before a staff member's words in the trainee's chat; ends with its own spacing."""
    return _("Support: ")


def connected(track: Track | None, topic: DeskTopic) -> str:
    """The desk the person reaches: their track's, for what their case is most likely about."""
    return _(
        "💬 You are connected to the support desk. Write your question here, send photos or "
        "documents; staff answer in this chat. Your details are already with them. The "
        "centre's desk for {topic}: {desk}."
    ).format(topic=desk_topic_name(topic), desk=desks(track, topic))


def card(card: TraineeCard) -> str:
    lines = [
        _("<b>Trainee card</b> · ticket #{ticket} for chat {user}").format(
            ticket=card.ticket or "—", user=card.chat_user_id
        ),
        _("Name: {name} · ID: {id_number} · phone: {phone}").format(
            name=escape(card.name or card.first_name or "—"),
            id_number=card.id_number or _("not bound"),
            phone=card.phone or "—",
        ),
        _("Language: {locale} · desk: {desk} ({topic})").format(
            locale=language_name(card.locale),
            desk=desks(card.track, card.desk_topic),
            topic=desk_topic_name(card.desk_topic),
        ),
    ]
    if card.given_name or card.given_phone:
        lines.append(
            _("Not in the registry; they gave the name {name} and the phone {phone}").format(
                name=escape(card.given_name or "—"), phone=card.given_phone or "—"
            )
        )
    if card.enterprise:
        lines.append(_("Enterprise contact of {company}").format(company=escape(card.enterprise)))
    for item in card.enrolments:
        deadline = f" · {_day(item.study_deadline)}" if item.study_deadline else ""
        lines.append(
            list_item(
                f"{cert_type_name(item.cert_type)} {masked_number(item.number)}",
                f"{state_name(EnrolmentState(item.state))}{deadline}",
            )
        )
    for number, status, amount in card.orders:
        lines.append(
            _("Order {number}: {status}, ¥{amount}").format(
                number=number, status=order_status_name(status), amount=format_yuan(amount)
            )
        )
    for application_id, kind, status in card.applications:
        lines.append(
            _("Application #{id}: {kind}, {status}").format(
                id=application_id, kind=kind_name(kind), status=application_status_name(status)
            )
        )
    if card.recent_cases:
        lines.append(
            _("Recent checks that failed: {cases}").format(
                cases=", ".join(case_name(code) for code in card.recent_cases)
            )
        )
    return "\n".join(lines)


def language_name(locale: str | None) -> str:
    return {"en": _("English")}.get(locale or "", _("Chinese"))


def kind_name(kind: str) -> str:
    return {
        ApplicationKind.EXTENSION: _("extension"),
        ApplicationKind.MAKEUP: _("make-up exam"),
        ApplicationKind.RESTUDY: _("re-study"),
    }.get(ApplicationKind(kind), kind)


def application_status_name(status: str) -> str:
    return {
        ApplicationStatus.PENDING: _("waiting for a decision"),
        ApplicationStatus.APPROVED: _("approved"),
        ApplicationStatus.REJECTED: _("rejected"),
    }[ApplicationStatus(status)]


def order_status_name(status: str) -> str:
    return {
        OrderStatus.PENDING: _("waiting for payment"),
        OrderStatus.PAID: _("paid"),
        OrderStatus.EXPIRED: _("expired"),
        OrderStatus.CLOSED: _("closed"),
    }[OrderStatus(status)]


def case_name(code: str) -> str:
    """What a support case is about, for staff: never the internal code."""
    return {
        "enrolment_help": _("help with enrolling"),
        "contact_not_own": _("shared a contact that was not their own"),
        "person_not_found": _("ID number not in the registry"),
        "name_mismatch": _("name does not match the registry"),
        "phone_mismatch": _("phone differs from the registry's"),
        "person_bound_elsewhere": _("ID number already linked to another account"),
        "account_bound_elsewhere": _("account already linked to another person"),
        "enterprise_not_found": _("credit code not in the registry"),
        "enterprise_phone_mismatch": _("phone is not the enterprise contact's in the registry"),
        "rebind_request": _("asks to move their ID number to this account"),
        "category_correction": _("certificate category is wrong"),
        "not_bound": _("not yet identified"),
        "not_enterprise_contact": _("not an enterprise contact"),
        "certificate_not_found": _("certificate not found"),
        "certificate_void": _("certificate is void"),
        "certificate_busy": _("certificate is busy with another business"),
    }.get(code, _("a check that failed"))


def case_details(details: Mapping[str, object]) -> str:
    """The case's facts (already masked where personal), labelled in the staff's language."""
    labels = {
        "name": _("name given"),
        "id_number": _("ID"),
        "phone": _("phone"),
        "certificate": _("certificate"),
        "category": _("category"),
        "ticket": _("case"),
    }
    return " · ".join(
        f"{labels[key]} {escape(str(value))}"
        for key, value in details.items()
        if key in labels and value not in (None, "")
    )


def case_note(code: str, details: Mapping[str, object]) -> str:
    facts = case_details(details)
    case = case_name(code)
    if facts:
        case = _("{case} ({facts})").format(case=case, facts=facts)
    return _("The trainee asked for help after this check failed: {case}").format(case=case)


def category_case_note(number: str, category: str | None, allowed: str) -> str:
    """Posted in the trainee's topic with a wrong-category case: how staff correct it here."""
    return _(
        "Category to correct: certificate {number}, registered as {category}. Once you know "
        "the right one, send here: <code>/category {number} CATEGORY</code> (one of: "
        "{allowed}). The holder is told."
    ).format(number=escape(number), category=escape(category or _("none")), allowed=allowed)


def category_usage() -> str:
    return _(
        "Usage: <code>/category CERTIFICATE-NUMBER CATEGORY</code>, for example "
        "<code>/category 云建现0000003 装饰装修</code>."
    )


def category_refused(code: str, params: Mapping[str, object]) -> str:
    number = escape(str(params.get("number", "")))
    if code == "bad_category":
        return _("Not a category of certificate {number}. It takes one of: {allowed}.").format(
            number=number, allowed=params.get("allowed", "")
        )
    if code == "no_category":
        return _("Certificate {number} has no category: only 施工员 certificates do.").format(
            number=number
        )
    return _("No certificate {number} in the registry.").format(number=number)


def category_set(certificate: Certificate, old: str | None, told: bool) -> str:
    done = _("Category of certificate {number} ({holder}) set to {category} (was {old}).").format(
        number=escape(certificate.number),
        holder=escape(mask_name(certificate.holder_name)),
        category=escape(certificate.category or ""),
        old=escape(old or _("none")),
    )
    if told:
        return done + " " + _("The holder was told in their language.")
    return done + " " + _("The holder has no chat with us yet: nobody was told.")


def closed_for_trainee(note: str | None) -> str:
    base = _("Your support conversation was closed. Write again any time to reopen it.")
    return f"{escape(note)}\n\n{base}" if note else base


def banned_for_trainee() -> str:
    return _(
        "Messages to the support desk are paused for this account because of abuse. To "
        "appeal, call the continuing-education service desk, 0871-63122229."
    )


def unbanned_for_trainee() -> str:
    return _("You can write to the support desk again.")


def too_fast() -> str:
    return _(
        "You are sending many messages at once. Every one of them reaches staff, in order; "
        "with this many it can take a minute or two."
    )


def burst(texts: list[str]) -> str:
    """For staff: several plain messages sent in quick succession, joined into one message in
    the topic (the group takes 20 messages a minute)."""
    head = _("📨 {count} messages in a row:").format(count=len(texts))
    return "\n".join([head, *(f"• {escape(text)}" for text in texts)])


def edited_in_burst(text: str) -> str:
    return _("✏️ Edited: {text}").format(text=escape(text))


def not_copied() -> str:
    return _("⚠️ The trainee sent a message that cannot be shown here (Telegram refused a copy).")


def staff_done(action: str) -> str:
    return {
        "closed": _("Ticket closed; the trainee was told."),
        "banned": _("Trainee banned from the desk; they were told how to appeal."),
        "unbanned": _("Ban lifted."),
        "unknown_canned": _("No canned answer with that name. Known: {names}"),
        "not_a_topic": _("Use this inside a trainee's topic."),
    }[action]


def canned(name: str) -> str | None:
    return {
        "order": _(
            "An order is valid for 30 minutes. If it expired, tap 💳 Pay again: one tap makes a "
            "new QR code. Nothing was charged for the expired one."
        ),
        "invoice": _(
            "The invoice is issued 3 to 5 working days after payment and arrives in this chat as "
            "a file. No special browser is needed."
        ),
        "paid": _(
            "If money left your account but the order shows unpaid, do not pay again: we check "
            "with the payment service and apply it, usually within minutes."
        ),
        "browser": _(
            "Everything works in Telegram on your phone; there is nothing to install and no "
            "password. Outside Telegram, send /web for a sign-in link."
        ),
    }.get(name)


def open_tickets(rows: list[tuple[int, str, str]]) -> str:
    if not rows:
        return _("No open tickets.")
    lines = [_("<b>Open tickets, oldest first</b>")]
    lines += [f"• #{ticket} {escape(name)} · {since}" for ticket, name, since in rows]
    return "\n".join(lines)


def found(cards: list[TraineeCard]) -> str:
    rows = [
        _("{name}, ID {id_number}, phone {phone} (chat {user})").format(
            name=escape(card.name or card.first_name or "—"),
            id_number=card.id_number or "—",
            phone=card.phone or "—",
            user=card.chat_user_id,
        )
        for card in cards
    ]
    return _("Found: {rows}").format(rows="; ".join(rows)) if rows else _("Nobody found.")


def applications_intro() -> str:
    return _("<b>Extension and make-up applications</b> (free of charge)")


def eligibility_line(cert: str, kind: str, eligibility: Eligibility) -> str:
    if eligibility.allowed:
        return _("{cert}: you can apply now.").format(cert=cert)
    if eligibility.code == "extension_too_early" and eligibility.opens_at is not None:
        return _(
            "{cert}: an extension can be requested only after your 30 days end, from {date}."
        ).format(cert=cert, date=_day(eligibility.opens_at))
    if eligibility.code == "makeup_too_early":
        return _(
            "{cert}: a make-up exam opens after the 5th failed attempt; you have used {used} of 5."
        ).format(cert=cert, used=eligibility.attempts_used or 0)
    if eligibility.code == "restudy_too_early":
        return _(
            "{cert}: re-study is for after an extension or make-up was granted and the time or "
            "the attempts ran out again."
        ).format(cert=cert)
    if eligibility.code == "phone_desk":
        return _(
            "{cert}: for this certificate, extension, make-up exam and re-study are arranged "
            "by phone: {desk}."
        ).format(cert=cert, desk=eligibility.desk or "")
    if eligibility.code == "already_pending":
        return _("{cert}: your application is with staff; the decision comes here.").format(
            cert=cert
        )
    return _("{cert}: no application needed.").format(cert=cert)


def enrolment_label(holder: str, cert_type: CertType, number: str) -> str:
    """An enrolment as a trainee and staff tell it apart: holder, certificate type, masked
    number."""
    return f"{holder} · {cert_type_name(cert_type)} {masked_number(number)}"


def offer_label(offer: Applicable) -> str:
    return enrolment_label(offer.holder, offer.cert_type, offer.cert_number)


def applications_overview(offers: list[Applicable]) -> str:
    """Where each kind of application stands for each enrolment; one phone desk for every kind
    is said once."""
    lines = [applications_intro()]
    for offer in offers:
        for kind, eligibility in offer.eligibility:
            lines.append(eligibility_line(offer_label(offer), kind.value, eligibility))
            if eligibility.code == "phone_desk":
                break
    return "\n".join(lines)


def apply_for_one(kind: str, offer: Applicable) -> str:
    return f"📨 {apply_button(kind)}: {offer_label(offer)}"


def about_enrolment(holder: str, cert_type: CertType, number: str) -> str:
    return about_whom(enrolment_label(holder, cert_type, number))


def no_paid_enrolments() -> str:
    return _("Applications concern paid enrolments; you have none yet.")


def send_the_form(kind: str) -> str:
    what = kind_name(kind)
    return _(
        "Here is the {what} application form. Fill it in (in WPS or Word on your phone, or "
        "print it and take a photo) and send it back here as a file or photo."
    ).format(what=what)


def send_the_form_or_sign(kind: str) -> str:
    what = kind_name(kind)
    return _(
        "The {what} application takes a minute in the app: tap ✍️ Fill in and sign, check what "
        "is already filled in, write the reason and sign with your finger. If you prefer, fill "
        "in this form (in WPS or Word, or print it and take a photo) and send it back here as a "
        "file or photo."
    ).format(what=what)


def sign_in_app_button() -> str:
    return _("✍️ Fill in and sign")


def apply_for_all(kind: str, count: int) -> str:
    if kind == "extension":
        return _("📨 Apply for an extension for all {count} at once").format(count=count)
    if kind == "restudy":
        return _("📨 Apply to re-study for all {count} at once").format(count=count)
    return _("📨 Apply for a make-up exam for all {count} at once").format(count=count)


def application_received(application_id: int | str) -> str:
    return _(
        "Received: application #{id}. Staff decide and you are told here; there is nothing "
        "else to do."
    ).format(id=application_id)


def application_received_in_app(application_id: int) -> str:
    return _(
        "Received: application #{id}. Staff decide and tell you in the chat; there is nothing "
        "else to do. You can close this page."
    ).format(id=application_id)


def application_card(application_id: int, kind: str, cert: str) -> str:
    return _("📨 Application #{id}: {kind} for {cert}. Form attached.").format(
        id=application_id, kind=kind_name(kind), cert=cert
    )


def decision_for_trainee(
    kind: str, approved: bool, reason: str | None, deadline: str | None
) -> str:
    if approved and kind == "extension":
        return _("✅ Your extension was approved. New deadline: {deadline} (Beijing time).").format(
            deadline=deadline
        )
    if approved and kind == "restudy":
        return _(
            "✅ Your re-study was approved: study the lessons again from the start and take the "
            "exam by {deadline}. You have 5 new attempts."
        ).format(deadline=deadline)
    if approved:
        return _(
            "✅ Your make-up exam was approved: you have 5 new attempts. The exam is open until "
            "{deadline}."
        ).format(deadline=deadline)
    # Telegram takes 4096 characters a message: a reason longer than a page is cut.
    shown = reason if reason is None or len(reason) <= REASON_MAX else reason[:REASON_MAX] + "…"
    return _("Your application was not approved. Reason: {reason}").format(
        reason=escape(shown or "—")
    )


def about_whom(label: str) -> str:
    """Before a decision told to the enterprise contact who applied for an employee."""
    return _("About {who}:").format(who=escape(label))


def decided_by_other() -> str:
    return _("Someone already decided this application.")


def decided_by_you(approved: bool) -> str:
    if approved:
        return _("You already approved this application.")
    return _("You already rejected this application.")


def approve_button() -> str:
    return _("✅ Approve")


def reject_button() -> str:
    return _("❌ Reject")


def trainee_note(note: str) -> str:
    return _("The trainee wrote: {note}").format(note=note)


def decision_line(approved: bool, staff: str, when: str, reason: str | None) -> str:
    if approved:
        return _("✅ Approved by {staff} on {when} (Beijing time).").format(staff=staff, when=when)
    return _("❌ Rejected by {staff} on {when} (Beijing time): {reason}").format(
        staff=staff, when=when, reason=escape(reason or "")
    )


def ask_reject_reason() -> str:
    return _("Reply in this topic with the reason; the trainee will see it.")


def decision_recorded(approved: bool) -> str:
    return _("Approved.") if approved else _("Rejected; the trainee was told.")


def apply_button(kind: str) -> str:
    if kind == "restudy":
        return _("Apply to re-study")
    return _("Apply for an extension") if kind == "extension" else _("Apply for a make-up exam")


def send_the_form_again() -> str:
    return _("Please send the filled form as a file or a photo, or /cancel.")


def from_channel(channel: str) -> str:
    """Above a message from a person on another channel, posted as text in their topic (it
    cannot be copied there)."""
    name = _("WeChat") if channel == "wechat" else _("Telegram")
    return _("Via {channel}:").format(channel=name)


def answered_in_console(staff: str) -> str:
    """In the person's topic, above an answer a staff member gave in the console."""
    return _("Answered in the staff console by {staff}:").format(staff=staff)


def a_file() -> str:
    """What the desk's record shows for a photo or a file the person sent."""
    return _("[photo or file]")


def not_delivered_elsewhere(words: bool) -> str:
    """In a WeChat user's topic, when a staff member's answer did not reach them."""
    if not words:
        return _(
            "Not delivered: only words reach a WeChat user from here. Write your answer as text."
        )
    return _(
        "Not delivered: WeChat lets us write to a person only within 48 hours of their last "
        "message. The answer is kept in the staff console's conversation, marked as not "
        "delivered."
    )
