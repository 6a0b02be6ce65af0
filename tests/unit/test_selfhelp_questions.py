"""Questions typed into the chat find their self-help topic by their words (domain.selfhelp)."""

from __future__ import annotations

import pytest

from domain.selfhelp import HelpTopic, topic_for


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("你好，我们公司的员工怎么学习？", HelpTopic.HOW),
        ("我的证书什么时候到期？", HelpTopic.DEADLINES),
        ("付了钱订单还是未支付", HelpTopic.ORDER),
        ("缴费后发票什么时候开", HelpTopic.INVOICE),  # the invoice, not the payment
        ("考试没过能补考吗", HelpTopic.EXAM),
        ("人脸识别一直不通过", HelpTopic.FACE),
        ("电脑上怎么登录", HelpTopic.DEVICE),
        ("How do I pay?", HelpTopic.ORDER),
        ("When does my EXAM close", HelpTopic.EXAM),
        ("Can my employees study on a computer?", HelpTopic.DEVICE),
        ("asdfgh", None),
        ("", None),
    ],
)
def test_a_question_finds_its_topic(question: str, topic: HelpTopic | None):
    assert topic_for(question) is topic
