"""The centre's desks in words: who they are and their numbers (the numbers are data, in
domain/desks.py, so a new number changes one line)."""

from __future__ import annotations

from domain.desks import DESKS, DeskId, DeskTopic, desks_for
from domain.registry import Track
from texts.i18n import gettext as _


def desk_name(desk: DeskId) -> str:
    info = DESKS[desk]
    phone = info.phones[0]
    business, technical = (*info.extensions, "", "")[:2]
    return {
        DeskId.T1_RECORDS: _("Construction Management Division, {phone}").format(phone=phone),
        DeskId.T2_RECORDS: _("Quality & Safety Division, {phone}").format(phone=phone),
        DeskId.T1_SERVICE: _("continuing-education service desk, {phone} (QQ group {qq})").format(
            phone=phone, qq=info.qq_group
        ),
        DeskId.T2_STUDY: _(
            "study and exam desk for safety C, tower-crane drivers and riggers, {phone}"
        ).format(phone=phone),
        DeskId.T2_EXTENSION: _(
            "extension and make-up desk for safety C, tower-crane drivers and riggers, {phone}"
        ).format(phone=phone),
        DeskId.PAYMENT: _(
            "continuing-education payment desk, {phone} ext. {business} (questions about "
            "payment) or ext. {technical} (technical problems)"
        ).format(phone=phone, business=business, technical=technical),
    }[desk]


def topic_name(topic: DeskTopic) -> str:
    return {
        DeskTopic.ENROLMENT: _("enrolment and records"),
        DeskTopic.STUDY: _("study and face checks"),
        DeskTopic.EXAM: _("the exam"),
        DeskTopic.EXTENSION: _("extensions and make-up exams"),
        DeskTopic.PAYMENT: _("payment and invoices"),
        DeskTopic.RENEWAL: _("certificate renewal"),
    }[topic]


def desks(track: Track | None, topic: DeskTopic) -> str:
    names = [desk_name(desk) for desk in desks_for(track, topic)]
    return (
        names[0]
        if len(names) == 1
        else _("{first} or {second}").format(first=names[0], second=names[1])
    )


def desk_line(track: Track | None, topic: DeskTopic) -> str:
    """For the trainee, under an answer: the centre's desk for exactly this."""
    return _("The centre's desk for {topic}: {desks}.").format(
        topic=topic_name(topic), desks=desks(track, topic)
    )
