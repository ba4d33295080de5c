local ends = redis.call('HGET', KEYS[1], ARGV[1])
if not ends then return 0 end
ends = tonumber(ends) or 0
if ends > 0 then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) >= ends then return 0 end
end
local function move(d, sign)
  for i = 1, #d, 2 do
    local n = redis.call('HINCRBY', KEYS[3], d[i], sign * d[i + 1])
    if n == 0 then redis.call('HDEL', KEYS[3], d[i]) end
  end
end
local old = redis.call('HGET', KEYS[2], ARGV[2])
if old then move(cjson.decode(old).d, -1) end
if ARGV[3] == '' then
  if not old then return 2 end
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
  return 1
end
move(cjson.decode(ARGV[3]).d, 1)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
return 1
