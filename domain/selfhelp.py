"""Self-help chosen from the trainee's situation, before any wall of text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.desks import DeskTopic
from domain.registry import Track

RECENT_EXPIRY = timedelta(hours=24)


class HelpTopic(StrEnum):
    COMMANDS = "cmd"
    HOW = "how"
    ORDER = "order"
    INVOICE = "invoice"
    DEVICE = "device"
    FACE = "face"
    EXAM = "exam"
    DEADLINES = "deadlines"


# The centre's desk for what a topic is about (the manual's own sections).
DESK_TOPIC: dict[HelpTopic, DeskTopic] = {
    HelpTopic.HOW: DeskTopic.ENROLMENT,
    HelpTopic.ORDER: DeskTopic.PAYMENT,
    HelpTopic.INVOICE: DeskTopic.PAYMENT,
    HelpTopic.DEVICE: DeskTopic.STUDY,
    HelpTopic.FACE: DeskTopic.STUDY,
    HelpTopic.EXAM: DeskTopic.EXAM,
    HelpTopic.DEADLINES: DeskTopic.EXTENSION,
}


class Advice(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    PAY_NOW = "pay_now"
    ORDER_OPEN = "order_open"
    ORDER_EXPIRED = "order_expired"
    INVOICE_COMING = "invoice_coming"
    STUDY_DEADLINE = "study_deadline"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Situation:
    bound: bool
    awaiting_payment: int  # enrolments enrolled but not yet ordered
    open_order_expires_at: datetime | None
    last_expired_order_at: datetime | None
    invoice_due_on: date | None  # a paid order still waiting for its invoice
    study_deadline: datetime | None  # the nearest open study window
    overdue: bool
    track: Track | None = None  # of the latest enrolment, else of the person's certificates


@dataclass(frozen=True, slots=True)
class Suggestion:
    advice: Advice
    at: datetime | date | None = None
    minutes: int | None = None


def suggestions(situation: Situation, now: datetime) -> list[Suggestion]:
    """Most urgent first: what the trainee can do about their own case right now."""
    found: list[Suggestion] = []
    if not situation.bound:
        return [Suggestion(Advice.NOT_ENROLLED)]
    if situation.overdue:
        found.append(Suggestion(Advice.OVERDUE))
    if situation.open_order_expires_at is not None and situation.open_order_expires_at > now:
        found.append(Suggestion(Advice.ORDER_OPEN, at=situation.open_order_expires_at))
    elif (
        situation.last_expired_order_at is not None
        and now - situation.last_expired_order_at <= RECENT_EXPIRY
        and situation.awaiting_payment
    ):
        minutes = int((now - situation.last_expired_order_at).total_seconds() // 60)
        found.append(Suggestion(Advice.ORDER_EXPIRED, minutes=minutes))
    elif situation.awaiting_payment:
        found.append(Suggestion(Advice.PAY_NOW))
    if situation.study_deadline is not None and situation.study_deadline > now:
        found.append(Suggestion(Advice.STUDY_DEADLINE, at=situation.study_deadline))
    if situation.invoice_due_on is not None:
        found.append(Suggestion(Advice.INVOICE_COMING, at=situation.invoice_due_on))
    return found


# Words a question uses, per topic, most specific first: "发票" says more than "缴费", and
# "怎么学" only when nothing more specific was asked. Lower-case, "|" between words; Chinese
# needs no word breaks.
QUESTION_WORDS: tuple[tuple[HelpTopic, tuple[str, ...]], ...] = tuple(
    (topic, tuple(words.split("|")))
    for topic, words in (
        (HelpTopic.INVOICE, "发票|开票|invoice|fapiao"),
        (HelpTopic.FACE, "人脸|刷脸|自拍|拍照|照片|摄像头|相机|face|selfie|camera|photo"),
        (HelpTopic.EXAM, "考试|成绩|分数|补考|及格|exam|score|retake|attempt"),
        (
            HelpTopic.ORDER,
            "支付|付款|缴费|交费|订单|二维码|扣款|退款|收费|多少钱|pay|order|qr|refund|fee|charged",
        ),
        (
            HelpTopic.DEADLINES,
            "期限|截止|过期|延期|到期|几天|多少天|作废|换证|deadline|expire|extension|overdue|void|renew",
        ),
        (
            HelpTopic.DEVICE,
            "电脑|手机|浏览器|登录|登陆|密码|客户端|下载|安装|computer|browser|login|log in"
            "|password|install|download",
        ),
        (
            HelpTopic.HOW,
            "怎么学|如何学|怎么报名|如何报名|流程|怎么用|怎么弄|员工|学习|报名|继续教育|how do"
            "|how to|how does|employee|staff|study|enrol|start",
        ),
    )
)


def topic_for(question: str) -> HelpTopic | None:
    """The self-help topic a question typed in the chat is about, if its words tell."""
    words = question.casefold()
    return next((topic for topic, found in QUESTION_WORDS if any(w in words for w in found)), None)
