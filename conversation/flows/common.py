"""The main menu and the words several flows share."""

from __future__ import annotations

from conversation import actions
from conversation.actions import MenuAction
from conversation.replies import Button, Buttons, OpenPage, Reply, Words, rows, say
from texts import common as texts


def menu_buttons() -> Buttons:
    def item(label: Words, action: MenuAction) -> Button:
        return Button(label, actions.menu(action))

    return rows(
        [
            item(say(texts.enrol_button), MenuAction.ENROL),
            item(say(texts.status_button), MenuAction.STATUS),
        ],
        [item(say(texts.pay_button), MenuAction.PAY), Button(say(texts.study_button), OpenPage())],
        [
            item(say(texts.exam_button), MenuAction.EXAM),
            item(say(texts.applications_button), MenuAction.APPLICATIONS),
        ],
        [
            item(say(texts.help_button), MenuAction.HELP),
            item(say(texts.contact_support_button), MenuAction.SUPPORT),
        ],
        [records_button(), item(say(texts.language_button), MenuAction.LANGUAGE)],
    )


def step_button(step: MenuAction | None) -> Button | None:
    """The button for a next step a message names ("tap 📝 Enrol"): the same as the menu's."""
    labels = {
        MenuAction.ENROL: texts.enrol_button,
        MenuAction.STATUS: texts.status_button,
        MenuAction.PAY: texts.pay_button,
        MenuAction.EXAM: texts.exam_button,
        MenuAction.APPLICATIONS: texts.applications_button,
        MenuAction.SUPPORT: texts.contact_support_button,
    }
    if step is None:
        return None
    return Button(say(labels[step]), actions.menu(step))


def study_button() -> Button:
    return Button(say(texts.study_button), OpenPage())


def records_button() -> Button:
    """Learning record; a contact's employees and a payer's orders are reached from it."""
    return Button(say(texts.records_button), OpenPage("/records"))


def employees_button() -> Button:
    return Button(say(texts.employees_button), OpenPage("/employees"))


class Home:
    """The way back: the menu, with every next step one tap away."""

    def menu(self, edit: bool = False) -> Reply:
        return Reply(say(texts.menu_prompt), menu_buttons(), edit=edit)

    def greeting(self, first_name: str) -> Reply:
        return Reply(say(texts.greeting, first_name), menu_buttons())
