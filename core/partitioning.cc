#include "core/partitioning.h"

#include <cstring>

namespace nextbest::core {

int32_t KafkaMurmur2(std::string_view key) {
  // MurmurHash2, 32-bit, little-endian 4-byte blocks, as Kafka's
  // Utils.murmur2 (the arithmetic is unsigned here, identical bit for bit).
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const size_t length = key.size();
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  const size_t blocks = length / 4;
  for (size_t i = 0; i < blocks; ++i) {
    const size_t o = i * 4;
    uint32_t k = static_cast<uint32_t>(data[o]) | (static_cast<uint32_t>(data[o + 1]) << 8) |
                 (static_cast<uint32_t>(data[o + 2]) << 16) |
                 (static_cast<uint32_t>(data[o + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = blocks * 4;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(data[tail]);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  int32_t out;
  std::memcpy(&out, &h, sizeof out);
  return out;
}

int32_t KafkaPartition(std::string_view key, int32_t partitions) {
  const uint32_t positive = static_cast<uint32_t>(KafkaMurmur2(key)) & 0x7fffffffu;
  return static_cast<int32_t>(positive % static_cast<uint32_t>(partitions < 1 ? 1 : partitions));
}

}  // namespace nextbest::core
