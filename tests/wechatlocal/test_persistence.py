"""With a state_path, users, what they were sent and the menu survive a restart; a broken
snapshot is set aside instead of stopping the start."""

from pathlib import Path

from tests.wechatlocal.conftest import WallClock
from wechatlocal import WeChatLocal, WeChatLocalConfig


async def test_users_messages_and_menu_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "wechatlocal.json"
    first = WeChatLocal(WeChatLocalConfig(state_path=path), wall_clock=WallClock())
    first.ensure_user("o-kept", "老王", follows=True)
    first.template_send(
        {"touser": "o-kept", "template_id": "tpl", "data": {"thing1": {"value": "课程到期"}}}
    )
    first.menu_create({"button": [{"type": "click", "name": "学习", "key": "STUDY"}]})
    await first.close()

    second = WeChatLocal(WeChatLocalConfig(state_path=path), wall_clock=WallClock())
    assert second.user("o-kept").nickname == "老王" and second.user("o-kept").follows
    (message,) = second.messages("o-kept")
    assert message["data"] == {"thing1": "课程到期"}
    assert second.menu is not None and second.menu["button"][0]["key"] == "STUDY"
    second.template_send(
        {"touser": "o-kept", "template_id": "tpl", "data": {"thing1": {"value": "再次提醒"}}}
    )
    assert [m["id"] for m in second.messages("o-kept")] == [message["id"], message["id"] + 1]
    await second.close()


async def test_a_broken_snapshot_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "wechatlocal.json"
    path.write_text("{not json", encoding="utf-8")
    wx = WeChatLocal(WeChatLocalConfig(state_path=path), wall_clock=WallClock())
    assert wx.users == {}
    assert (tmp_path / "wechatlocal.json.corrupt").exists()
    await wx.close()
