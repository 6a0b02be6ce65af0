"""The journey suite's eye (tests/support/witness.py) sees what a reader must never meet."""

from tests.support.witness import ENUM_VALUES, problems_in


def test_it_sees_internal_codes_and_python_data_in_either_language():
    assert problems_in("enrolment_help {}", "zh")
    assert problems_in("person_not_found {'id_number': 1}", "en")
    assert problems_in("语言：zh_CN", "zh")
    assert problems_in("状态：EnrolmentState.PASSED", "zh")
    assert problems_in("Deadline: None (Beijing time)", "en")
    assert problems_in("成绩：None 分", "zh")


def test_the_english_word_none_in_a_sentence_is_not_python_data():
    """CI: an exam option of the English bank read "None; it can be used as soon as it is
    written", and the English trainee's walk failed whenever the draw picked it."""
    assert not problems_in("B. None; it can be used as soon as it is written", "en")
    assert not problems_in("None of the above", "en")


def test_it_sees_enum_values_and_english_in_chinese_text():
    assert "passed" in ENUM_VALUES
    assert any("enum value" in problem for problem in problems_in("订单 JJ1：paid", "zh"))
    assert problems_in("申请 #1：extension，pending", "zh")


def test_it_sees_chinese_in_english_text_but_not_names():
    assert problems_in("Your application was 批准", "en")
    assert not problems_in("Hello, 王小英! I am 继教 jijiao.", "en", names={"王小英"})


def test_addresses_commands_and_file_names_are_not_words():
    text = "请点 /pay 或打开 https://example.org/app/exam?enrolment_id=1，回执 receipt-JJ1.pdf"
    assert not problems_in(text, "zh")


def test_it_sees_half_width_punctuation_in_chinese_text():
    assert problems_in("• 安全生产考核合格证书B证: 3", "zh")
    assert problems_in("云建安B****0860: 已过期", "zh")
    assert problems_in("(多选)", "zh")
    assert not problems_in("• 安全生产考核合格证书B证：3，10:00 开考", "zh")
