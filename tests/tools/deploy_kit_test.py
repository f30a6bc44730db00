#!/usr/bin/env python3
"""The deploy kit (deploy/), checked without a container engine or a
Kubernetes cluster (CI has neither): the Dockerfile's structure, the
manifests and dashboard equal to their generators' output and well formed,
every server flag they pass exists, the proxy config valid for HAProxy,
the alert rules valid and their unit tests passing (promtool), and every
metric the rules and the dashboard query one the server exports.

  deploy_kit_test.py SOURCE_DIR SERVER_BIN CLI_BIN
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

src, server_bin, cli_bin = sys.argv[1:4]
deploy = os.path.join(src, "deploy")
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


server_flags = set(re.findall(r"--([a-z_]+)", run(server_bin, "--helpfull").stdout))
check("kafka_brokers" in server_flags and "shard" in server_flags, "server --helpfull lists flags")
cli_help = run(cli_bin, "--help").stdout + run(cli_bin, "--help").stderr


def flags_exist(text, where):
    for flag in re.findall(r"--([a-z_]+)=", text):
        check(flag in server_flags, f"{where}: --{flag} is not a flag of nextbest-server")


# Dockerfile
docker = open(os.path.join(deploy, "Dockerfile")).read()
froms = re.findall(r"^FROM (\S+)", docker, re.M)
check(len(froms) >= 2, "Dockerfile: multi-stage")
check(all(f.startswith("debian:bookworm") for f in froms), f"Dockerfile: bookworm bases {froms}")
users = re.findall(r"^USER (\S+)", docker, re.M)
check(users and users[-1] not in ("root", "0"), "Dockerfile: runs as a non-root user")
check(re.search(r"useradd .*nextbest", docker), "Dockerfile: creates the nextbest user")
exposed = set(re.findall(r"^EXPOSE (.+)$", docker, re.M)[0].split())
check({"50051", "9464", "7400"} <= exposed, f"Dockerfile: exposes gRPC, metrics, agent {exposed}")
check(re.search(r'^ENTRYPOINT \["nextbest-server"\]', docker, re.M), "Dockerfile: entrypoint")
cmd = docker[docker.index("\nCMD"):]
flags_exist(cmd, "Dockerfile CMD")
check(re.search(r'HEALTHCHECK .*\n.*"nextbest".*"health"', docker), "Dockerfile: health check")
check("  health " in cli_help, "the CLI has the health command the HEALTHCHECK runs")
check("COPY --from=build /build/server/nextbest-server" in docker, "Dockerfile: copies the server")

# Kubernetes manifests: equal to the generator's output, well formed.
gen = run(sys.executable, os.path.join(deploy, "k8s", "generate.py"))
check(gen.returncode == 0, "k8s/generate.py runs")
committed = open(os.path.join(deploy, "k8s", "nextbest.yaml")).read()
check(gen.stdout == committed, "deploy/k8s/nextbest.yaml is generate.py's output (regenerate it)")
docs = [d for d in yaml.safe_load_all(committed) if d]
kinds = [d["kind"] for d in docs]
for kind in ("StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap", "Deployment", "Secret"):
    check(kind in kinds, f"k8s: a {kind}")
for d in docs:
    check("apiVersion" in d and "metadata" in d and "name" in d["metadata"], f"k8s: {d['kind']} names")
sets = [d for d in docs if d["kind"] == "StatefulSet"]
check(len(sets) == 3, "k8s: one StatefulSet per shard (3)")
for s in sets:
    spec = s["spec"]
    name = s["metadata"]["name"]
    check(spec.get("serviceName") and spec.get("replicas") == 2, f"{name}: service, 2 replicas")
    check(spec.get("volumeClaimTemplates"), f"{name}: a PVC per pod")
    pod = spec["template"]["spec"]
    check(pod["securityContext"].get("runAsNonRoot") is True, f"{name}: non-root")
    c = pod["containers"][0]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        check(c.get(probe, {}).get("grpc", {}).get("port") == 50051, f"{name}: gRPC {probe}")
    check(c["resources"]["requests"].get("cpu") and c["resources"]["requests"].get("memory"),
          f"{name}: resource requests")
    flags_exist(" ".join(c["args"]), name)
    check(any(p["kind"] == "PodDisruptionBudget" and p["metadata"]["name"] == name for p in docs),
          f"{name}: a PodDisruptionBudget")
proxy_cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "nextbest-haproxy")
with tempfile.TemporaryDirectory() as tmp:
    lua = os.path.join(tmp, "nextbest_shard.lua")
    open(lua, "w").write(proxy_cm["data"]["nextbest_shard.lua"])
    cfg = os.path.join(tmp, "haproxy.cfg")
    open(cfg, "w").write(proxy_cm["data"]["haproxy.cfg"].replace("/etc/haproxy/nextbest_shard.lua", lua))
    r = run("haproxy", "-c", "-f", cfg)
    check(r.returncode == 0, "the proxy's config is valid for HAProxy: " + r.stdout + r.stderr)
check(proxy_cm["data"]["nextbest_shard.lua"] == open(os.path.join(deploy, "haproxy", "nextbest_shard.lua")).read(),
      "the proxy's Lua script is the shipped one")

# Prometheus: rules valid and tested, config well formed.
prom = os.path.join(deploy, "prometheus")
r = run("promtool", "check", "rules", os.path.join(prom, "alerts.yml"))
check(r.returncode == 0, "promtool check rules: " + r.stdout + r.stderr)
r = run("promtool", "test", "rules", os.path.join(prom, "alerts_test.yml"))
check(r.returncode == 0, "promtool test rules: " + r.stdout + r.stderr)
config = yaml.safe_load(open(os.path.join(prom, "prometheus.yml")))
check("alerts.yml" in config["rule_files"], "prometheus.yml loads the rules")
check(any(j["job_name"] == "nextbest" for j in config["scrape_configs"]), "prometheus.yml scrapes nextbest")
rules = yaml.safe_load(open(os.path.join(prom, "alerts.yml")))
names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
for needed in ("NextbestErrorRatioHigh", "NextbestDecisionP99High", "NextbestIngestLagHigh",
               "NextbestWriteErrors", "NextbestDiskFilling", "NextbestModelsNotGlobal"):
    check(needed in names, f"alert {needed}")

# Grafana: equal to the generator's output; panels with queries.
gen = run(sys.executable, os.path.join(deploy, "grafana", "generate.py"))
dash_text = open(os.path.join(deploy, "grafana", "nextbest.json")).read()
check(gen.stdout == dash_text, "deploy/grafana/nextbest.json is generate.py's output (regenerate it)")
dash = json.loads(dash_text)
check(dash.get("uid") and dash.get("panels"), "dashboard: uid and panels")
titles = " ".join(p["title"] for p in dash["panels"]).lower()
for topic in ("requests", "errors", "latency", "placement", "ingest", "lag", "cap", "experiments"):
    check(topic in titles or topic.rstrip("s") in titles, f"dashboard: a panel about {topic}")
for p in dash["panels"]:
    check(p.get("targets") and all(t.get("expr") for t in p["targets"]), f"panel {p['title']}: queries")

# Every nextbest metric queried is one the server exports.
server_src = ""
for d in ("server",):
    for f in os.listdir(os.path.join(src, d)):
        if f.endswith(".cc"):
            server_src += open(os.path.join(src, d, f)).read()
queried = set(re.findall(r"nextbest_[a-z_]+", dash_text + open(os.path.join(prom, "alerts.yml")).read()))
for m in sorted(queried):
    base = re.sub(r"_(bucket|count|sum)$", "", m)
    check(f'"{base}"' in server_src, f"metric {m}: not exported by the server")

if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
print(f"deploy kit: {len(docs)} manifests, {len(names)} alert rules, {len(dash['panels'])} panels OK")
