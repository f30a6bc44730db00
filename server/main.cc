// nextbest-server: the gRPC service. See README.md for the flags.

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "server/app.h"
#include "server/log.h"
#include "server/protobuf_log.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50051",
          "gRPC listen address HOST:PORT (port 0: any free port)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "Prometheus /metrics address HOST:PORT (port 0: any; empty: off)");
ABSL_FLAG(std::string, http_address, "127.0.0.1:8080",
          "host:port of the HTTP/JSON API and the marketer console (/console/); empty: none");
ABSL_FLAG(int, http_threads, 2, "HTTP event loops (each serves its connections' calls in turn)");
ABSL_FLAG(std::vector<std::string>, http_cors_origins, {},
          "Origins a browser may call the HTTP API from (e.g. https://www.shop.example); * any");
ABSL_FLAG(int64_t, http_max_stream_bytes, 64 << 20,
          "HTTP answers of streaming RPCs (JSON lines) are buffered up to this size");
ABSL_FLAG(bool, http_console, true, "Serve the marketer console under /console/");
ABSL_FLAG(std::string, data_dir, "./data", "RocksDB data directory (created if missing)");
ABSL_FLAG(std::string, config, "",
          "Config file (protobuf text format of nextbest.config.v1.ServerConfig)");
ABSL_FLAG(bool, request_metrics, true,
          "Record per-request metrics (off only to measure their cost)");
ABSL_FLAG(std::string, admin_token_file, "",
          "File holding the admin token for admin and privacy RPCs (default: DATA_DIR/admin_token, "
          "created with a random token, mode 0600, at the first start)");
ABSL_FLAG(bool, verify_checksums, true,
          "Verify the checksum of every database block at start; refuse to serve on corruption");
ABSL_FLAG(std::string, tls_cert_file, "",
          "TLS certificate chain (PEM) for the gRPC port; empty: plaintext");
ABSL_FLAG(std::string, tls_key_file, "", "TLS private key (PEM) for --tls_cert_file");
ABSL_FLAG(
    std::string, tls_client_ca_file, "",
    "CA (PEM) whose client certificates are required (mutual TLS); empty: no client certificates");
ABSL_FLAG(int, max_concurrent_streams, 1000,
          "Open StreamEvents calls at once; more are answered RESOURCE_EXHAUSTED at once");
ABSL_FLAG(int, max_concurrent_batches, 4,
          "Open DecideForAll calls at once; more are answered RESOURCE_EXHAUSTED at once");
ABSL_FLAG(int, batch_threads, 0, "Worker threads all DecideForAll calls share (0: one per core)");
ABSL_FLAG(bool, accept_wal_loss, false,
          "Start even if the write-ahead log holds fewer acknowledged writes than were "
          "acknowledged (a truncated or deleted WAL); the loss is logged and counted. Without it "
          "the server exits 1 naming the loss");
ABSL_FLAG(
    std::string, reapply_erasures, "",
    "Erasures to re-apply before serving (JSON lines of `nextbest erasures`): after restoring a "
    "checkpoint taken before some of them");
// Cluster mode (README "Cluster"): all of these with --kafka_brokers.
ABSL_FLAG(std::string, kafka_brokers, "",
          "Cluster mode: Kafka bootstrap servers HOST:PORT,...; empty: a single process");
ABSL_FLAG(std::string, events_topic, "nextbest.events",
          "Cluster: the topic of events and customer records (keyed by customer id)");
ABSL_FLAG(std::string, catalog_topic, "nextbest.catalog",
          "Cluster: the topic of products, stores and stock (one partition)");
ABSL_FLAG(std::string, models_topic, "nextbest.models",
          "Cluster mode: the Kafka topic the shards exchange their model parts through (one "
          "partition, cleanup.policy=compact): neighbours, cut points, segment sizes and trending "
          "are the whole population's");
ABSL_FLAG(int, shards, 1, "Cluster: number of shards (partition p belongs to shard p % shards)");
ABSL_FLAG(int, shard, 0, "Cluster: this node's shard, 0..shards-1");
ABSL_FLAG(int, replicas, 1,
          "Cluster: replicas per shard (each node serves its share of an offer's total cap)");
ABSL_FLAG(int, replica, 0, "Cluster: this node's replica number, 0..replicas-1");
ABSL_FLAG(std::vector<std::string>, peers, {},
          "Cluster: every node as SHARD@HOST:PORT (comma-separated); requests about another "
          "shard's customers are forwarded to them");
ABSL_FLAG(std::string, advertised_address, "",
          "Cluster: this node's own entry in --peers (default: --grpc_address)");
ABSL_FLAG(
    int64_t, max_serving_lag, 1000,
    "Cluster: a starting node reports SERVING once every owned partition is at most this many "
    "records behind the log");
