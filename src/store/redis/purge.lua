local tag = '{' .. ARGV[1] .. '}'
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('DEL', tag .. ':b:' .. id, tag .. ':t:' .. id)
end
redis.call('DEL', tag .. ':b:-', tag .. ':t:-')
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
