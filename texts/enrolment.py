"""Words for identity, enrolment and status. Codes from domain/ become sentences here."""

from __future__ import annotations

from collections import Counter
from html import escape

from domain.certrules import categories_for
from domain.enrolment import CertificateStanding, EnrolmentState, Status
from domain.masking import mask_id_number, mask_name
from domain.registry import Certificate, CertType, SiteRole, Track
from texts.common import item
from texts.i18n import gettext as _


def cert_type_name(cert_type: CertType) -> str:
    return {
        CertType.SPECIAL_OPS: _("Special operations"),
        CertType.SAFETY_A: _("Safety certificate A"),
        CertType.SAFETY_B: _("Safety certificate B"),
        CertType.SITE_PRO: _("On-site professional"),
        CertType.SAFETY_C: _("Safety certificate C"),
        CertType.TOWER_CRANE: _("Tower-crane driver"),
        CertType.RIGGER: _("Rigger / signaller"),
    }[cert_type]


def role_name(role: SiteRole) -> str:
    return {
        SiteRole.CONSTRUCTION: _("construction worker (施工员)"),
        SiteRole.QUALITY: _("quality inspector (质量员)"),
        SiteRole.SAFETY: _("safety officer (安全员)"),
        SiteRole.STANDARDS: _("standards officer (标准员)"),
        SiteRole.MATERIALS: _("materials officer (材料员)"),
        SiteRole.MACHINERY: _("machinery officer (机械员)"),
        SiteRole.LABOUR: _("labour officer (劳务员)"),
        SiteRole.RECORDS: _("records officer (资料员)"),
    }[role]


def type_and_role(cert_type: CertType, role: SiteRole | None) -> str:
    if role is None:
        return cert_type_name(cert_type)
    return _("{type}: {role}").format(type=cert_type_name(cert_type), role=role_name(role))


def certificate_kind(certificate: Certificate) -> str:
    """The type, and for an on-site professional the role and category: what the holder
    recognises as their certificate."""
    name = type_and_role(certificate.cert_type, certificate.role)
    if certificate.category:
        name = _("{kind} (category {category})").format(kind=name, category=certificate.category)
    return name


def state_name(state: EnrolmentState) -> str:
    return {
        EnrolmentState.ENROLLED: _("enrolled, awaiting payment"),
        EnrolmentState.AWAITING_PAYMENT: _("order open, awaiting payment"),
        EnrolmentState.STUDYING: _("studying"),
        EnrolmentState.EXAM: _("exam"),
        EnrolmentState.PASSED: _("passed"),
        EnrolmentState.OVERDUE: _("overdue"),
        EnrolmentState.CANCELLED: _("cancelled"),
    }[state]


def next_step(state: EnrolmentState) -> str:
    return {
        EnrolmentState.ENROLLED: _("Next: pay the fee (💳 Pay, or /pay)."),
        EnrolmentState.AWAITING_PAYMENT: _("Next: finish paying the open order."),
        EnrolmentState.STUDYING: _("Next: study the lessons (tap 📖 Study)."),
        EnrolmentState.EXAM: _("Next: take the exam."),
        EnrolmentState.PASSED: _("Done: you passed. Keep your completion receipt."),
        EnrolmentState.OVERDUE: _("The 30 days have ended: you can apply for an extension."),
        EnrolmentState.CANCELLED: _("This enrolment was cancelled."),
    }[state]


def desk(track: Track | None) -> str:
    if track is Track.T1:
        return _("Construction Management Division, 0871-64332710")
    if track is Track.T2:
        return _("Quality & Safety Division, 0871-64322249")
    return _(
        "Construction Management Division, 0871-64332710 (special operations, safety A/B, "
        "on-site professionals) or Quality & Safety Division, 0871-64322249 (safety C, "
        "tower-crane drivers, riggers/signallers)"
    )


def who_enrols() -> str:
    return _("Whom are you enrolling for continuing education?")


def ask_id_number() -> str:
    return _(
        "Please send your 18-character resident ID number.\n\n"
        "It is checked against the provincial registry and is never shown in full again."
    )


def ask_name() -> str:
    return _("Thank you. Now send your full name as it is on your ID card.")


def ask_phone() -> str:
    return _(
        "Last step: tap <b>📱 Share my phone number</b> below. Telegram confirms the number "
        "is yours, so no password is needed, now or ever."
    )


def ask_credit_code() -> str:
    return _(
        "Please send your company's 18-character unified social credit code "
        "(统一社会信用代码, also its taxpayer ID)."
    )


def ask_company_phone() -> str:
    return _(
        "Tap <b>📱 Share my phone number</b> below. It must be the contact phone registered for "
        "your company in the provincial registry."
    )


