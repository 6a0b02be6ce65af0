"""Roster import: the spreadsheet staff export from the provincial supervision system becomes
the local registry (people, enterprises, certificates). Accepted shapes: docs/registry-import.md.
"""

from __future__ import annotations

import csv
import inspect
import io
import re
import unicodedata
import zipfile
from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain.certrules import categories_for
from domain.clock import Clock
from domain.errors import DomainError
from domain.identifiers import (
    InvalidIdentifier,
    normalise_phone,
    validate_credit_code,
    validate_id_number,
)
from domain.masking import mask_id_number
from domain.registry import SITE_ROLE_ZH, CertType, RegistryStatus, SiteRole
from infra.db.models import Certificate, Enterprise, ImportRun, Person
from infra.pii import Pii

Progress = Callable[[int, int], Awaitable[None] | None]
Cells = Generator[tuple[int, tuple[object, ...]], None, None]

CHUNK_ROWS = 1000
# bulk_update builds one CASE per field with two parameters per row: stay far below the
# parameter limits of SQLite (32766) and PostgreSQL (32767).
UPDATE_BATCH = 250
HEADER_SEARCH_ROWS = 30
SUFFIXES = (".xlsx", ".csv")


class RosterError(DomainError):
    """The file as a whole cannot be imported. code: unsupported_file, unreadable_file,
    no_header."""


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    zh: str
    en: str
    synonyms: tuple[str, ...]
    required: bool = False
    max_length: int | None = None


COLUMNS = (
    Column(
        "id_number",
        "身份证号",
        "ID number",
        (
            "身份证号",
            "身份证号码",
            "证件号码",
            "证件号",
            "身份证",
            "公民身份号码",
            "id number",
            "id_number",
            "id no",
            "id card",
        ),
        required=True,
    ),
    Column(
        "name",
        "姓名",
        "name",
        ("姓名", "人员姓名", "name", "full name"),
        required=True,
        max_length=64,
    ),
    Column(
        "phone",
        "手机号",
        "phone",
        ("手机", "手机号", "手机号码", "联系电话", "电话", "phone", "mobile", "mobile phone"),
    ),
    Column(
        "credit_code",
        "统一社会信用代码",
        "credit code",
        (
            "统一社会信用代码",
            "社会信用代码",
            "信用代码",
            "纳税人识别号",
            "credit code",
            "unified social credit code",
        ),
    ),
    Column(
        "enterprise_name",
        "企业名称",
        "enterprise name",
        (
            "企业名称",
            "单位名称",
            "工作单位",
            "企业",
            "单位",
            "enterprise",
            "enterprise name",
            "company",
            "company name",
        ),
        max_length=128,
    ),
    Column(
        "enterprise_phone",
        "企业联系人手机",
        "enterprise contact phone",
        (
            "企业联系人手机",
            "企业联系人手机号",
            "企业联系电话",
            "联系人手机",
            "enterprise contact phone",
            "contact phone",
        ),
    ),
    Column(
        "cert_type",
        "证书类型",
        "certificate type",
        ("证书类型", "证书类别", "证书种类", "工种", "certificate type", "cert type"),
        required=True,
    ),
    Column(
        "cert_number",
        "证书编号",
        "certificate number",
        ("证书编号", "证书号", "证书号码", "certificate number", "certificate no", "cert no"),
        required=True,
        max_length=64,
    ),
    Column("category", "类别", "category", ("类别", "专业类别", "专业", "category")),
    Column(
        "issued_on",
        "发证日期",
        "issue date",
        ("发证日期", "发证时间", "颁发日期", "issue date", "issued on", "issued"),
    ),
    Column(
        "expires_on",
        "有效期至",
        "expiry date",
        (
            "有效期至",
            "有效期截止",
            "有效期截止日期",
            "到期日期",
            "截止日期",
            "有效期",
            "expiry date",
            "expiration date",
            "expires",
            "expires on",
            "valid until",
        ),
        required=True,
    ),
    Column("status", "状态", "status", ("状态", "证书状态", "status")),
)
COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}
REQUIRED = tuple(column.key for column in COLUMNS if column.required)


