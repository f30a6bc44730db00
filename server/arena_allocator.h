#pragma once
// ArenaMessageAllocator: request and response of a callback unary RPC on a
// protobuf Arena whose first block lives inside the holder, so a typical
// Recommend (a 10-item response: names, category paths, prices, reasons)
// makes one allocation instead of dozens. gRPC's default allocator places the
// two messages in the call arena but every string and repeated element of
// them still comes from the heap.

#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace nextbest::server {

template <typename Request, typename Response>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(initial_block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block) {
      google::protobuf::ArenaOptions o;
      o.initial_block = block;
      o.initial_block_size = kInitialBlock;
      return o;
    }
    static constexpr size_t kInitialBlock = 8192;
    alignas(16) char initial_block_[kInitialBlock];
    google::protobuf::Arena arena_;  // after the block it uses
  };
};

}  // namespace nextbest::server
