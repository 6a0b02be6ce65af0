import io
from collections.abc import Callable

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, Message
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image

from localchat import LocalChat
from tests.localchat.conftest import Polling, eventually, png_bytes

USER = 100001


async def download(bot: Bot, file_id: str) -> bytes:
    file = await bot.get_file(file_id)
    assert file.file_path is not None
    buffer = io.BytesIO()
    await bot.download_file(file.file_path, buffer)
    return buffer.getvalue()


async def test_a_photo_the_bot_uploads_comes_back_in_sizes_and_downloads_byte_for_byte(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "/certificate")
    original = png_bytes(1200, 800)

    sent = await bot.send_photo(USER, BufferedInputFile(original, "cert.png"), caption="证书")

    small, big = sent.photo
    assert (big.width, big.height) == (1200, 800)
    assert small.width < big.width and small.height < big.height
    assert big.file_size == len(original) and small.file_unique_id != big.file_unique_id
    assert sent.caption == "证书"
    assert await download(bot, big.file_id) == original
    with Image.open(io.BytesIO(await download(bot, small.file_id))) as thumb:
        assert thumb.size == (small.width, small.height)
    shown = await client.get(f"/_local/api/users/{USER}/messages")
    photo = (await shown.json())["messages"][0]["photo"]
    page_copy = await client.get(photo["url"])
    assert await page_copy.read() == original
    assert page_copy.content_type == "image/png"


async def test_a_document_keeps_its_file_name_and_mime_type_and_can_be_resent_by_file_id(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "/receipt")
    body = "发票 invoice\n".encode() * 100

    first = await bot.send_document(USER, BufferedInputFile(body, "发票.pdf"))
    again = await bot.send_document(USER, first.document.file_id)

    assert first.document.file_name == "发票.pdf"
    assert first.document.mime_type == "application/pdf"
    assert again.document.file_unique_id == first.document.file_unique_id
    assert await download(bot, first.document.file_id) == body
    shown = await (await client.get(f"/_local/api/users/{USER}/messages")).json()
    assert shown["messages"][0]["document"]["file_name"] == "发票.pdf"


async def test_a_photo_that_is_not_an_image_is_refused_with_image_process_failed(
    chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "hi")
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"%PDF-1.4 not a picture", "x.jpg"))


async def test_a_document_file_id_cannot_be_sent_as_a_photo(chat: LocalChat, bot: Bot) -> None:
    chat.send_text(USER, "hi")
    doc = await bot.send_document(USER, BufferedInputFile(b"abc", "a.txt"))
    with pytest.raises(TelegramBadRequest, match="type of file mismatch"):
        await bot.send_photo(USER, doc.document.file_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER, "no-such-file-id")


async def test_a_caption_over_1024_characters_is_refused(chat: LocalChat, bot: Bot) -> None:
    chat.send_text(USER, "hi")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, BufferedInputFile(png_bytes(), "a.png"), caption="长" * 1025)


async def test_photos_and_documents_a_user_uploads_reach_the_bot_and_download(
    client: TestClient, bot: Bot, polling: Callable[[Dispatcher], Polling]
) -> None:
    dp = Dispatcher()
    got: list[Message] = []

    @dp.message(F.photo | F.document)
    async def keep(message: Message) -> None:
        got.append(message)

    picture = png_bytes(400, 300)

    async with polling(dp):
        form = FormData()
        form.add_field("photo", picture, filename="selfie.png", content_type="image/png")
        form.add_field("caption", "我的照片")
        sent = await client.post(f"/_local/api/users/{USER}/send", data=form)
        form = FormData()
        form.add_field("document", b"id card scan", filename="id.txt", content_type="text/plain")
        await client.post(f"/_local/api/users/{USER}/send", data=form)
        await eventually(lambda: len(got) == 2)

    assert sent.status == 200
    photo_message, document_message = got
    assert photo_message.caption == "我的照片"
    assert (photo_message.photo[-1].width, photo_message.photo[-1].height) == (400, 300)
    assert await download(bot, photo_message.photo[-1].file_id) == picture
    assert document_message.document.file_name == "id.txt"
    assert await download(bot, document_message.document.file_id) == b"id card scan"


async def test_voice_messages_carry_their_duration(chat: LocalChat, bot: Bot) -> None:
    chat.send_text(USER, "hi")
    sent = await bot.send_voice(USER, BufferedInputFile(b"OggS fake", "v.ogg"), duration=3)
    assert sent.voice.duration == 3
    assert await download(bot, sent.voice.file_id) == b"OggS fake"


async def test_an_unknown_file_path_downloads_as_404(client: TestClient) -> None:
    response = await client.get("/_local/file/bot123456:local-test-token/photos/nothing.jpg")
    assert response.status == 404
    missing = await client.get("/_local/api/files/nothing")
    assert missing.status == 404 and (await missing.json())["ok"] is False


async def test_a_round_video_a_user_records_reaches_the_bot_and_downloads(
    client: TestClient, bot: Bot, polling: Callable[[Dispatcher], Polling]
) -> None:
    """Video notes: what a trainee without a camera in the Mini App answers a head turn with."""
    dp = Dispatcher()
    got: list[Message] = []

    @dp.message(F.video_note)
    async def keep(message: Message) -> None:
        got.append(message)

    clip = b"\x00\x00\x00\x18ftypmp42 a round video"
    async with polling(dp):
        form = FormData()
        form.add_field("video_note", clip, filename="note.mp4", content_type="video/mp4")
        form.add_field("length", "384")
        form.add_field("duration", "3")
        sent = await client.post(f"/_local/api/users/{USER}/send", data=form)
        await eventually(lambda: len(got) == 1)
        form = FormData()
        form.add_field("video_note", clip, filename="wide.mp4", content_type="video/mp4")
        form.add_field("length", "1280")
        wide = await client.post(f"/_local/api/users/{USER}/send", data=form)

    assert sent.status == 200 and wide.status == 400  # Telegram's round videos: up to 640 px
    [message] = got
    assert message.video_note is not None
    assert (message.video_note.length, message.video_note.duration) == (384, 3)
    assert await download(bot, message.video_note.file_id) == clip
    everything = await client.get(f"/_local/api/users/{USER}/messages", params={"all": "1"})
    note = (await everything.json())["messages"][-1]["video_note"]
    assert note["length"] == 384 and (await client.get(note["url"])).status == 200


async def test_an_album_of_photos_arrives_as_messages_sharing_a_media_group(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    """What staff get in a face review: the enrolment photo and the failed selfies together."""
    from aiogram.types import InputMediaPhoto

    chat.send_text(USER, "hi")
    pictures = [png_bytes(40 + n, 30) for n in range(3)]

    sent = await bot.send_media_group(
        USER,
        [InputMediaPhoto(media=BufferedInputFile(p, f"{n}.png")) for n, p in enumerate(pictures)],
    )

    assert [m.photo[-1].width for m in sent] == [40, 41, 42]
    assert len({m.media_group_id for m in sent}) == 1 and sent[0].media_group_id
    assert [await download(bot, m.photo[-1].file_id) for m in sent] == pictures
    with pytest.raises(TelegramBadRequest, match="2-10"):
        await bot.send_media_group(
            USER, [InputMediaPhoto(media=BufferedInputFile(pictures[0], "a.png"))]
        )
