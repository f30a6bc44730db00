-- nextbest_shard: the shard that owns a customer, as HAProxy converter.
--
--   http-request set-var(req.shard) req.hdr(x-customer-id),lua.nextbest_shard(PARTITIONS,SHARDS)
--
-- The same rule as the nodes (core/partitioning.h) and every Kafka
-- producer keyed by customer id: partition = (murmur2(id) & 0x7fffffff) %
-- PARTITIONS (Kafka's Java default partitioner), shard = partition % SHARDS.
-- Lua 5.3 integers are 64-bit: products are masked back to 32 bits.

local M = 0x5bd1e995
local MASK = 0xffffffff

local function murmur2(data)
  local len = #data
  local h = (0x9747b28c ~ len) & MASK
  local i = 1
  while len - i + 1 >= 4 do
    local b1, b2, b3, b4 = string.byte(data, i, i + 3)
    local k = b1 | (b2 << 8) | (b3 << 16) | (b4 << 24)
    k = (k * M) & MASK
    k = k ~ (k >> 24)
    k = (k * M) & MASK
    h = (h * M) & MASK
    h = h ~ k
    i = i + 4
  end
  local rest = len - i + 1
  if rest == 3 then h = h ~ (string.byte(data, i + 2) << 16) end
  if rest >= 2 then h = h ~ (string.byte(data, i + 1) << 8) end
  if rest >= 1 then
    h = h ~ string.byte(data, i)
    h = (h * M) & MASK
  end
  h = h ~ (h >> 13)
  h = (h * M) & MASK
  h = h ~ (h >> 15)
  return h
end

local function shard(id, partitions, shards)
  local p = (murmur2(id) & 0x7fffffff) % tonumber(partitions)
  return tostring(p % tonumber(shards))
end

if core ~= nil then
  core.register_converters("nextbest_shard", shard)
end
return { murmur2 = murmur2, shard = shard }
