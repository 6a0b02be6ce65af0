"""Staff send the roster file in the staff group; the bot imports it and reports."""

from __future__ import annotations

import csv

import aiohttp

from infra.db import models
from infra.settings import LOCAL_STAFF_GROUP_ID
from tests.support import registry
from tests.support.localchat_client import LocalChatClient

STAFF = 900001


async def test_a_roster_sent_in_the_staff_group_is_imported_with_a_report(
    chat: LocalChatClient, live_app, tmp_path
):
    roster = tmp_path / "花名册.csv"
    with roster.open("w", encoding="gb18030", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["身份证号", "姓名", "手机号", "证书类型", "证书编号", "有效期至"])
        writer.writerow(
            [registry.id_number(41), "钱八", "13800000041", "B证", "云建安B-41", "2027-04-30"]
        )
        writer.writerow(
            [
                registry.id_number(42)[:-1] + "0",
                "孙九",
                "13800000042",
                "B证",
                "云建安B-42",
                "2027-04-30",
            ]
        )
    form = aiohttp.FormData()
    form.add_field("from_user_id", str(STAFF))
    form.add_field("document", roster.read_bytes(), filename=roster.name, content_type="text/csv")
    async with chat.http.post(f"{chat.api}/chats/{LOCAL_STAFF_GROUP_ID}/send", data=form) as r:
        assert r.status == 200, await r.text()

    report = None
    revision = 0
    for _ in range(10):
        async with chat.http.get(
            f"{chat.api}/chats/{LOCAL_STAFF_GROUP_ID}/messages",
            params={"changed_after": revision, "wait": 5},
        ) as response:
            body = await response.json()
        revision = body["revision"]
        texts = [m.get("text") or "" for m in body["messages"]]
        report = next((t for t in texts if "已导入花名册" in t), report)
        documents = [m["document"] for m in body["messages"] if m.get("document")]
        if report and documents:
            break
    assert report is not None, texts
    assert "新增：1" in report and "拒绝：1" in report
    assert documents and documents[0]["file_name"].endswith(".rejected.csv")
    assert await models.Certificate.filter(number="云建安B-41").exists()
