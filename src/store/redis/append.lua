local op, q, arg = ARGV[2], ARGV[3], ARGV[4]
if op ~= 'create' and redis.call('EXISTS', KEYS[1]) == 0 then return {0, 1} end
if ARGV[9] ~= '' and redis.call('HGET', KEYS[9], q) ~= ARGV[9] then return {0, 2} end
local function move(d, sign)
  for i = 1, #d, 2 do
    local n = redis.call('HINCRBY', KEYS[5], d[i], sign * d[i + 1])
    if n == 0 then redis.call('HDEL', KEYS[5], d[i]) end
  end
end
if op == 'create' then
  if redis.call('EXISTS', KEYS[1], KEYS[6], KEYS[7]) > 0 then return {0, 0} end
  if tonumber(ARGV[10]) > 1 then redis.call('SET', KEYS[10], ARGV[10]) end
elseif op == 'add' then
  redis.call('SADD', KEYS[3], q)
elseif op == 'delete' then
  redis.call('SREM', KEYS[3], q)
  redis.call('HDEL', KEYS[2], q)
  redis.call('DEL', KEYS[4], KEYS[5])
elseif op == 'open' then
  if redis.call('SISMEMBER', KEYS[3], q) == 1 then redis.call('HSET', KEYS[2], q, arg) end
elseif op == 'close' then
  redis.call('HDEL', KEYS[2], q)
elseif op == 'timer' then
  local at = tonumber(redis.call('HGET', KEYS[2], q) or '0')
  if at > 0 and at <= tonumber(arg) then redis.call('HDEL', KEYS[2], q) end
elseif op == 'reset' then
  redis.call('DEL', KEYS[4], KEYS[5])
elseif op == 'hide' then
  local all = redis.call('HGETALL', KEYS[4])
  for i = 1, #all, 2 do
    local b = cjson.decode(all[i + 1])
    if b.e and b.e[1] == arg and not b.h then
      move(b.d, -1)
      b.d = {}
      b.h = true
      redis.call('HSET', KEYS[4], all[i], cjson.encode(b))
    end
  end
elseif op == 'end' then
  redis.call('DEL', KEYS[2])
  local tag = '{' .. ARGV[5] .. '}'
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    redis.call('EXPIRE', tag .. ':b:' .. id, ARGV[6])
    redis.call('EXPIRE', tag .. ':t:' .. id, ARGV[6])
  end
  redis.call('EXPIRE', tag .. ':v', ARGV[6])
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  redis.call('EXPIRE', KEYS[9], ARGV[6])
  redis.call('EXPIRE', KEYS[10], ARGV[6])
end
local base = tonumber(redis.call('GET', KEYS[6]) or '0')
local n = base + redis.call('LLEN', KEYS[1]) + 1
local len = redis.call('RPUSH', KEYS[1], n .. ' ' .. ARGV[1])
local due = 0
if op == 'end' then
  for _, k in ipairs({KEYS[1], KEYS[6], KEYS[7]}) do redis.call('EXPIRE', k, ARGV[6]) end
elseif len >= tonumber(ARGV[7]) and redis.call('SET', KEYS[8], '1', 'NX', 'PX', ARGV[8]) then
  due = 1
end
redis.call('PUBLISH', 'handsup:log', ARGV[5])
return {n, due}
