"""Self-help answers, written for this product (not the old manual's workarounds)."""

from __future__ import annotations

from datetime import date, datetime

from domain.registry import Track
from domain.selfhelp import DESK_TOPIC, Advice, HelpTopic, Suggestion
from domain.timezone import CHINA
from texts.desks import desk_line
from texts.i18n import gettext as _


def _when(moment: datetime | date | None) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return moment.isoformat() if moment else "—"


def for_you(suggestion: Suggestion) -> str:
    at = _when(suggestion.at)
    return {
        Advice.NOT_ENROLLED: _("You have not enrolled yet: tap 📝 Enrol to start (no password)."),
        Advice.PAY_NOW: _("Your enrolment waits for payment: tap 💳 Pay for a QR code."),
        Advice.ORDER_OPEN: _(
            "Your order is open until {time} (Beijing time): scan its QR code to pay."
        ).format(time=at),
        Advice.ORDER_EXPIRED: _(
            "Your order expired {minutes} minutes ago; nothing was charged. Tap below for a new "
            "QR code."
        ).format(minutes=suggestion.minutes),
        Advice.INVOICE_COMING: _(
            "Your invoice is expected by {date} and will arrive in this chat as a file."
        ).format(date=at),
        Advice.STUDY_DEADLINE: _("Finish lessons and the exam by {time} (Beijing time).").format(
            time=at
        ),
        Advice.OVERDUE: _(
            "Your 30-day study window has ended: you can apply for a free extension (/apply)."
        ),
    }[suggestion.advice]


def intro(lines: list[str]) -> str:
    head = [_("<b>Help</b>")]
    if lines:
        head += [_("For you right now:")] + [f"• {line}" for line in lines]
    head.append(_("Or choose a topic:"))
    return "\n".join(head)


def intro_for(found: list[Suggestion]) -> str:
    return intro([for_you(s) for s in found])


def topic_name(topic: HelpTopic) -> str:
    return {
        HelpTopic.COMMANDS: _("All commands"),
        HelpTopic.HOW: _("How it works"),
        HelpTopic.ORDER: _("Orders and paying"),
        HelpTopic.INVOICE: _("Invoices"),
        HelpTopic.DEVICE: _("Phone, browser, login"),
        HelpTopic.FACE: _("Face check tips"),
        HelpTopic.EXAM: _("Exam rules"),
        HelpTopic.DEADLINES: _("Deadlines"),
    }[topic]


def answer(topic: HelpTopic, track: Track | None = None) -> str:
    """The topic's answer, then the centre's desk for it (of the person's track if known)."""
    text = _answer(topic)
    if topic in DESK_TOPIC:
        text += "\n\n" + desk_line(track, DESK_TOPIC[topic])
    return text


def _answer(topic: HelpTopic) -> str:
    return {
        HelpTopic.HOW: _(
            "Everything happens in this chat, with no password and nothing to install: "
            "1) 📝 Enrol with your ID number (an enterprise contact: with the company's credit "
            "code, then tick the employees); 2) 💳 Pay by QR code (a company pays for all its "
            "employees in one order); 3) 📖 Study the lessons on the phone, with face checks; "
            "4) take the exam (5 attempts, 60 points pass); 5) the completion receipt arrives "
            "here. Each employee studies and sits the exam in their own Telegram."
        ),
        HelpTopic.ORDER: _(
            "An order lasts 30 minutes; we remind you 5 minutes before it expires. After that, "
            "one tap makes a new QR code; nothing is charged for an expired order. If money left "
            "your account but the order still shows unpaid, do not pay again: tap "
            "“I have paid: check”, we ask the payment service and apply it."
        ),
        HelpTopic.INVOICE: _(
            "The invoice is issued 3 to 5 working days after payment (weekends and public "
            "holidays do not count) and arrives in this chat as a file. Check or change the "
            "invoice details under 💳 Pay → 🧾 Invoice details before paying."
        ),
        HelpTopic.DEVICE: _(
            "Everything works in Telegram on any phone: nothing to install, no password, no "
            "special browser. To study on a computer, send /web for a personal sign-in link."
        ),
        HelpTopic.FACE: _(
            "For face checks: face the camera in good light, remove sunglasses and masks, keep "
            "your whole face in the frame, and hold the phone still. Your enrolment photo should "
            "be recent and clear. Progress is saved on the server as you go."
        ),
        HelpTopic.EXAM: _(
            "The exam opens when every lesson is at 100%. You have 5 attempts; 60 or more passes; "
            "every attempt's score is listed and the best counts. A dropped connection does not "
            "cost an attempt: reopen the page and continue until the timer ends."
        ),
        HelpTopic.DEADLINES: _(
            "Lessons and the exam must be finished within 30 days of payment; after that you can "
            "apply for a free extension. A certificate is renewed from 3 months before to 3 "
            "months after its expiry date, and is void 3 months after expiry without a pass."
        ),
    }.get(topic, "")


def how_to_pay() -> str:
    return _(
        "To pay: tap 💳 Pay, check the bill and confirm; a QR code arrives here. Scan it with "
        "WeChat or Alipay on another phone, or open its link on this one."
    )


def matched(topic: HelpTopic, track: Track | None = None) -> str:
    """The answer to a question typed in the chat, said as an answer to it."""
    lead = [how_to_pay()] if topic is HelpTopic.ORDER else []
    return "\n\n".join([_("This may answer your question:"), *lead, answer(topic, track)])


def unmatched(found: list[Suggestion]) -> str:
    """A question self-help cannot match: what fits the person's case, the topics, and the
    desk; never a shrug."""
    head = _("I cannot answer that question myself. The support desk can: tap below.")
    return head + "\n\n" + intro_for(found)


def still_stuck() -> str:
    return _("💬 Still stuck? Contact support")
