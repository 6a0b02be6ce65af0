"""The records pages' queries on PostgreSQL, as production runs them: the same tests as on
SQLite (joins through bindings and enterprises, keyset batches of the export, orders with
what they covered)."""

from __future__ import annotations

import pytest

from tests.web.test_application_form_postgres import database
from tests.web.test_records_web import (
    people,
    test_a_contact_cannot_open_another_enterprises_employee_or_receipt,
    test_a_contact_sees_only_their_enterprises_employees_with_counts_per_state,
    test_a_payer_sees_every_order_what_it_covered_and_downloads_the_invoices,
    test_a_trainee_sees_both_years_with_hours_attempts_best_score_and_the_receipt,
    test_the_export_has_chinese_headers_masked_values_and_every_filtered_row,
)

__all__ = [
    "database",  # a fresh PostgreSQL database per test
    "people",  # the fixture, here on PostgreSQL
    "test_a_contact_cannot_open_another_enterprises_employee_or_receipt",
    "test_a_contact_sees_only_their_enterprises_employees_with_counts_per_state",
    "test_a_payer_sees_every_order_what_it_covered_and_downloads_the_invoices",
    "test_a_trainee_sees_both_years_with_hours_attempts_best_score_and_the_receipt",
    "test_the_export_has_chinese_headers_masked_values_and_every_filtered_row",
]

pytestmark = pytest.mark.postgres
