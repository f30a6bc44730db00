// nextbest-mock-kafka: librdkafka's mock Kafka cluster (rdkafka_mock.h) as a
// process of its own, for the local cluster (scripts/cluster) and the
// multi-process tests (tests/cluster/). It speaks the Kafka protocol on
// loopback, keeps records in memory while it runs and exits on
// SIGTERM/SIGINT. librdkafka's mock keeps at most the last 100,000 records
// or 5 MB of each partition (its own limits): beyond that, a wiped node
// cannot rebuild from the log alone (the node says so and stays
// NOT_SERVING). Not for production: a real Kafka (or Redpanda, MSK,
// Event Hubs, Confluent) replaces it with the same node flags.
//
//   nextbest-mock-kafka --brokers=3
//   --topics=nextbest.events:12,nextbest.catalog:1,nextbest.models:1 \
//       --bootstrap_file=/tmp/kafka.addr

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

ABSL_FLAG(int, brokers, 3, "Brokers in the mock cluster");
ABSL_FLAG(std::vector<std::string>, topics,
          (std::vector<std::string>{"nextbest.events:12", "nextbest.catalog:1",
                                    "nextbest.models:1"}),
          "Topics to create, NAME:PARTITIONS (replication factor: min(3, brokers))");
ABSL_FLAG(std::string, bootstrap_file, "",
          "Write the bootstrap servers (HOST:PORT,...) to this file once listening");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("librdkafka's mock Kafka cluster as a process (tests, demos)");
  absl::ParseCommandLine(argc, argv);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::fprintf(stderr, "nextbest-mock-kafka: %s\n", err);
    return 1;
  }
  const int brokers = absl::GetFlag(FLAGS_brokers);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) {
    std::fprintf(stderr, "nextbest-mock-kafka: cannot create the mock cluster\n");
    return 1;
  }
  for (const std::string& t : absl::GetFlag(FLAGS_topics)) {
    std::vector<std::string> parts = absl::StrSplit(t, ':');
    int partitions = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &partitions) || partitions < 1) {
      std::fprintf(stderr, "--topics: '%s' is not NAME:PARTITIONS\n", t.c_str());
      return 2;
    }
    const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(cluster, parts[0].c_str(), partitions,
                                                             brokers < 3 ? brokers : 3);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "nextbest-mock-kafka: topic %s: %s\n", parts[0].c_str(),
                   rd_kafka_err2str(e));
      return 1;
    }
  }
  const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
  const std::string file = absl::GetFlag(FLAGS_bootstrap_file);
  if (!file.empty()) {
    const std::string tmp = file + ".tmp";
    std::ofstream(tmp) << bootstraps << "\n";
    std::rename(tmp.c_str(), file.c_str());  // readers never see half a line
  }
  std::printf("%s\n", bootstraps.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
