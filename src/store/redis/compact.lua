redis.call('DEL', KEYS[4])
local base = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
local at, keep = tonumber(ARGV[1]), tonumber(ARGV[3])
if len == 0 or at > base + len or redis.call('TTL', KEYS[1]) >= 0 then return 0 end
local cur = redis.call('GET', KEYS[3])
if cur and tonumber(string.match(cur, '^(%d+) ')) >= at then return 0 end
redis.call('SET', KEYS[3], ARGV[1] .. ' ' .. ARGV[2])
local cut = at - keep
if cut > base then
  redis.call('LTRIM', KEYS[1], cut - base, -1)
  redis.call('SET', KEYS[2], cut)
end
return 1