def _key(text: str) -> str:
    """Header and value lookup key: full-width folded, case, spaces, brackets and joiners
    ignored, so 'ID_Number', ' 证书类型（必填）' and '安全生产考核合格证书（A）' match."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[\s*_\-·:/]", "", text)
    return text


def _header_key(text: str) -> str:
    # A header may carry a note in brackets: 手机号码(必填), 有效期至（年月日）.
    return _key(re.sub(r"[(（\[【].*?[)）\]】]", "", text))


HEADER_SYNONYMS = {_header_key(s): column.key for column in COLUMNS for s in column.synonyms}

# The supervision system and staff spell certificate types many ways; the code itself is also
# accepted. 安全员 is the on-site professional (现场专业人员) role; the full-time safety manager's
# certificate is written C证 / 专职安全生产管理人员.
CERT_TYPE_NAMES: dict[CertType, tuple[str, ...]] = {
    CertType.SPECIAL_OPS: (
        "特种作业人员",
        "特种作业",
        "特种作业操作证",
        "建筑施工特种作业人员",
        "special operations",
        "special operations personnel",
    ),
    CertType.SAFETY_A: (
        "A证",
        "A",
        "A类",
        "安全生产考核合格证书A",
        "安全生产考核合格证书(A)",
        "主要负责人",
        "企业主要负责人",
        "safety certificate A",
    ),
    CertType.SAFETY_B: (
        "B证",
        "B",
        "B类",
        "安全生产考核合格证书B",
        "安全生产考核合格证书(B)",
        "项目负责人",
        "safety certificate B",
    ),
    CertType.SITE_PRO: (
        "现场专业人员",
        "on-site professional",
        "site professional",
    ),
    CertType.SAFETY_C: (
        "C证",
        "C",
        "C类",
        "安全生产考核合格证书C",
        "安全生产考核合格证书(C)",
        "专职安全生产管理人员",
        "safety certificate C",
    ),
    CertType.TOWER_CRANE: ("塔式起重机司机", "塔吊司机", "塔机司机", "tower crane driver"),
    CertType.RIGGER: (
        "建筑起重司索信号工",
        "司索信号工",
        "司索工",
        "信号工",
        "rigger",
        "rigger and signaller",
    ),
}
# Each role of 现场专业人员 is its own certificate: the role is kept, not folded into the type.
SITE_ROLE_NAMES: dict[SiteRole, tuple[str, ...]] = {
    role: (zh, f"{zh}证", f"site_pro.{role.value}") for role, zh in SITE_ROLE_ZH.items()
}
CERT_TYPES: dict[str, tuple[CertType, SiteRole | None]] = {
    _key(name): (cert_type, None)
    for cert_type, names in CERT_TYPE_NAMES.items()
    for name in (cert_type.value, *names)
} | {
    _key(name): (CertType.SITE_PRO, role)
    for role, names in SITE_ROLE_NAMES.items()
    for name in names
}

STATUS_NAMES: dict[RegistryStatus, tuple[str, ...]] = {
    RegistryStatus.VALID: ("有效", "正常", "valid", ""),
    RegistryStatus.BUSY: ("办理中", "业务办理中", "busy"),
    RegistryStatus.VOID: ("作废", "已作废", "注销", "已注销", "void"),
}
STATUSES = {_key(name): status for status, names in STATUS_NAMES.items() for name in names}

# (zh, en) sentences for the rejection file, which staff of either language open in Excel.
MESSAGES: dict[str, tuple[str, str]] = {
    "missing_value": ("缺少“{column_zh}”。", "The {column_en} is missing."),
    "too_long": (
        "“{column_zh}”超过{limit}个字符。",
        "The {column_en} is longer than {limit} characters.",
    ),
    "id_length": (
        "身份证号应为18位，这里是{length}位。",
        "The ID number must have 18 characters; this one has {length}.",
    ),
    "id_format": (
        "身份证号应为17位数字加1位数字或X。",
        "The ID number must be 17 digits followed by a digit or X.",
    ),
    "id_birth_date": (
        "身份证号中的出生日期（第7-14位）不是有效日期。",
        "The birth date in the ID number (characters 7-14) is not a real date.",
    ),
    "id_check": (
        "身份证号最后一位（校验码）与前17位不符，可能有数字录错。",
        "The last character of the ID number (the check character) does not match the "
        "first 17; a digit is probably mistyped.",
    ),
    "credit_length": (
        "统一社会信用代码应为18位，这里是{length}位。",
        "The credit code must have 18 characters; this one has {length}.",
    ),
    "credit_format": (
        "统一社会信用代码含有不允许的字符（只用数字和除I、O、S、V、Z以外的大写字母）。",
        "The credit code has characters that are not allowed (digits and capital "
        "letters except I, O, S, V and Z).",
    ),
    "credit_check": (
        "统一社会信用代码最后一位（校验码）与前17位不符。",
        "The last character of the credit code (the check character) does not match the first 17.",
    ),
    "unknown_cert_type": ("无法识别的证书类型“{value}”。", "Unknown certificate type “{value}”."),
    "bad_date": (
        "“{column_zh}”不是有效日期：“{value}”。",
        "The {column_en} is not a valid date: “{value}”.",
    ),
    "issued_after_expiry": (
        "发证日期晚于有效期截止日期。",
        "The issue date is after the expiry date.",
    ),
    "bad_category": (
        "施工员类别“{value}”无效，应为：{allowed}。",
        "The 施工员 category “{value}” is not one of: {allowed}.",
    ),
    "duplicate_certificate": (
        "证书编号“{value}”已在第{first_row}行出现，但持证人不同。",
        "Certificate number “{value}” already appears in row {first_row} with a different holder.",
    ),
    "unknown_status": (
        "无法识别的证书状态“{value}”（应为有效、办理中或作废）。",
        "Unknown certificate status “{value}” (expected valid, busy or void).",
    ),
    "bad_phone": (
        "“{column_zh}”不是11位手机号码：“{value}”。",
        "The {column_en} is not an 11-digit mobile number: “{value}”.",
    ),
}
# The reason code staff filter on; the message adds which part is wrong.
REASON_CODES = {
    "id_length": "bad_id_number",
    "id_format": "bad_id_number",
    "id_birth_date": "bad_id_number",
    "id_check": "bad_id_number",
    "credit_length": "bad_credit_code",
    "credit_format": "bad_credit_code",
    "credit_check": "bad_credit_code",
    "issued_after_expiry": "bad_date",
}


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One valid row: one certificate, its holder and (optionally) the holder's enterprise."""

    row: int
    id_number: str
    name: str
    phone: str
    credit_code: str | None
    enterprise_name: str
    enterprise_phone: str
    cert_type: CertType
    cert_number: str
    category: str | None
    issued_on: date | None
    role: SiteRole | None
    expires_on: date
    status: RegistryStatus