ABSL_FLAG(int, consistency_wait_ms, 50,
          "Cluster: how long a Recommend waits at most for its consistency token");
ABSL_FLAG(std::string, agent_address, "",
          "Cluster: HAProxy agent-check address HOST:PORT (answers up/down); empty: off");
ABSL_FLAG(std::vector<std::string>, kafka_property, {},
          "Cluster: extra librdkafka properties NAME=VALUE (comma-separated), e.g. "
          "security.protocol=ssl");
ABSL_FLAG(int, drain_seconds, 10, "On SIGTERM: how long in-flight calls may take to finish");

int main(int argc, char** argv) {
  // Everything the server creates (the data directory, RocksDB's files,
  // the admin token) is the service user's alone: 0700 / 0600.
  umask(077);
  nextbest::server::InstallRateLimitedProtobufLog();
  absl::SetProgramUsageMessage("nextbest real-time personalization service");
  absl::ParseCommandLine(argc, argv);

  // Signals are taken by sigwait below, never by a random thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  nextbest::server::AppOptions options;
  options.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.http_address = absl::GetFlag(FLAGS_http_address);
  options.http_threads = absl::GetFlag(FLAGS_http_threads);
  options.http.cors_origins = absl::GetFlag(FLAGS_http_cors_origins);
  options.http.max_stream_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_http_max_stream_bytes));
  options.http.console = absl::GetFlag(FLAGS_http_console);
  options.config_path = absl::GetFlag(FLAGS_config);
  options.request_metrics = absl::GetFlag(FLAGS_request_metrics);
  options.admin_token_file = absl::GetFlag(FLAGS_admin_token_file);
  options.verify_checksums = absl::GetFlag(FLAGS_verify_checksums);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.accept_wal_loss = absl::GetFlag(FLAGS_accept_wal_loss);
  options.reapply_erasures = absl::GetFlag(FLAGS_reapply_erasures);
  options.max_concurrent_batches = absl::GetFlag(FLAGS_max_concurrent_batches);
  options.batch_threads = absl::GetFlag(FLAGS_batch_threads);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  options.cluster.kafka_brokers = absl::GetFlag(FLAGS_kafka_brokers);
  options.cluster.events_topic = absl::GetFlag(FLAGS_events_topic);
  options.cluster.catalog_topic = absl::GetFlag(FLAGS_catalog_topic);
  options.cluster.models_topic = absl::GetFlag(FLAGS_models_topic);
  options.cluster.shards = absl::GetFlag(FLAGS_shards);
  options.cluster.shard = absl::GetFlag(FLAGS_shard);
  options.cluster.replicas = absl::GetFlag(FLAGS_replicas);
  options.cluster.replica = absl::GetFlag(FLAGS_replica);
  options.cluster.peers = absl::GetFlag(FLAGS_peers);
  options.cluster.self_address = absl::GetFlag(FLAGS_advertised_address);
  options.cluster.max_serving_lag = absl::GetFlag(FLAGS_max_serving_lag);
  options.cluster.consistency_wait_ms = absl::GetFlag(FLAGS_consistency_wait_ms);
  options.cluster.agent_address = absl::GetFlag(FLAGS_agent_address);
  for (const std::string& kv : absl::GetFlag(FLAGS_kafka_property)) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "--kafka_property: '%s' is not NAME=VALUE\n", kv.c_str());
      return 2;
    }
    options.cluster.kafka_properties[kv.substr(0, eq)] = kv.substr(eq + 1);
  }

  auto app = nextbest::server::App::Start(options);
  if (!app.ok()) {
    nextbest::server::Log("cannot start: %s", app.status().ToString());
    return 1;
  }
  nextbest::server::Log(
      "serving gRPC on port %d, metrics on port %d, HTTP on port %d, data in %s%s",
      (*app)->grpc_port(), (*app)->metrics_port(), (*app)->http_port(), options.data_dir,
      options.tls_cert_file.empty()        ? " (plaintext)"
      : options.tls_client_ca_file.empty() ? " (TLS)"
                                           : " (mutual TLS)");

  int sig = 0;
  // SIGHUP: reload the config file; a bad one is logged and ignored.
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    auto reloaded = (*app)->ReloadConfig(/*allow_removing_placements=*/false);
    if (!reloaded.ok()) {
      nextbest::server::Log("SIGHUP: config not reloaded, the old one keeps serving: %s",
                            reloaded.status().ToString());
    }
  }
  nextbest::server::Log("signal %d: draining and shutting down", sig);
  (*app)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_drain_seconds)));
  nextbest::server::Log("stopped cleanly");
  return 0;
}
