local base = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
local from, max = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {tostring(base), tostring(base + len)}
if from >= base and max > 0 then
  local got = redis.call('LRANGE', KEYS[1], from - base, from - base + max - 1)
  for i = 1, #got do out[#out + 1] = got[i] end
end
return out
