"""Pure rules of the 现场专业人员 roles: which carry a category, which certificates are asked
about before enrolling (R-ENROL-4, manual line 26; issue 18, item 4)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from domain.certrules import categories_for, category_checks, rules_for
from domain.registry import SITE_PRO_CATEGORIES, Certificate, CertType, RegistryStatus, SiteRole


def certificate(
    number: str, cert_type: CertType, role: SiteRole | None, category: str | None
) -> Certificate:
    return Certificate(
        number,
        cert_type,
        "530102198501010011",
        "张三",
        date(2027, 1, 1),
        RegistryStatus.VALID,
        category=category,
        role=role,
    )


def test_only_the_construction_worker_has_categories():
    assert categories_for(CertType.SITE_PRO, SiteRole.CONSTRUCTION) == SITE_PRO_CATEGORIES
    assert SITE_PRO_CATEGORIES == ("土建", "装饰装修", "设备安装", "市政")
    for role in set(SiteRole) - {SiteRole.CONSTRUCTION}:
        assert categories_for(CertType.SITE_PRO, role) == ()
    for cert_type in set(CertType) - {CertType.SITE_PRO}:
        assert categories_for(cert_type, None) == ()


def test_every_role_follows_the_rules_the_manual_writes_for_on_site_professionals():
    row = rules_for(CertType.SITE_PRO)
    assert row.voids_after_three_months and row.renewal_window_stated and row.applies_online


roles = st.sampled_from([None, *SiteRole])
types = st.sampled_from(list(CertType))
categories = st.sampled_from([None, *SITE_PRO_CATEGORIES])


@given(st.lists(st.tuples(types, roles, categories), max_size=12))
def test_every_chosen_certificate_with_a_category_of_its_role_is_asked_in_order(chosen):
    certificates = [
        certificate(f"N{i}", t, r if t is CertType.SITE_PRO else None, c)
        for i, (t, r, c) in enumerate(chosen)
    ]
    asked = category_checks(certificates)
    assert asked == [
        c
        for c in certificates
        if categories_for(c.cert_type, c.role)
        and (c.category is not None or c.role is SiteRole.CONSTRUCTION)
    ]
    assert all(c.cert_type is CertType.SITE_PRO for c in asked)
    assert all(c.role in (None, SiteRole.CONSTRUCTION) for c in asked)