def use_the_phone_button() -> str:
    return _(
        "Please use the <b>📱 Share my phone number</b> button below: a typed number cannot "
        "prove that it is yours."
    )


def name_too_long() -> str:
    return _("That does not look like a name. Please send your full name (at most 32 characters).")


def identifier_problem(code: str, length: int | None = None) -> str:
    texts = {
        "id_length": _(
            "An ID number has 18 characters; you sent {length}. Please check and send it again."
        ).format(length=length),
        "id_format": _(
            "An ID number is 17 digits followed by a digit or X. Please check and send it again."
        ),
        "id_birth_date": _(
            "Characters 7 to 14 of an ID number are the birth date, and these do not form a "
            "valid date. Please check and send it again."
        ),
        "id_check": _(
            "The last character does not match the rest of the number: one character is "
            "probably mistyped. Please check and send it again."
        ),
        "credit_length": _(
            "A unified social credit code has 18 characters; you sent {length}. Please check "
            "and send it again."
        ).format(length=length),
        "credit_format": _(
            "A credit code uses digits and capital letters except I, O, S, V and Z. Please "
            "check and send it again."
        ),
        "credit_check": _(
            "The last character does not match the rest of the code: one character is probably "
            "mistyped. Please check and send it again."
        ),
    }
    return texts[code]


def refusal_heading() -> str:
    return _("❌ We could not confirm this.")


def identity_confirmed(name: str, id_number: str) -> str:
    return _("✅ Identity confirmed: {name}, ID {id_number}.").format(
        name=mask_name(name), id_number=mask_id_number(id_number)
    )


def company_confirmed(name: str) -> str:
    return _("✅ Confirmed: you are the registered contact of {company}.").format(company=name)


def refusal(code: str, *, ticket: int | None = None) -> str:
    texts = {
        "contact_not_own": _(
            "That is not your own contact. Please tap <b>📱 Share my phone number</b> to share "
            "your own number; forwarded or other people's contacts cannot confirm who you are."
        ),
        "person_not_found": _(
            "We could not find this ID number in the provincial registry of construction "
            "certificates. If you hold a certificate, the registry needs correcting: tap "
            "<b>Contact support</b> and we pass your case to the right desk."
        ),
        "name_mismatch": _(
            "The name does not match the registry record for this ID number. Check the spelling "
            "as on your ID card and try again, or tap <b>Contact support</b>."
        ),
        "phone_mismatch": _(
            "Your phone number is not the one the registry holds for this ID number, so we "
            "cannot confirm it is you. If your number changed, tap <b>Contact support</b>: "
            "staff update it after checking."
        ),
        "person_bound_elsewhere": _(
            "This ID number is already linked to another Telegram account. We never move it "
            "silently: your request went to staff as case #{ticket}, and they will contact you."
        ).format(ticket=ticket),
        "account_bound_elsewhere": _(
            "This Telegram account is already linked to another person. One account belongs to "
            "one person; tap <b>Contact support</b> if this is a mistake."
        ),
        "enterprise_not_found": _(
            "We could not find this credit code in the provincial registry. Tap "
            "<b>Contact support</b> and we pass your case to the right desk."
        ),
        "enterprise_phone_mismatch": _(
            "Your phone number is not the contact phone registered for this company. The "
            "registered contact can enrol employees; if the contact changed, tap "
            "<b>Contact support</b>."
        ),
        "certificate_not_found": _(
            "That certificate is not among yours in the registry. Tap <b>Contact support</b> "
            "if a certificate is missing."
        ),
        "certificate_busy": _(
            "This certificate is busy with another business in the supervision system (for "
            "example a transfer), so it cannot be enrolled now. Tap <b>Contact support</b> and "
            "the desk will tell you when it is free."
        ),
        "certificate_void": _(
            "This certificate is void, so continuing education cannot renew it. Tap "
            "<b>Contact support</b> to ask about a new certificate."
        ),
        "already_enrolled": _("This certificate is already enrolled; see 📋 My status."),
        "nothing_selected": _("Select at least one certificate first."),
        "not_bound": _("First confirm who you are: tap 📝 Enrol."),
        "not_enterprise_contact": _(
            "First confirm your company: tap 📝 Enrol, then 🏢 My company."
        ),
    }
    return texts.get(code, _("This cannot be done right now. Tap <b>Contact support</b>."))


def short_refusal(code: str) -> str:
    return {
        "certificate_busy": _("busy with another business"),
        "certificate_void": _("void"),
        "already_enrolled": _("already enrolled"),
        "certificate_not_found": _("not found"),
    }.get(code, code)


