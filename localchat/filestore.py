"""Files: what users upload and what the bot sends, kept in memory or in files_dir, with
Telegram's file ids, sizes and photo thumbnails."""

import io
import mimetypes
import secrets
from pathlib import Path
from typing import Any

from localchat.errors import ApiError, bad_request
from localchat.limits import MAX_DOCUMENT_BYTES, MAX_PHOTO_BYTES
from localchat.model import FileRecord, Json
from localchat.world import World


def make_thumbnail(data: bytes) -> tuple[int, int, str, bytes, int, int]:
    """(width, height, extension, thumbnail jpeg, its width, its height).

    Raises IMAGE_PROCESS_FAILED for anything Pillow cannot decode."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            extension = (image.format or "jpeg").lower().replace("jpeg", "jpg")
            box = (320, 320) if max(width, height) > 320 else (90, 90)
            image.draft("RGB", box)
            thumb = image.convert("RGB")
            thumb.thumbnail(box)
            buf = io.BytesIO()
            thumb.save(buf, "JPEG", quality=80)
    except Exception as exc:  # Pillow raises a zoo of types for undecodable input
        raise bad_request("IMAGE_PROCESS_FAILED") from exc
    if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return width, height, extension, buf.getvalue(), thumb.width, thumb.height


class FileStore(World):
    def _new_file(self, kind: str, data: bytes, extension: str, **extra: Any) -> FileRecord:
        self._file_counter += 1
        n = self._file_counter
        unique = f"{kind[:2].upper()}{n:06d}{secrets.token_hex(3)}"
        folder = {
            "photo": "photos", "document": "documents", "voice": "voice",
            "video_note": "video_notes",
        }[kind]
        record = FileRecord(
            file_id=f"LC{unique}{secrets.token_urlsafe(9)}",
            file_unique_id=unique,
            kind=kind,
            file_path=f"{folder}/file_{n}.{extension or 'bin'}",
            file_size=len(data),
            **extra,
        )
        if self.config.files_dir is not None:
            (self.config.files_dir / unique).write_bytes(data)
        else:
            self._file_data[unique] = data
        self.files[record.file_id] = record
        self.files_by_path[record.file_path] = record.file_id
        self.mark_dirty()
        return record

    def file_data(self, record: FileRecord) -> bytes | None:
        if self.config.files_dir is not None:
            path = self.config.files_dir / record.file_unique_id
            return path.read_bytes() if path.is_file() else None
        return self._file_data.get(record.file_unique_id)

    def store_photo(self, data: bytes) -> list[Json]:
        if not data:
            raise bad_request("file must be non-empty")
        if len(data) > MAX_PHOTO_BYTES:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        width, height, ext, thumb, tw, th = make_thumbnail(data)
        small = self._new_file("photo", thumb, "jpg", mime_type="image/jpeg", width=tw, height=th)
        mime = mimetypes.types_map.get(f".{ext}", "image/jpeg")
        big = self._new_file("photo", data, ext, mime_type=mime, width=width, height=height)
        small.sizes = big.sizes = [small.file_id, big.file_id]
        return [small.photo_size(), big.photo_size()]

    def store_document(self, data: bytes, file_name: str | None, mime_type: str | None) -> Json:
        if not data:
            raise bad_request("file must be non-empty")
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        name = file_name or "file"
        guessed = mimetypes.guess_type(name)[0]
        if mime_type in (None, "", "application/octet-stream"):
            mime_type = guessed or "application/octet-stream"
        ext = Path(name).suffix.lstrip(".")[:8] or "bin"
        return self._new_file("document", data, ext, mime_type=mime_type,
                              file_name=name).document()

    def store_voice(self, data: bytes, duration: int, mime_type: str | None) -> Json:
        if not data:
            raise bad_request("file must be non-empty")
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        return self._new_file("voice", data, "oga", mime_type=mime_type or "audio/ogg",
                              duration=duration).voice()

    def store_video_note(self, data: bytes, duration: int, length: int) -> Json:
        """A round video: square, up to 640 px and 60 s (Telegram's limits for video notes)."""
        if not data:
            raise bad_request("file must be non-empty")
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        if not 0 < length <= 640 or not 0 <= duration <= 60:
            raise bad_request("VIDEO_NOTE_INVALID: square, up to 640 px and 60 s")
        return self._new_file("video_note", data, "mp4", mime_type="video/mp4", width=length,
                              height=length, duration=duration).video_note()

    def photo_sizes(self, record: FileRecord) -> list[Json]:
        return [self.files[fid].photo_size() for fid in record.sizes if fid in self.files]

    def file_content(self, file_id: str) -> tuple[bytes, str] | None:
        record = self.files.get(file_id)
        if record is None:
            return None
        data = self.file_data(record)
        if data is None:
            return None
        return data, record.mime_type or "application/octet-stream"
