#!/usr/bin/env python3
"""Writes the Kubernetes manifests of a nextbest cluster (deploy/k8s/nextbest.yaml):

  deploy/k8s/generate.py --shards 3 --replicas 2 --partitions 12 > deploy/k8s/nextbest.yaml

- one StatefulSet per shard (its pods are the shard's replicas: the pod
  ordinal is the replica number), a headless Service each, a PVC per pod
  for RocksDB, native gRPC liveness/readiness probes on grpc.health.v1
  (readiness: SERVING once caught up with the log), a PodDisruptionBudget
  per shard (at most one replica down at a time);
- HAProxy (Deployment, 2 pods, ConfigMap from deploy/haproxy/) routing on
  the x-customer-id header, and its Service;
- the shared config (ConfigMap) and admin token (Secret, to fill in).
Kafka is the retailer's own (brokers in the ConfigMap `nextbest-kafka`);
create the topics first: <events topic> with --partitions partitions and
the catalog topic with 1, replication factor 3, retention forever (a wiped
node rebuilds from them).

Requests are sized from bench/RESULTS.md (2 cores; about 1 KiB of memory
per customer plus the catalog and models; README "Capacity").
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "haproxy"))
import haproxy_config  # noqa: E402


def node_args(shard, shards, replicas, peers):
    return ("exec nextbest-server --grpc_address=0.0.0.0:50051 --http_address=0.0.0.0:8080 "
            "--metrics_address=0.0.0.0:9464 "
            "--data_dir=/var/lib/nextbest --config=/etc/nextbest/nextbest.textproto "
            "--admin_token_file=/etc/nextbest-secret/admin_token "
            "--kafka_brokers=$(KAFKA_BROKERS) "
            f"--shards={shards} --shard={shard} --replicas={replicas} --replica=${{HOSTNAME##*-}} "
            f"--peers={peers} "
            "--advertised_address=${HOSTNAME}." + f"nextbest-shard-{shard}:50051 "
            "--agent_address=0.0.0.0:7400")


def render(shards, replicas, partitions, image, memory, cpu, storage):
    peers = ",".join(f"{s}@nextbest-shard-{s}-{r}.nextbest-shard-{s}:50051"
                     for s in range(shards) for r in range(replicas))
    docs = []
    docs.append(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: nextbest-kafka
data:
  brokers: "kafka-0.kafka:9092,kafka-1.kafka:9092,kafka-2.kafka:9092"
""")
    docs.append("""apiVersion: v1
kind: Secret
metadata:
  name: nextbest-admin
type: Opaque
stringData:
  admin_token: "REPLACE-WITH-A-RANDOM-TOKEN"
""")
    for s in range(shards):
        docs.append(f"""apiVersion: v1
kind: Service
metadata:
  name: nextbest-shard-{s}
  labels: {{app: nextbest, shard: "{s}"}}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {{app: nextbest, shard: "{s}"}}
  ports:
    - {{name: grpc, port: 50051}}
    - {{name: http, port: 8080}}
    - {{name: metrics, port: 9464}}
    - {{name: agent, port: 7400}}
""")
        docs.append(f"""apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: nextbest-shard-{s}
  labels: {{app: nextbest, shard: "{s}"}}
spec:
  serviceName: nextbest-shard-{s}
  replicas: {replicas}
  podManagementPolicy: Parallel
  selector:
    matchLabels: {{app: nextbest, shard: "{s}"}}
  template:
    metadata:
      labels: {{app: nextbest, shard: "{s}"}}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9464"
    spec:
      securityContext: {{runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, runAsNonRoot: true}}
      terminationGracePeriodSeconds: 30
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector:
                matchLabels: {{app: nextbest, shard: "{s}"}}
              topologyKey: kubernetes.io/hostname
      containers:
        - name: nextbest
          image: {image}
          command: ["/bin/sh", "-c"]
          args:
            - "{node_args(s, shards, replicas, peers)}"
          env:
            - name: KAFKA_BROKERS
              valueFrom: {{configMapKeyRef: {{name: nextbest-kafka, key: brokers}}}}
          ports:
            - {{name: grpc, containerPort: 50051}}
            - {{name: http, containerPort: 8080}}
            - {{name: metrics, containerPort: 9464}}
            - {{name: agent, containerPort: 7400}}
          startupProbe:
            grpc: {{port: 50051}}
            periodSeconds: 5
            failureThreshold: 360
          readinessProbe:
            grpc: {{port: 50051}}
            periodSeconds: 2
            failureThreshold: 2
          livenessProbe:
            grpc: {{port: 50051}}
            periodSeconds: 10
            failureThreshold: 6
          resources:
            requests: {{cpu: "{cpu}", memory: "{memory}"}}
            limits: {{memory: "{memory}"}}
          volumeMounts:
            - {{name: data, mountPath: /var/lib/nextbest}}
            - {{name: config, mountPath: /etc/nextbest}}
            - {{name: admin, mountPath: /etc/nextbest-secret, readOnly: true}}
      volumes:
        - name: config
          configMap: {{name: nextbest-config}}
        - name: admin
          secret: {{secretName: nextbest-admin, defaultMode: 0400}}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests: {{storage: {storage}}}
""")
        docs.append(f"""apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: nextbest-shard-{s}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {{app: nextbest, shard: "{s}"}}
""")
    nodes = [f"{s}@nextbest-shard-{s}-{r}.nextbest-shard-{s}:50051@7400"
             for s in range(shards) for r in range(replicas)]
    cfg = haproxy_config.render("0.0.0.0:7000", partitions, shards,
                                "/etc/haproxy/nextbest_shard.lua", nodes, "0.0.0.0:8404")
    # Pod DNS names resolve only once the pods exist: resolve at run time.
    cfg = cfg.replace("global\n", "global\n  # resolvers: the cluster DNS, so that a pod's new IP is used\n", 1)
    cfg = cfg.replace("defaults\n", "resolvers k8s\n  parse-resolv-conf\n  hold valid 5s\n\ndefaults\n  default-server init-addr last,libc,none resolvers k8s\n", 1)
    lua = open(os.path.join(os.path.dirname(__file__), "..", "haproxy", "nextbest_shard.lua")).read()
    indent = lambda text: "\n".join("    " + line if line else "" for line in text.splitlines())
    docs.append(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: nextbest-haproxy
data:
  haproxy.cfg: |
{indent(cfg)}
  nextbest_shard.lua: |
{indent(lua)}
""")
    docs.append("""apiVersion: apps/v1
kind: Deployment
metadata:
  name: nextbest-proxy
  labels: {app: nextbest-proxy}
spec:
  replicas: 2
  selector:
    matchLabels: {app: nextbest-proxy}
  template:
    metadata:
      labels: {app: nextbest-proxy}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "8404"
    spec:
      securityContext: {runAsUser: 99, runAsGroup: 99, runAsNonRoot: true}
      containers:
        - name: haproxy
          image: haproxy:2.6
          args: ["-db", "-f", "/etc/haproxy/haproxy.cfg"]
          ports:
            - {name: grpc, containerPort: 7000}
            - {name: stats, containerPort: 8404}
          readinessProbe:
            tcpSocket: {port: 7000}
            periodSeconds: 2
          livenessProbe:
            tcpSocket: {port: 7000}
            periodSeconds: 10
          resources:
            requests: {cpu: "500m", memory: "128Mi"}
            limits: {memory: "256Mi"}
          volumeMounts:
            - {name: config, mountPath: /etc/haproxy}
      volumes:
        - name: config
          configMap: {name: nextbest-haproxy}
""")
    docs.append("""apiVersion: v1
kind: Service
metadata:
  name: nextbest
spec:
  selector: {app: nextbest-proxy}
  ports:
    - {name: grpc, port: 50051, targetPort: 7000, appProtocol: kubernetes.io/h2c}
""")
    docs.append("""apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: nextbest-proxy
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: nextbest-proxy}
""")
    header = ("# Generated by deploy/k8s/generate.py "
              f"--shards {shards} --replicas {replicas} --partitions {partitions}; "
              "the config ConfigMap: kubectl create configmap nextbest-config "
              "--from-file=nextbest.textproto=deploy/nextbest.textproto\n")
    return header + "---\n".join(docs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=12)
    ap.add_argument("--image", default="nextbest:latest")
    ap.add_argument("--memory", default="4Gi", help="per node (2.5 M customers / 3 shards: ~1 GiB)")
    ap.add_argument("--cpu", default="2")
    ap.add_argument("--storage", default="50Gi")
    a = ap.parse_args()
    sys.stdout.write(render(a.shards, a.replicas, a.partitions, a.image, a.memory, a.cpu,
                            a.storage))


if __name__ == "__main__":
    main()
