-- deploy/haproxy/nextbest_shard.lua against Kafka's murmur2 test vectors
-- and core/partitioning.h's rule (the same vectors as
-- tests/core/partitioning_test.cc): the proxy and the nodes agree.
local dir = arg[1]
local m = dofile(dir .. "/deploy/haproxy/nextbest_shard.lua")
local function signed(h) if h >= 0x80000000 then return h - 0x100000000 end return h end
local cases = {
  ["21"] = -973932308, ["foobar"] = -790332482,
  ["a-little-bit-long-string"] = -985981536,
  ["a-little-bit-longer-string"] = -1486304829,
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"] = -58897971,
  ["abc"] = 479470107, ["1"] = -1993445489, ["12"] = 126087238, ["123"] = -267702483,
  ["1234"] = -1614185708, ["12345"] = -1188365604,
}
local failed = 0
for key, want in pairs(cases) do
  local got = signed(m.murmur2(key))
  if got ~= want then
    print(string.format("murmur2(%q) = %d, want %d", key, got, want))
    failed = failed + 1
  end
end
-- partition = (murmur2 & 0x7fffffff) % 12; shard = partition % 3
local want_shard = tostring(((-790332482 & 0x7fffffff) % 12) % 3)
if m.shard("foobar", "12", "3") ~= want_shard then
  print("shard(foobar) = " .. m.shard("foobar", "12", "3") .. ", want " .. want_shard)
  failed = failed + 1
end
if failed > 0 then os.exit(1) end
print("nextbest_shard.lua: " .. 12 .. " vectors agree")
