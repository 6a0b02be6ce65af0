"""The centre's desks, from the manual: which number answers what, for which track.

The manual (seed/continuing-education-manual.zh.txt) gives each problem its own number; one
desk for everything sends trainees to people who cannot help. Lines cited are the manual's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.enrolment import EnrolmentState
from domain.registry import Track


class DeskTopic(StrEnum):
    """What a case is about, in the manual's sections."""

    ENROLMENT = "enrolment"  # enrolling, registry records, certificate category
    STUDY = "study"  # study client, login, face recognition, progress
    EXAM = "exam"  # the exam and its receipt
    EXTENSION = "extension"  # extension and make-up applications
    PAYMENT = "payment"  # paying, orders, invoices
    RENEWAL = "renewal"  # 到期换证 after the pass


class DeskId(StrEnum):
    T1_RECORDS = "t1_records"
    T2_RECORDS = "t2_records"
    T1_SERVICE = "t1_service"
    T2_STUDY = "t2_study"
    T2_EXTENSION = "t2_extension"
    PAYMENT = "payment"


@dataclass(frozen=True, slots=True)
class DeskInfo:
    phones: tuple[str, ...]
    qq_group: str | None
    manual_lines: tuple[int, ...]
    extensions: tuple[str, ...] = ()  # business first, then technical


DESKS: dict[DeskId, DeskInfo] = {
    # 建管处: certificate missing or busy, person not found, 施工员 category (lines 16, 25, 26).
    DeskId.T1_RECORDS: DeskInfo(("0871-64332710",), None, (16, 25, 26)),
    # 质安处: enrolment and records of C证, tower-crane drivers, riggers (lines 11, 28).
    DeskId.T2_RECORDS: DeskInfo(("0871-64322249",), None, (11, 28)),
    # 继续教育客服: client, login, face, progress, exam, extension upload, renewal lookup
    # (lines 88, 89, 93, 98, 102, 119, 139); its QQ group is named with the face problems (93).
    DeskId.T1_SERVICE: DeskInfo(("0871-63122229",), "779033763", (88, 89, 93, 98, 102, 119, 139)),
    # T2 login, study and exam (lines 90, 94).
    DeskId.T2_STUDY: DeskInfo(("0871-65651496",), None, (90, 94)),
    # T2 extension and make-up (line 121).
    DeskId.T2_EXTENSION: DeskInfo(("0871-65631360",), None, (121,)),
    # 缴费客服, both tracks: business ext. 8010, technical ext. 8026 (lines 37, 74, 75).
    DeskId.PAYMENT: DeskInfo(("0871-64109371",), None, (37, 74, 75), ("8010", "8026")),
}

ROUTES: dict[tuple[Track, DeskTopic], DeskId] = {
    (Track.T1, DeskTopic.ENROLMENT): DeskId.T1_RECORDS,
    (Track.T2, DeskTopic.ENROLMENT): DeskId.T2_RECORDS,
    (Track.T1, DeskTopic.STUDY): DeskId.T1_SERVICE,
    (Track.T2, DeskTopic.STUDY): DeskId.T2_STUDY,
    (Track.T1, DeskTopic.EXAM): DeskId.T1_SERVICE,
    (Track.T2, DeskTopic.EXAM): DeskId.T2_STUDY,  # "登录学习、考试过程中有任何问题" (line 94)
    (Track.T1, DeskTopic.EXTENSION): DeskId.T1_SERVICE,
    (Track.T2, DeskTopic.EXTENSION): DeskId.T2_EXTENSION,
    (Track.T1, DeskTopic.PAYMENT): DeskId.PAYMENT,
    (Track.T2, DeskTopic.PAYMENT): DeskId.PAYMENT,
    # Person not found for renewal (line 139); T2 renewal is by the centre's notices (line 142),
    # so its records desk is the nearest.
    (Track.T1, DeskTopic.RENEWAL): DeskId.T1_SERVICE,
    (Track.T2, DeskTopic.RENEWAL): DeskId.T2_RECORDS,
}


def desks_for(track: Track | None, topic: DeskTopic) -> tuple[DeskId, ...]:
    """The desk of a track and topic; with the track unknown, each track's (once each)."""
    tracks = (track,) if track is not None else tuple(Track)
    return tuple(dict.fromkeys(ROUTES[(t, topic)] for t in tracks))


def group_for(desk: DeskId, groups: dict[DeskId, int], default: int | None) -> int | None:
    """The staff group a desk's cases go to: its own if the deployment has one, else the
    default group."""
    return groups.get(desk, default)


STAGE_TOPIC: dict[EnrolmentState, DeskTopic] = {
    EnrolmentState.ENROLLED: DeskTopic.PAYMENT,
    EnrolmentState.AWAITING_PAYMENT: DeskTopic.PAYMENT,
    EnrolmentState.STUDYING: DeskTopic.STUDY,
    EnrolmentState.EXAM: DeskTopic.EXAM,
    EnrolmentState.OVERDUE: DeskTopic.EXTENSION,
    EnrolmentState.PASSED: DeskTopic.RENEWAL,
    EnrolmentState.CANCELLED: DeskTopic.ENROLMENT,
}


def topic_of_stage(state: EnrolmentState | None) -> DeskTopic:
    """What a trainee who writes to support is most likely stuck on: the stage of their
    latest enrolment (not enrolled yet: enrolment)."""
    return STAGE_TOPIC[state] if state is not None else DeskTopic.ENROLMENT
