"""/metrics read as Prometheus reads it."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample(exposition: str | bytes, name: str, **labels: str) -> float | None:
    """The value of one series, or None when the scrape does not have it."""
    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return None


def label_values(exposition: str | bytes, label: str) -> set[str]:
    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    return {
        found.labels[label]
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if label in found.labels
    }