def support_recorded(ticket: int, track: Track | None) -> str:
    return _(
        "Recorded as case #{ticket} with everything we checked, and passed to the support desk: "
        "{desk}. Write your question here: staff answer in this chat."
    ).format(ticket=ticket, desk=desk(track))


def certificate_line(index: int, standing: CertificateStanding) -> str:
    certificate = standing.certificate
    parts = [
        f"{index}. <b>{certificate_kind(certificate)}</b>",
        _("No. {number}").format(number=masked_number(certificate.number)),
        _("valid until {date}").format(date=certificate.expires_on.isoformat()),
    ]
    if standing.enrolment is not None:
        parts.append("📌 " + state_name(standing.enrolment.state))
    elif standing.refusal:
        parts.append("⛔ " + short_refusal(standing.refusal))
    elif standing.due:
        parts.append("🔔 " + _("CE due now"))
    else:
        parts.append(_("CE due from {date}").format(date=standing.due_from.isoformat()))
    return " · ".join(parts)


def masked_number(number: str) -> str:
    """Enough for the holder to recognise it, not enough to copy it."""
    return number[:4] + "****" + number[-4:] if len(number) > 8 else number


def my_certificates(standings: list[CertificateStanding]) -> str:
    if not standings:
        return _(
            "The registry lists no certificates for you. If that is wrong, tap "
            "<b>Contact support</b>."
        )
    lines = [_("Your certificates in the registry:"), ""]
    lines += [certificate_line(i, s) for i, s in enumerate(standings, 1)]
    # Why a certificate cannot be ticked is said at once, not after tapping it; already
    # enrolled ones need no explaining (their state is on their line).
    blocked = [
        (i, s.refusal)
        for i, s in enumerate(standings, 1)
        if s.refusal and s.refusal != "already_enrolled"
    ]
    lines += [""] + [f"⛔ {i}. {refusal(code)}" for i, code in blocked]
    if any(s.enrollable for s in standings):
        lines += ["", _("Tick the certificates to enrol, then tap <b>Enrol selected</b>.")]
    elif blocked:
        lines += ["", _("None of your certificates can be enrolled now.")]
    else:  # every one is enrolled already (by its holder or by the company)
        lines += ["", _("Your certificates are enrolled already: see below what comes next.")]
    return "\n".join(line for n, line in enumerate(lines) if line or lines[n - 1])


def confirm_category(certificate: Certificate, holder: bool = False) -> str:
    """R-ENROL-4: asked of the holder, or of the enterprise contact for an employee."""
    number = masked_number(certificate.number)
    if certificate.category is None:
        return _(
            "The construction worker (施工员) certificate {number} of {name} has no category in "
            "the registry, though a 施工员 certificate is enrolled with one ({allowed}). Enrol "
            "it without a category?"
        ).format(
            number=number,
            name=escape(certificate.holder_name),
            allowed="、".join(categories_for(certificate.cert_type, certificate.role)),
        )
    if holder:
        return _(
            "{name}'s construction worker (施工员) certificate {number} is registered under "
            "the category <b>{category}</b>. Is that right?"
        ).format(name=escape(certificate.holder_name), number=number, category=certificate.category)
    return _(
        "Your construction worker (施工员) certificate {number} is registered under the "
        "category <b>{category}</b>. Is that right?"
    ).format(number=number, category=certificate.category)


def category_correction_recorded(ticket: int) -> str:
    return _(
        "Thank you. Staff will correct the category (case #{ticket}); we enrol that "
        "certificate once it is right. Your other selected certificates are enrolled as usual."
    ).format(ticket=ticket)


def category_corrected(certificate: Certificate, old: str | None) -> str:
    """Told to the holder when staff set the category (R-ENROL-4)."""
    return _(
        "Staff corrected the category of your certificate {number}: it is now "
        "<b>{category}</b> (was {old}). If it is not enrolled yet, you can enrol it now: tap "
        "📝 Enrol."
    ).format(
        number=masked_number(certificate.number),
        category=certificate.category,
        old=old or _("none"),
    )


def enrolment_result(
    enrolled: list[Certificate], refused: list[tuple[Certificate, str]], holder: bool
) -> str:
    lines: list[str] = []
    if enrolled:
        lines.append(
            _("✅ Enrolled for continuing education ({count}):").format(count=len(enrolled))
        )
        lines += [f"• {_line(c, holder)}" for c in enrolled]
    if refused:
        lines.append(_("⛔ Not enrolled ({count}):").format(count=len(refused)))
        lines += [item(_line(c, holder), short_refusal(code)) for c, code in refused]
    if enrolled:
        lines += ["", next_step(EnrolmentState.ENROLLED)]
    return "\n".join(lines)


