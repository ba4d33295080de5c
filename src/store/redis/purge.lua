local tag = '{' .. ARGV[1] .. '}'
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('DEL', tag .. ':b:' .. id, tag .. ':t:' .. id)
end
redis.call('DEL', tag .. ':b:-', tag .. ':t:-')
return redis.call('DEL', unpack(KEYS))