@dataclass(frozen=True, slots=True)
class Rejection:
    row: int
    code: str
    reason_zh: str
    reason_en: str
    values: tuple[str, ...]  # as in the file, the ID number masked


@dataclass(slots=True)
class ParsedRoster:
    headers: tuple[str, ...]
    rows: list[RosterRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejections)


@dataclass(frozen=True, slots=True)
class ImportReport:
    new: int
    updated: int
    unchanged: int
    rejected: int
    total: int
    rejection_path: Path | None
    run_id: int


class _Rejected(Exception):
    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


# --- reading -------------------------------------------------------------------------------


def _cells(path: Path) -> Cells:
    """(row number as the spreadsheet shows it, cell values) for every row of the file."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise RosterError("unsupported_file", suffix=suffix or path.name)
    if not path.is_file():
        raise RosterError("unreadable_file", reason="no such file")
    if suffix == ".csv":
        yield from _csv_cells(path)
    else:
        yield from _xlsx_cells(path)


def _csv_cells(path: Path) -> Cells:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RosterError("unreadable_file", reason=exc.strerror or str(exc)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Chinese Windows saves "CSV" in the ANSI code page; GB18030 is its superset.
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise RosterError("unreadable_file", reason="neither UTF-8 nor GB18030") from None
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            yield number, tuple(cells)
    except csv.Error as exc:  # e.g. NUL bytes: a binary file renamed to .csv
        raise RosterError("unreadable_file", reason=str(exc)) from None


def _xlsx_cells(path: Path) -> Cells:
    from openpyxl import load_workbook  # only when needed: the CLI and bot start faster

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RosterError("unreadable_file", reason=str(exc) or type(exc).__name__) from None
    try:
        sheet = workbook.active or workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, tuple(cells)
    finally:
        workbook.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phones and numbers Excel turned into numbers
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    return str(value).strip()


def _find_header(
    rows: Iterator[tuple[int, tuple[object, ...]]],
) -> tuple[tuple[str, ...], dict[str, int]]:
    best: set[str] = set()
    for seen, (_, cells) in enumerate(rows, start=1):
        names = tuple(_text(cell) for cell in cells)
        positions: dict[str, int] = {}
        for index, name in enumerate(names):
            key = HEADER_SYNONYMS.get(_header_key(name))
            if key is not None:
                positions.setdefault(key, index)
        if all(key in positions for key in REQUIRED):
            return names, positions
        if len(positions) > len(best):
            best = set(positions)
        if seen >= HEADER_SEARCH_ROWS:
            break
    missing = [COLUMNS_BY_KEY[key] for key in REQUIRED if key not in best]
    raise RosterError(
        "no_header",
        missing=[key.key for key in missing],
        missing_names=[f"{key.zh} / {key.en}" for key in missing],
    )


# --- validating ----------------------------------------------------------------------------

_SEPARATED_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_EXCEL_EPOCH = date(1899, 12, 30)


def _parse_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 19000101 <= value <= 29991231 and float(value).is_integer():
            text = str(int(value))  # 20270131 typed as a number
        elif 1 <= value < 2958466:
            # a day serial whose cell lost its date format
            return _EXCEL_EPOCH + timedelta(days=int(value))
        else:
            raise ValueError(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _SEPARATED_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match is None:
        raise ValueError(text)
    return date(int(match[1]), int(match[2]), int(match[3]))


def _mobile(value: str, column: str) -> str:
    if not value:
        return ""
    phone = normalise_phone(value)
    if len(phone) != 11 or not phone.startswith("1"):
        info = COLUMNS_BY_KEY[column]
        raise _Rejected("bad_phone", column_zh=info.zh, column_en=info.en, value=value)
    return phone


def _date_cell(key: str, cells: dict[str, object], text: dict[str, str]) -> date:
    try:
        return _parse_date(cells[key])
    except ValueError:
        column = COLUMNS_BY_KEY[key]
        raise _Rejected(
            "bad_date", column_zh=column.zh, column_en=column.en, value=text[key]
        ) from None


def _validate(row: int, cells: dict[str, object]) -> RosterRow:
    text = {key: _text(value) for key, value in cells.items()}
    for key in REQUIRED:
        if not text.get(key):
            column = COLUMNS_BY_KEY[key]
            raise _Rejected("missing_value", column_zh=column.zh, column_en=column.en)
    for column in COLUMNS:
        if column.max_length and len(text.get(column.key, "")) > column.max_length:
            raise _Rejected(
                "too_long", column_zh=column.zh, column_en=column.en, limit=column.max_length
            )
    try:
        id_number = validate_id_number(text["id_number"])
        credit_code = validate_credit_code(text["credit_code"]) if text.get("credit_code") else None
    except InvalidIdentifier as exc:
        raise _Rejected(exc.code, **exc.params) from None
    enterprise_name = text.get("enterprise_name", "")
    if credit_code and not enterprise_name:
        column = COLUMNS_BY_KEY["enterprise_name"]
        raise _Rejected("missing_value", column_zh=column.zh, column_en=column.en)
    kind = CERT_TYPES.get(_key(text["cert_type"]))
    if kind is None:
        raise _Rejected("unknown_cert_type", value=text["cert_type"])
    cert_type, role = kind
    expires_on = _date_cell("expires_on", cells, text)
    issued_on = _date_cell("issued_on", cells, text) if text.get("issued_on") else None
    if issued_on is not None and issued_on > expires_on:
        raise _Rejected("issued_after_expiry")
    category: str | None = None
    # Only 施工员 carries a category (domain.certrules.categories_for); other types' and
    # roles' rosters reuse the column for their own sub-types (e.g. 建筑电工), which this
    # product has no use for: ignored.
    allowed = categories_for(cert_type, role)
    if allowed and text.get("category"):
        category = unicodedata.normalize("NFKC", text["category"]).replace(" ", "")
        if category not in allowed:
            raise _Rejected("bad_category", value=text["category"], allowed="、".join(allowed))
    status = STATUSES.get(_key(text.get("status", "")))
    if status is None:
        raise _Rejected("unknown_status", value=text["status"])
    return RosterRow(
        row=row,
        id_number=id_number,
        name=unicodedata.normalize("NFKC", text["name"]),
        phone=_mobile(text.get("phone", ""), "phone"),
        credit_code=credit_code,
        enterprise_name=enterprise_name if credit_code else "",
        enterprise_phone=_mobile(text.get("enterprise_phone", ""), "enterprise_phone")
        if credit_code
        else "",
        cert_type=cert_type,
        cert_number="".join(unicodedata.normalize("NFKC", text["cert_number"]).split()).upper(),
        category=category,
        role=role,
        issued_on=issued_on,
        expires_on=expires_on,
        status=status,
    )


def _rejection(
    row: int, cells: tuple[object, ...], id_index: int, message: str, params: dict[str, object]
) -> Rejection:
    zh, en = MESSAGES[message]
    values = [_text(cell) for cell in cells]
    if id_index < len(values) and values[id_index]:
        values[id_index] = mask_id_number(values[id_index])
    return Rejection(
        row=row,
        code=REASON_CODES.get(message, message),
        reason_zh=zh.format(**params),
        reason_en=en.format(**params),
        values=tuple(values),
    )


def parse_roster(path: Path) -> ParsedRoster:
    """Read and validate every row without touching the database."""
    with closing(_cells(path)) as rows:
        headers, positions = _find_header(rows)
        return _parse_rows(rows, headers, positions)


def _parse_rows(
    rows: Iterator[tuple[int, tuple[object, ...]]],
    headers: tuple[str, ...],
    positions: dict[str, int],
) -> ParsedRoster:
    roster = ParsedRoster(headers=headers)
    holders: dict[str, tuple[int, str]] = {}  # certificate number → (first row, holder)
    for number, cells in rows:
        if all(_text(cell) == "" for cell in cells):
            continue
        by_key = {
            key: cells[index] if index < len(cells) else None for key, index in positions.items()
        }
        try:
            parsed = _validate(number, by_key)
            first = holders.setdefault(parsed.cert_number, (number, parsed.id_number))
            if first[1] != parsed.id_number:
                raise _Rejected(
                    "duplicate_certificate", value=parsed.cert_number, first_row=first[0]
                )
        except _Rejected as exc:
            roster.rejections.append(
                _rejection(number, cells, positions["id_number"], exc.message, exc.params)
            )
        else:
            roster.rows.append(parsed)
    return roster


def rejection_path_for(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejected.csv")


def write_rejections(path: Path, roster: ParsedRoster) -> Path | None:
    target = rejection_path_for(path)
    if not roster.rejections:
        # A file left from an earlier import of this roster would describe rows now fixed.
        target.unlink(missing_ok=True)
        return None
    # The BOM makes Excel on Chinese Windows read the file as UTF-8.
    with target.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["行号 row", "原因代码 code", "原因", "reason", *roster.headers])
        for item in roster.rejections:
            writer.writerow([item.row, item.code, item.reason_zh, item.reason_en, *item.values])
    return target


# --- storing -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Counts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def _chunks(items: list[RosterRow], size: int) -> Iterable[list[RosterRow]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Store:
    """Writes one roster chunk by chunk, reading existing rows by key, never one at a time."""

    def __init__(self, rows: list[RosterRow], pii: Pii) -> None:
        self.pii = pii
        # Where rows disagree about a person or an enterprise, the later row wins; an empty
        # phone never erases a known one.
        self.people: dict[str, tuple[str, str]] = {}
        self.enterprises: dict[str, tuple[str, str]] = {}
        self.last_row: dict[str, int] = {}
        for row in rows:
            known_phone = self.people.get(row.id_number, ("", ""))[1]
            self.people[row.id_number] = (row.name, row.phone or known_phone)
            if row.credit_code:
                known = self.enterprises.get(row.credit_code, ("", ""))[1]
                self.enterprises[row.credit_code] = (
                    row.enterprise_name,
                    row.enterprise_phone or known,
                )
            self.last_row[row.cert_number] = row.row
        self.person_ids: dict[str, int] = {}
        self.enterprise_ids: dict[str, int] = {}
        self.changed_people: set[str] = set()
        self.changed_enterprises: set[str] = set()
        self.counts = _Counts()

    async def store(self, chunk: list[RosterRow], db: BaseDBAsyncClient) -> None:
        await self._people(chunk, db)
        await self._enterprises(chunk, db)
        await self._certificates(chunk, db)

    async def _people(self, chunk: list[RosterRow], db: BaseDBAsyncClient) -> None:
        keys = list(dict.fromkeys(r.id_number for r in chunk if r.id_number not in self.person_ids))
        if not keys:
            return
        pii = self.pii
        # Found by their digests (under every key of the ring: a row may predate a rotation);
        # a phone is compared with the opened seal, since a new seal of the same phone never
        # reads the same.
        by_digest = {digest: key for key in keys for digest in pii.digests(key)}
        changed = []
        for person in await Person.filter(id_number_hash__in=list(by_digest)).using_db(db):
            id_number = by_digest[person.id_number_hash]
            self.person_ids[id_number] = person.id
            name, phone = self.people[id_number]
            known_phone = pii.open(person.phone_sealed)
            phone = phone or known_phone
            if (person.name, known_phone) != (name, phone):
                person.name = name
                person.phone_hash, person.phone_sealed = pii.digest(phone), pii.seal(phone)
                changed.append(person)
                self.changed_people.add(id_number)
        created = [
            Person(
                id_number_hash=pii.digest(key),
                id_number_sealed=pii.seal(key),
                name=self.people[key][0],
                phone_hash=pii.digest(self.people[key][1]),
                phone_sealed=pii.seal(self.people[key][1]),
            )
            for key in keys
            if key not in self.person_ids
        ]
        if changed:
            await Person.bulk_update(
                changed,
                ["name", "phone_hash", "phone_sealed", "updated_at"],
                batch_size=UPDATE_BATCH,
                using_db=db,
            )
        if created:
            await Person.bulk_create(created, using_db=db)
            # bulk_create does not report generated keys on every backend.
            digests = [p.id_number_hash for p in created]
            rows = Person.filter(id_number_hash__in=digests).using_db(db)
            for digest, pk in await rows.values_list("id_number_hash", "id"):
                self.person_ids[by_digest[digest]] = pk

    async def _enterprises(self, chunk: list[RosterRow], db: BaseDBAsyncClient) -> None:
        keys = list(
            dict.fromkeys(
                r.credit_code
                for r in chunk
                if r.credit_code and r.credit_code not in self.enterprise_ids
            )
        )
        if not keys:
            return
        changed = []
        for enterprise in await Enterprise.filter(credit_code__in=keys).using_db(db):
            self.enterprise_ids[enterprise.credit_code] = enterprise.id
            name, phone = self.enterprises[enterprise.credit_code]
            known_phone = self.pii.open(enterprise.contact_phone_sealed)
            phone = phone or known_phone
            if (enterprise.name, known_phone) != (name, phone):
                enterprise.name = name
                enterprise.contact_phone_sealed = self.pii.seal(phone)
                changed.append(enterprise)
                self.changed_enterprises.add(enterprise.credit_code)
        created = [
            Enterprise(
                credit_code=key,
                name=self.enterprises[key][0],
                contact_phone_sealed=self.pii.seal(self.enterprises[key][1]),
            )
            for key in keys
            if key not in self.enterprise_ids
        ]
        if changed:
            await Enterprise.bulk_update(
                changed,
                ["name", "contact_phone_sealed", "updated_at"],
                batch_size=UPDATE_BATCH,
                using_db=db,
            )
        if created:
            await Enterprise.bulk_create(created, using_db=db)
            rows = Enterprise.filter(credit_code__in=[e.credit_code for e in created]).using_db(db)
            for credit_code, pk in await rows.values_list("credit_code", "id"):
                self.enterprise_ids[credit_code] = pk

    async def _certificates(self, chunk: list[RosterRow], db: BaseDBAsyncClient) -> None:
        numbers = list(dict.fromkeys(r.cert_number for r in chunk))
        existing = {c.number: c for c in await Certificate.filter(number__in=numbers).using_db(db)}
        created: dict[str, Certificate] = {}
        changed: dict[str, Certificate] = {}
        for row in chunk:
            if self.last_row[row.cert_number] != row.row:
                # An earlier row for the same certificate and holder: the last one is applied
                # and counted, so a re-import counts the same as the first import.
                self.counts.unchanged += 1
                continue
            wanted = {
                "cert_type": row.cert_type.value,
                "category": row.category,
                "role": row.role.value if row.role else None,
                "person_id": self.person_ids[row.id_number],
                "enterprise_id": self.enterprise_ids[row.credit_code] if row.credit_code else None,
                "issued_on": row.issued_on,
                "expires_on": row.expires_on,
                "status": row.status.value,
            }
            certificate = existing.get(row.cert_number)
            if certificate is None:
                created[row.cert_number] = Certificate(number=row.cert_number, **wanted)
                self.counts.new += 1
                continue
            if any(getattr(certificate, name) != value for name, value in wanted.items()):
                for name, value in wanted.items():
                    setattr(certificate, name, value)
                changed[row.cert_number] = certificate
            if (
                row.cert_number in changed
                or row.id_number in self.changed_people
                or row.credit_code in self.changed_enterprises
            ):
                self.counts.updated += 1
            else:
                self.counts.unchanged += 1
        if changed:
            await Certificate.bulk_update(
                list(changed.values()),
                [*CERTIFICATE_FIELDS, "updated_at"],
                batch_size=UPDATE_BATCH,
                using_db=db,
            )
        if created:
            await Certificate.bulk_create(list(created.values()), using_db=db)


CERTIFICATE_FIELDS = (
    "cert_type",
    "category",
    "role",
    "person_id",
    "enterprise_id",
    "issued_on",
    "expires_on",
    "status",
)


async def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is None:
        return
    result = progress(done, total)
    if inspect.isawaitable(result):
        await result


async def import_registry(
    path: Path,
    *,
    pii: Pii,
    clock: Clock,
    source: str = "cli",
    progress: Progress | None = None,
) -> ImportReport:
    """Import a roster file; bad rows go to `<stem>.rejected.csv` and never stop the good ones.

    Raises RosterError when the file as a whole cannot be read."""
    started_at = clock.now()
    roster = parse_roster(path)
    rejection_path = write_rejections(path, roster)
    store = _Store(roster.rows, pii)
    connection = Person._meta.default_connection
    done = len(roster.rejections)
    for chunk in _chunks(roster.rows, CHUNK_ROWS):
        async with in_transaction(connection) as db:
            await store.store(chunk, db)
        done += len(chunk)
        await _report(progress, done, roster.total)
    if not roster.rows:
        await _report(progress, done, roster.total)
    counts = store.counts
    run = await ImportRun.create(
        file_name=path.name[-255:],
        source=source,
        new=counts.new,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=len(roster.rejections),
        started_at=started_at,
        finished_at=clock.now(),
    )
    return ImportReport(
        new=counts.new,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=len(roster.rejections),
        total=roster.total,
        rejection_path=rejection_path,
        run_id=run.id,
    )