def _line(certificate: Certificate, holder: bool) -> str:
    who = f"{escape(certificate.holder_name)} · " if holder else ""
    return f"{who}{certificate_kind(certificate)} {masked_number(certificate.number)}"


def roster(
    company: str, shown: int, total: int, selected: int, page: int, pages: int, query: str | None
) -> str:
    lines = [
        _("<b>{company}</b>: employees' certificates").format(company=company),
        _("Certificates due for continuing education are preselected; tap to tick or untick."),
        _("Selected: {selected} of {total}. Page {page} of {pages}.").format(
            selected=selected, total=total, page=page, pages=pages
        ),
    ]
    if query:
        lines.append(
            _("Search: “{query}” ({shown} found)").format(query=escape(query), shown=shown)
        )
    return "\n".join(lines)


def ask_search() -> str:
    return _("Send a name or part of a name to search the list.")


def status_not_bound() -> str:
    return _(
        "Nothing here yet: you have not enrolled. Tap 📝 Enrol to confirm who you are and "
        "choose your certificates."
    )


def status_lines(enrolment_lines: list[str]) -> str:
    return "\n".join([_("<b>Your continuing education</b>"), "", *enrolment_lines])


def status_line(certificate: Certificate, state: EnrolmentState) -> str:
    return _("{type} {number}: <b>{state}</b>\n   {next}").format(
        type=cert_type_name(certificate.cert_type),
        number=masked_number(certificate.number),
        state=state_name(state),
        next=next_step(state),
    )


def status_no_enrolments() -> str:
    return _("You have confirmed your identity but have not enrolled a certificate yet.")


def enterprise_status(company: str, counts: dict[EnrolmentState, int]) -> str:
    lines = [_("<b>{company}</b>: your employees' enrolments").format(company=company)]
    if not counts:
        lines.append(_("No employee is enrolled yet."))
    for state, count in counts.items():
        lines.append(item(state_name(state), count))
    return "\n".join(lines)


def cancelled() -> str:
    return _("Cancelled. Nothing was changed.")


def not_enrollable_alert(code: str) -> str:
    return refusal(code).replace("<b>", "").replace("</b>", "")


# ---- buttons ----


def myself_button() -> str:
    return _("👤 Myself")


def company_button() -> str:
    return _("🏢 My company's employees")


def share_phone_button() -> str:
    return _("📱 Share my phone number")


def cancel_button() -> str:
    return _("✖️ Cancel")


def try_again_button() -> str:
    return _("🔁 Try again")


def certificate_button(mark: str, index: int, certificate: Certificate) -> str:
    return f"{mark} {index}. {type_and_role(certificate.cert_type, certificate.role)}"


def employee_button(mark: str, standing: CertificateStanding) -> str:
    certificate = standing.certificate
    kind = type_and_role(certificate.cert_type, certificate.role)
    label = f"{mark} {certificate.holder_name} · {kind}"
    if standing.refusal:
        return f"{label} · {short_refusal(standing.refusal)}"
    if not standing.due:
        return f"{label} · " + _("not due")
    return label


def not_due_yet(standings: list[CertificateStanding]) -> str:
    lines = [
        _(
            "⚠️ Not due yet: continuing education done now does not count for the renewal of "
            "these certificates, so it would have to be done (and paid) again later:"
        ),
        "",
    ]
    lines += [
        "• "
        + _("{name} · {type}: due from {date}").format(
            name=escape(s.certificate.holder_name),
            type=cert_type_name(s.certificate.cert_type),
            date=s.due_from.isoformat(),
        )
        for s in standings
    ]
    return "\n".join(lines)


def leave_out_button() -> str:
    return _("Leave them out")


def enrol_anyway_button() -> str:
    return _("Enrol them anyway")


def enrol_selected(count: int) -> str:
    return _("✅ Enrol selected ({count})").format(count=count)


def category_right_button() -> str:
    return _("✅ Yes, it is right")


def category_wrong_button() -> str:
    return _("✏️ No, it is wrong")


def search_button() -> str:
    return _("🔍 Search by name")


def clear_search_button() -> str:
    return _("✖️ Clear search")


def all_due_button() -> str:
    return _("🔔 Select all due")


def none_button() -> str:
    return _("⬜ Select none")


def status(status: Status) -> str:
    if not status.bound:
        return status_not_bound()
    parts = []
    if status.person_enrolments:
        parts.append(
            status_lines([status_line(e.certificate, e.state) for e in status.person_enrolments])
        )
    elif status.enterprise is None:
        parts.append(status_no_enrolments())
    if status.enterprise is not None:
        counts = Counter(e.state for e in status.enterprise_enrolments)
        parts.append(enterprise_status(status.enterprise.name, dict(counts)))
    return "\n\n".join(parts)
