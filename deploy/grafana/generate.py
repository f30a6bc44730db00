#!/usr/bin/env python3
"""Writes deploy/grafana/nextbest.json, the Grafana dashboard of a nextbest
deployment (Prometheus data source, the metrics of deploy/prometheus/):
golden signals (traffic, errors, latency, saturation), decision latency per
placement, ingest rate and lag, cluster health, offer caps, experiments.

  deploy/grafana/generate.py > deploy/grafana/nextbest.json
"""
import json
import sys

PANELS = [
    # (title, unit, [(expr, legend)])
    ("Requests per second by RPC", "reqps",
     [("sum by (rpc) (rate(nextbest_requests_total[1m]))", "{{rpc}}")]),
    ("Server-side errors (share of calls)", "percentunit",
     [("sum(rate(nextbest_requests_total{code=~\"INTERNAL|UNAVAILABLE|UNKNOWN|DATA_LOSS|DEADLINE_EXCEEDED\"}[5m])) / sum(rate(nextbest_requests_total[5m]))", "errors")]),
    ("Request latency p99 by RPC", "s",
     [("histogram_quantile(0.99, sum by (rpc, le) (rate(nextbest_request_duration_seconds_bucket[5m])))", "{{rpc}}")]),
    ("Decision latency p50 / p99 by placement", "s",
     [("histogram_quantile(0.99, sum by (placement, le) (rate(nextbest_decision_duration_seconds_bucket[5m])))", "p99 {{placement}}"),
      ("histogram_quantile(0.5, sum by (placement, le) (rate(nextbest_decision_duration_seconds_bucket[5m])))", "p50 {{placement}}")]),
    ("Ingest: events applied per second", "ops",
     [("sum by (pod) (rate(nextbest_events_ingested_total[1m]))", "{{pod}}")]),
    ("Log lag (records not applied) per node", "short",
     [("sum by (pod) (nextbest_cluster_partition_lag)", "{{pod}}")]),
    ("Nodes serving / bootstrap progress", "short",
     [("sum(nextbest_cluster_serving)", "serving"),
      ("min(nextbest_cluster_bootstrap_progress)", "slowest bootstrap")]),
    ("Forwarded requests per second", "reqps",
     [("sum by (pod) (rate(nextbest_cluster_forwarded_total[1m]))", "{{pod}}"),
      ("sum(rate(nextbest_cluster_forward_errors_total[1m]))", "errors")]),
    ("Global models: shards merged in the last build (of all)", "short",
     [("min(nextbest_cluster_model_shards)", "fewest merged"),
      ("max(nextbest_cluster_shards)", "shards")]),
    ("Writer queue and write errors", "short",
     [("max by (pod) (nextbest_ingest_queue_depth)", "queue {{pod}}"),
      ("sum(increase(nextbest_write_errors_total[5m]))", "write errors (5m)")]),
    ("Customers in memory", "short",
     [("sum by (pod) (nextbest_customers_in_memory)", "{{pod}}")]),
    ("Offer cap usage (served / total cap, whole cluster)", "percentunit",
     [("sum by (offer) (nextbest_offer_served) / sum by (offer) (nextbest_offer_total_cap > 0)", "{{offer}}")]),
    ("Experiments: revenue per exposed customer", "short",
     [("sum by (experiment, variant) (nextbest_experiment_revenue_minor) / sum by (experiment, variant) (nextbest_experiment_exposed_customers)", "{{experiment}} {{variant}}")]),
]


def dashboard():
    panels = []
    for i, (title, unit, targets) in enumerate(PANELS):
        panels.append({
            "id": i + 1,
            "type": "timeseries",
            "title": title,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"refId": chr(ord("A") + k), "expr": expr, "legendFormat": legend}
                        for k, (expr, legend) in enumerate(targets)],
        })
    return {
        "uid": "nextbest",
        "title": "nextbest",
        "tags": ["nextbest"],
        "timezone": "browser",
        "schemaVersion": 37,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource",
                                 "query": "prometheus", "label": "Prometheus"}]},
        "panels": panels,
    }


if __name__ == "__main__":
    json.dump(dashboard(), sys.stdout, indent=2)
    sys.stdout.write("\n")
