from __future__ import annotations

from domain.registry import TRACKS, CertType
from domain.selfhelp import Situation
from infra.db import models


async def situation_of(chat_user_id: int) -> Situation:
    binding = await models.Binding.get_or_none(chat_user_id=chat_user_id)
    contact = await models.EnterpriseContact.get_or_none(chat_user_id=chat_user_id)
    if binding is None and contact is None:
        return Situation(False, 0, None, None, None, None, False)
    enrolments = (
        await models.Enrolment.filter(certificate__person_id=binding.person_id)
        .select_related("certificate")
        .order_by("-created_at")
        if binding
        else []
    )
    certificates = (
        await models.Certificate.filter(person_id=binding.person_id).order_by("-expires_on")
        if binding and not enrolments
        else []
    )
    kinds = [e.certificate.cert_type for e in enrolments] or [c.cert_type for c in certificates]
    orders = await models.Order.filter(payer_chat_user_id=chat_user_id).order_by("-created_at")
    open_order = next((o for o in orders if o.status == "pending"), None)
    expired = next((o for o in orders if o.status == "expired"), None)
    invoice_wait = next(
        (o for o in orders if o.status == "paid" and o.invoice_file_id is None), None
    )
    deadlines = [e.study_deadline for e in enrolments if e.state == "studying" and e.study_deadline]
    return Situation(
        bound=True,
        awaiting_payment=sum(e.state == "enrolled" for e in enrolments)
        + (
            await models.Enrolment.filter(
                enterprise_id=contact.enterprise_id, state="enrolled"
            ).count()
            if contact
            else 0
        ),
        open_order_expires_at=open_order.expires_at if open_order else None,
        last_expired_order_at=expired.expires_at if expired else None,
        invoice_due_on=invoice_wait.invoice_due_on if invoice_wait else None,
        study_deadline=min(deadlines) if deadlines else None,
        overdue=any(e.state == "overdue" for e in enrolments),
        track=TRACKS[CertType(kinds[0])] if kinds else None,
    )
