"""The provincial registry as this product keeps it: people, enterprises and certificates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.calendar import add_months


class CertType(StrEnum):
    SPECIAL_OPS = "special_ops"
    SAFETY_A = "safety_a"
    SAFETY_B = "safety_b"
    SITE_PRO = "site_pro"
    SAFETY_C = "safety_c"
    TOWER_CRANE = "tower_crane"
    RIGGER = "rigger"


class Track(StrEnum):
    """Which administrative desks own a certificate type (DOMAIN.md, People and types)."""

    T1 = "T1"
    T2 = "T2"


TRACKS = {
    CertType.SPECIAL_OPS: Track.T1,
    CertType.SAFETY_A: Track.T1,
    CertType.SAFETY_B: Track.T1,
    CertType.SITE_PRO: Track.T1,
    CertType.SAFETY_C: Track.T2,
    CertType.TOWER_CRANE: Track.T2,
    CertType.RIGGER: Track.T2,
}


class SiteRole(StrEnum):
    """The roles of 现场专业人员 (on-site professionals): one certificate type in the manual,
    each role its own certificate in the registry, its own course and (施工员) its category."""

    CONSTRUCTION = "construction"  # 施工员
    QUALITY = "quality"  # 质量员
    SAFETY = "safety"  # 安全员
    STANDARDS = "standards"  # 标准员
    MATERIALS = "materials"  # 材料员
    MACHINERY = "machinery"  # 机械员
    LABOUR = "labour"  # 劳务员
    RECORDS = "records"  # 资料员


# What the registry and the roster call each role.
SITE_ROLE_ZH = {
    SiteRole.CONSTRUCTION: "施工员",
    SiteRole.QUALITY: "质量员",
    SiteRole.SAFETY: "安全员",
    SiteRole.STANDARDS: "标准员",
    SiteRole.MATERIALS: "材料员",
    SiteRole.MACHINERY: "机械员",
    SiteRole.LABOUR: "劳务员",
    SiteRole.RECORDS: "资料员",
}

# Categories of the 施工员 (construction worker) on-site professional certificate (R-ENROL-4).
SITE_PRO_CATEGORIES = ("土建", "装饰装修", "设备安装", "市政")


class RegistryStatus(StrEnum):
    VALID = "valid"
    BUSY = "busy"  # another business (e.g. a transfer) is in progress in the supervision system
    VOID = "void"


@dataclass(frozen=True, slots=True)
class Person:
    id_number: str
    name: str
    phone: str


@dataclass(frozen=True, slots=True)
class Enterprise:
    credit_code: str
    name: str
    contact_phone: str


@dataclass(frozen=True, slots=True)
class Certificate:
    number: str
    cert_type: CertType
    holder_id_number: str
    holder_name: str
    expires_on: date
    status: RegistryStatus
    category: str | None = None
    enterprise_credit_code: str | None = None
    issued_on: date | None = None
    role: SiteRole | None = None  # only for SITE_PRO; None when the roster did not say

    @property
    def track(self) -> Track:
        return TRACKS[self.cert_type]


RENEWAL_MONTHS = 3
DUE_HORIZON_MONTHS = 12


def renewal_window(expires_on: date) -> tuple[date, date]:
    """R-CERT-1: from 3 months before to 3 months after the expiry date."""
    return add_months(expires_on, -RENEWAL_MONTHS), add_months(expires_on, RENEWAL_MONTHS)


def void_date(expires_on: date) -> date:
    """R-CERT-2: without a CE pass the certificate is void 3 months after expiry, for the types
    the manual says so (domain.certrules)."""
    return add_months(expires_on, RENEWAL_MONTHS)


def due_from(certificate: Certificate) -> date:
    return add_months(certificate.expires_on, -DUE_HORIZON_MONTHS)
