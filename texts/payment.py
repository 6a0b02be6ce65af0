"""Words for paying and invoices."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from html import escape

from domain.checkout import Bill, DueItem, InvoiceDetails, Order, by_type, ticked
from domain.enrolment import Channel
from domain.payment import Outcome, format_yuan
from domain.timezone import CHINA
from texts.enrolment import cert_type_name, masked_number
from texts.i18n import gettext as _


def _when(order: Order) -> str:
    return order.expires_at.astimezone(CHINA).strftime("%H:%M")


def never_passwords() -> str:
    return _("🔒 We never ask for bank card numbers, passwords or any “upgrade”.")


def item_label(item: DueItem, holder: bool) -> str:
    """Who and which certificate; the certificate number masked, as everywhere in the chat."""
    who = f"{escape(item.certificate.holder_name)} · " if holder else ""
    return (
        f"{who}{cert_type_name(item.certificate.cert_type)} "
        f"{masked_number(item.certificate.number)}"
    )


def bill(bill: Bill, unticked: Collection[int] = (), shown: Collection[int] | None = None) -> str:
    """The pick list: per certificate type, ☑️ for whom this payment is, ⬜ for whom not now.
    `shown` is the page's items; a long list names only those, and counts the rest."""
    holder = bill.enterprise is not None
    picked = ticked(bill.items, unticked)
    lines = [_("<b>To pay</b>")]
    if bill.enterprise is not None:
        lines.append(
            _("For the employees of {company}.").format(company=escape(bill.enterprise.name))
        )
    else:
        lines.append(_("For your own enrolment."))
    for cert_type, items in by_type(bill.items):
        on = sum(1 for item in items if item.enrolment_id not in unticked)
        lines.append("")
        lines.append(
            _("<b>{type}</b>: {ticked} of {count} ticked").format(
                type=cert_type_name(cert_type), ticked=on, count=len(items)
            )
        )
        for item in items:
            if shown is not None and item.enrolment_id not in shown:
                continue
            mark = "⬜" if item.enrolment_id in unticked else "☑️"
            line = _("{item}: ¥{fee}").format(
                item=item_label(item, holder), fee=format_yuan(item.fee_fen)
            )
            lines.append(f"{mark} {line}")
    lines.append("")
    lines.append(_("Untick whom not to pay for now; 🗑 removes an enrolment made by mistake."))
    lines.append(
        _("<b>Total: ¥{total}</b>").format(total=format_yuan(sum(i.fee_fen for i in picked)))
    )
    lines.append("")
    lines.append(invoice(bill.invoice))
    lines.append("")
    lines.append(never_passwords())
    return "\n".join(lines)


def who_pays(company: str) -> str:
    return _(
        "You can pay for your own enrolment or for the employees of {company}. Which one now?"
    ).format(company=escape(company))


def my_own_button() -> str:
    return _("👤 My own enrolment")


def my_company_button() -> str:
    return _("🏢 My company's employees' enrolments")


def switch_button(channel: Channel) -> str:
    if channel is Channel.ENTERPRISE:
        return _("🏢 Pay for my company instead")
    return _("👤 Pay my own instead")


def tick_button(item: DueItem, holder: bool, ticked: bool) -> str:
    return f"{'☑️' if ticked else '⬜'} {item_label(item, holder)}"


def confirm_and_pay_button() -> str:
    return _("✅ Confirm and pay")


def invoice_details_button() -> str:
    return _("🧾 Invoice details")


def skip_button() -> str:
    return _("Skip")


def open_payment_page_button() -> str:
    return _("💳 Open the payment page")


def check_paid_button() -> str:
    return _("🔄 I have paid: check")


def start_studying_button() -> str:
    return _("📖 Start studying")


def tick_all_button() -> str:
    return _("☑️ Tick all")


def tick_none_button() -> str:
    return _("⬜ Untick all")


def confirm_remove(item: DueItem, holder: bool) -> str:
    return _(
        "Remove the enrolment of {who}? It will not be paid for, and it can be enrolled again "
        "later with 📝 Enrol."
    ).format(who=item_label(item, holder))


def remove_yes_button() -> str:
    return _("🗑 Yes, remove it")


def keep_button() -> str:
    return _("↩️ No, keep it")


def removed(item: DueItem, holder: bool) -> str:
    return _("Removed the enrolment of {who}. Nothing was charged for it.").format(
        who=item_label(item, holder)
    )


def kept() -> str:
    return _("Nothing was removed.")


def pick_changed() -> str:
    return _(
        "The list changed since it was shown (a payment, an order or a removal). Nothing was "
        "ordered: check the list below and confirm again."
    )


def invoice(details: InvoiceDetails | None) -> str:
    if details is None:
        return _("Invoice details: not given yet. Tap 🧾 Invoice details first.")
    return _("Invoice: {title}; taxpayer ID: {taxpayer}; email: {email}").format(
        title=escape(details.title),
        taxpayer=escape(details.taxpayer_id or "—"),
        email=escape(details.email or "—"),
    )


def nothing_to_pay() -> str:
    return _(
        "Nothing is waiting for payment. Enrol a certificate first (📝 Enrol), or see 📋 My status."
    )


def ask_title(suggestion: str) -> str:
    return _(
        "Invoice title: send the name the invoice should carry (a person's name or the "
        "company's full name), or tap the suggestion: {suggestion}"
    ).format(suggestion=escape(suggestion))


def ask_taxpayer() -> str:
    return _("Taxpayer ID (the 18-character credit code) for a company invoice, or tap Skip.")


