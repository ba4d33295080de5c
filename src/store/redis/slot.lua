local op, q, arg, gen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local function move(d, sign)
  for i = 1, #d, 2 do
    local n = redis.call('HINCRBY', KEYS[4], d[i], sign * d[i + 1])
    if n == 0 then redis.call('HDEL', KEYS[4], d[i]) end
  end
end
local function newer()
  if gen <= tonumber(redis.call('HGET', KEYS[2], q) or '0') then return false end
  redis.call('HSET', KEYS[2], q, gen)
  return true
end
if op == 'open' then
  if newer() then redis.call('HSET', KEYS[1], q, arg) end
elseif op == 'close' then
  if newer() then redis.call('HDEL', KEYS[1], q) end
elseif op == 'timer' then
  local at = tonumber(redis.call('HGET', KEYS[1], q) or '0')
  if at > 0 and at <= tonumber(arg) then redis.call('HDEL', KEYS[1], q) end
elseif op == 'reset' then
  redis.call('DEL', KEYS[3], KEYS[4])
elseif op == 'delete' then
  redis.call('HDEL', KEYS[1], q)
  redis.call('DEL', KEYS[3], KEYS[4])
elseif op == 'hide' then
  local all = redis.call('HGETALL', KEYS[3])
  for i = 1, #all, 2 do
    local b = cjson.decode(all[i + 1])
    if b.e and b.e[1] == arg and not b.h then
      move(b.d, -1)
      b.d = {}
      b.h = true
      redis.call('HSET', KEYS[3], all[i], cjson.encode(b))
    end
  end
elseif op == 'end' or op == 'purge' then
  redis.call('DEL', KEYS[1])
  for i = 7, #ARGV do
    local b, t = ARGV[6] .. ':b:' .. ARGV[i], ARGV[6] .. ':t:' .. ARGV[i]
    if op == 'end' then
      redis.call('EXPIRE', b, ARGV[5])
      redis.call('EXPIRE', t, ARGV[5])
    else
      redis.call('DEL', b, t)
    end
  end
  if op == 'end' then
    redis.call('EXPIRE', KEYS[2], ARGV[5])
    redis.call('EXPIRE', ARGV[6] .. ':v', ARGV[5])
  else
    redis.call('DEL', KEYS[2], ARGV[6] .. ':v')
  end
end
return 1
