"""Every metric the shipped dashboard and alert rules name is one the processes
export, and every exported metric is documented: a renamed metric fails here, not
on an operator's empty graph or an alert that can never fire."""

import json
import re
from pathlib import Path

import yaml

from mentor_notify.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bmentor_notify_[a-z0-9_]+\b")
# The series a metric of each type puts in Prometheus (what PromQL names).
SERIES_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}


def exported() -> dict[str, str]:
    """Series name -> metric name, for every metric of the worker's registry (which
    holds the API's job metrics and the database gauges too)."""
    metrics = Metrics(database=True)
    names: dict[str, str] = {}
    for family in metrics.registry.collect():
        for suffix in SERIES_SUFFIXES[family.type]:
            names[family.name + suffix] = family.name
    return names


def dashboard_queries() -> list[str]:
    document = json.loads((ROOT / "deploy/grafana/mentor-notify.json").read_text())
    return [t["expr"] for p in document["panels"] for t in p["targets"]]


def alert_expressions() -> list[str]:
    document = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    return [rule["expr"] for group in document["groups"] for rule in group["rules"]]


def alert_test_series() -> list[str]:
    document = yaml.safe_load((ROOT / "deploy/prometheus/alerts_test.yml").read_text())
    return [s["series"] for test in document["tests"] for s in test["input_series"]]


def test_every_dashboard_query_names_only_exported_metrics() -> None:
    names = exported()
    queries = dashboard_queries()
    assert queries
    for query in queries:
        used = NAME.findall(query)
        assert used, f"a panel query names no mentor-notify metric: {query}"
        assert not set(used) - names.keys(), query


def test_every_alert_rule_and_its_test_data_name_only_exported_metrics() -> None:
    names = exported()
    expressions = alert_expressions()
    assert len(expressions) == 8
    for text in expressions + alert_test_series():
        used = NAME.findall(text)
        assert used, f"names no mentor-notify metric: {text}"
        assert not set(used) - names.keys(), text


def test_every_exported_metric_is_documented() -> None:
    documented = set(NAME.findall((ROOT / "docs/operations.md").read_text()))
    named = documented | {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in documented}
    assert not set(exported().values()) - named