def ask_email() -> str:
    return _("Email address for the electronic invoice, or tap Skip.")


def ask_credit_code_again() -> str:
    return _(
        "To confirm the payment, type your company's unified social credit code again, as the "
        "payment rules require."
    )


def order_caption(order: Order, pay_apps: tuple[str, ...] = ("wechatpay",)) -> str:
    if "alipay" in pay_apps and len(pay_apps) > 1:
        how = _(
            "Scan this QR code with WeChat or Alipay, or tap the button below, and pay before "
            "{time} (Beijing time). After that the order expires and you get a new one with one "
            "tap."
        )
    elif "alipay" in pay_apps:
        how = _(
            "Scan this QR code with Alipay, or tap the button below, and pay before {time} "
            "(Beijing time). After that the order expires and you get a new one with one tap."
        )
    else:
        how = _(
            "Scan this QR code with WeChat, or tap the button below, and pay before {time} "
            "(Beijing time). After that the order expires and you get a new one with one tap."
        )
    return "\n".join(
        [
            _("<b>Order {number}</b>").format(number=order.number),
            _("Amount: ¥{amount}").format(amount=format_yuan(order.amount_fen)),
            how.format(time=_when(order)),
            never_passwords(),
        ]
    )


def paid(
    number: str,
    amount_fen: int,
    deadline: str,
    invoice_due: str | None,
    *,
    found_by_reconciliation: bool,
    for_employees: bool = False,
) -> str:
    lines = [
        _("✅ Payment of ¥{amount} received for order {number}.").format(
            amount=format_yuan(amount_fen), number=number
        )
    ]
    if found_by_reconciliation:
        lines.append(_("We found your payment with the payment service: no need to pay again."))
    if for_employees:
        lines.append(
            _(
                "Each employee studies and takes the exam on their own phone by {deadline} "
                "(Beijing time, 30 days): ask them to open this bot in Telegram and tap 📝 Enrol "
                "→ 👤 Myself (their ID number and phone confirm them), then 📖 Study."
            ).format(deadline=deadline)
        )
        lines.append(_("The invoice is expected by {date}.").format(date=invoice_due or "—"))
        return "\n".join(lines)
    lines.append(
        _(
            "Study and take the exam by {deadline} (Beijing time, 30 days). The invoice is "
            "expected by {date}."
        ).format(deadline=deadline, date=invoice_due or "—")
    )
    return "\n".join(lines)


def already_paid() -> str:
    return _("✅ This order is paid.")


def not_paid_yet(order: Order) -> str:
    return _(
        "We have not received the payment for order {number} yet, and the payment service has "
        "no payment either. If money left your account, do not pay again: tap "
        "💬 Contact support."
    ).format(number=order.number)


def expiring(number: str, expires_at: datetime) -> str:
    return _(
        "⏳ Order {number} expires at {time} (Beijing time). Pay now with the QR code above."
    ).format(number=number, time=expires_at.astimezone(CHINA).strftime("%H:%M"))


def expired(number: str) -> str:
    return _(
        "Order {number} expired after 30 minutes; nothing was charged. Tap below for a new QR code."
    ).format(number=number)


def failed(number: str) -> str:
    return _(
        "❌ The payment for order {number} did not go through and the order is closed; nothing "
        "was charged. Tap below for a new QR code and pay again."
    ).format(number=number)


def for_staff(number: str, outcome: Outcome) -> str:
    if outcome is Outcome.DOUBLE_CHARGE:
        return _("⚠️ Order {number} was paid a second time. Refund the second payment.").format(
            number=number
        )
    return _(
        "⚠️ Order {number}: the payment's amount or currency does not match; it was not "
        "applied. Please check."
    ).format(number=number)


def invoice_ready(number: str) -> str:
    return _("🧾 Your invoice for order {number}.").format(number=number)


def invoice_attached(number: str) -> str:
    return _("Invoice attached to order {number} and sent to the payer.").format(number=number)


def overdue_invoices(numbers: list[str]) -> str:
    if not numbers:
        return _("No invoice is overdue.")
    return _("Invoices overdue (reply with the PDF and /invoice ORDER): {orders}").format(
        orders=", ".join(numbers)
    )


def refusal(code: str) -> str:
    return {
        "not_bound": _("First confirm who you are: tap 📝 Enrol."),
        "nothing_to_pay": nothing_to_pay(),
        "credit_code_mismatch": _(
            "That is not your company's credit code. Nothing was ordered; try again."
        ),
        "invoice_title_missing": _("Please give the invoice details first."),
        "bad_taxpayer_id": _("That taxpayer ID is not a valid 18-character credit code."),
        "bad_email": _("That email address does not look right."),
        "order_not_found": _("That order does not exist."),
        "order_not_pending": _("That order is not paid, so it cannot have an invoice yet."),
        "nothing_selected": _("Nobody is ticked. Tick whom to pay for, then confirm."),
        "selection_changed": pick_changed(),
        "cannot_remove": _(
            "That enrolment cannot be removed here: it is paid, in an open order, or not one "
            "of yours."
        ),
    }.get(code, _("This cannot be done right now."))


def new_qr() -> str:
    return _("🔁 New QR code")


# ---- the words printed under the payment QR code (the chat message says the rest) ----


def qr_amount(amount_fen: int) -> str:
    return _("Amount ¥{amount}").format(amount=format_yuan(amount_fen))


def qr_deadline(expires_at: datetime) -> str:
    return _("Pay before {time} (Beijing time)").format(
        time=expires_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    )
