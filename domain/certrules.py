"""What the manual says per certificate type, as data: which rules it writes for which type.

Each row follows the manual (seed/continuing-education-manual.zh.txt; docs/rules.md quotes the
lines). Where the manual sends a type to a desk or to the exam centre's notices instead of
stating a rule, the row says so and the product does not invent the rule for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.registry import (
    SITE_PRO_CATEGORIES,
    TRACKS,
    Certificate,
    CertType,
    RegistryStatus,
    SiteRole,
    Track,
    due_from,
    void_date,
)

# 「C证、塔式起重机司机、建筑起重司索信号工的延期申请与补考请咨询：0871-65631360」
T2_APPLICATIONS_DESK = "0871-65631360"


@dataclass(frozen=True, slots=True)
class CertRules:
    track: Track
    # 四（二）2: void 3 months after expiry without CE, stated for AB证 and 现场专业人员 only.
    voids_after_three_months: bool
    # 四（二）1: renewal from 3 months before to 3 months after expiry (AB证, 现场专业人员).
    renewal_window_stated: bool
    # 三（二）1: face recognition in the study client (特种作业人员、AB证、现场专业人员).
    face_checks_required: bool
    # 三（4）1: extension and make-up applied for online (the same three T1 types).
    applies_online: bool
    # 三（4）2: otherwise a phone desk decides extension and make-up.
    applications_desk: str | None


_T1 = CertRules(Track.T1, False, False, True, True, None)

RULES: dict[CertType, CertRules] = {
    # 特种作业人员: renewal and voiding follow the exam centre's notice (四（一）).
    CertType.SPECIAL_OPS: _T1,
    CertType.SAFETY_A: CertRules(Track.T1, True, True, True, True, None),
    CertType.SAFETY_B: CertRules(Track.T1, True, True, True, True, None),
    CertType.SITE_PRO: CertRules(Track.T1, True, True, True, True, None),
    CertType.SAFETY_C: CertRules(Track.T2, False, False, False, False, T2_APPLICATIONS_DESK),
    CertType.TOWER_CRANE: CertRules(Track.T2, False, False, False, False, T2_APPLICATIONS_DESK),
    CertType.RIGGER: CertRules(Track.T2, False, False, False, False, T2_APPLICATIONS_DESK),
}

assert all(RULES[t].track is TRACKS[t] for t in CertType)  # one source for the track


def rules_for(cert_type: CertType | str) -> CertRules:
    """The type's row. The roles of 现场专业人员 share it: the manual writes its rules for
    现场专业人员 as a whole (L11, L93, L107, L134-136), never for one role."""
    return RULES[CertType(cert_type)]


@dataclass(frozen=True, slots=True)
class RoleRules:
    # 一 C (L26): 「施工员证需要勾选类别」; no other role is given a category by the manual.
    categories: tuple[str, ...] = ()


ROLE_RULES: dict[SiteRole, RoleRules] = {role: RoleRules() for role in SiteRole}
ROLE_RULES[SiteRole.CONSTRUCTION] = RoleRules(categories=SITE_PRO_CATEGORIES)


def categories_for(cert_type: CertType | str, role: SiteRole | None) -> tuple[str, ...]:
    """The categories a certificate of this type and role is enrolled with (R-ENROL-4). A
    现场专业人员 certificate whose role the roster did not give keeps the 施工员 list: a
    category on it can only be a 施工员's."""
    if CertType(cert_type) is not CertType.SITE_PRO:
        return ()
    return ROLE_RULES[role].categories if role is not None else SITE_PRO_CATEGORIES


def needs_category_check(certificate: Certificate) -> bool:
    """R-ENROL-4, S3: the holder or the enterprise contact sees the category before enrolling,
    whenever the registry gives one of a role that has them; a 施工员 certificate without one
    is shown too (「施工员证需要勾选类别」), so that staff can be asked to set it."""
    if not categories_for(certificate.cert_type, certificate.role):
        return False
    return certificate.category is not None or certificate.role is SiteRole.CONSTRUCTION


def category_checks(chosen: list[Certificate]) -> list[Certificate]:
    """Every chosen certificate whose category is confirmed before enrolment, in order."""
    return [c for c in chosen if needs_category_check(c)]


def voiding_types() -> list[CertType]:
    return [t for t, rules in RULES.items() if rules.voids_after_three_months]


def void_on(cert_type: CertType | str, expires_on: date) -> date | None:
    """R-CERT-2 where the manual states it; None where the exam centre decides (no void date of
    our own)."""
    return void_date(expires_on) if rules_for(cert_type).voids_after_three_months else None


def is_void(certificate: Certificate, today: date) -> bool:
    """Void in the registry, or past the void date the manual gives this type."""
    if certificate.status is RegistryStatus.VOID:
        return True
    on = void_on(certificate.cert_type, certificate.expires_on)
    return on is not None and today >= on


def is_ce_due(certificate: Certificate, today: date) -> bool:
    """CE is due in the year before expiry and until the void date (an enterprise sees these
    preselected, S4); later or voided certificates are not."""
    return not is_void(certificate, today) and due_from(certificate) <= today
