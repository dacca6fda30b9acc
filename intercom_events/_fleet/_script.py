"""The Lua script that keeps a fleet's window in Redis: one atomic step per call.

It only counts and compares; what is sent and what a reply means is ``_core.fleet``'s. The
window is one hash (so it lives in one cluster slot): ``limit``, ``used`` (slots granted or
counted by the server in the window), ``reset`` (the window's end on the server's clock; absent
between a window's end and the first response of the next), ``ended`` (the last window that
ended), ``offset`` (the server's clock minus Redis's: the best reading of responses' ``Date``),
``first`` and ``sure`` (the first ``Date`` seen; set once a later answer's differs, which pins
the offset below a second), ``open`` (the server reports no limit) and ``probe`` (until when
the fleet's first request is out).
"""

from __future__ import annotations

__all__ = ["SCRIPT"]

SCRIPT = """
local key = KEYS[1]
local op, idle = ARGV[1], tonumber(ARGV[2])
local w = redis.call('HMGET', key, 'limit', 'used', 'reset', 'ended', 'open', 'probe', 'offset',
  'first', 'sure')
local limit, used, reset = tonumber(w[1]), tonumber(w[2]) or 0, tonumber(w[3])
local ended, offset = tonumber(w[4]) or 0, tonumber(w[7])
local t = redis.call('TIME')
local clock = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('PEXPIRE', key, idle)
if op == 'reserve' then
  if w[5] == '1' then return {0, 0} end
  local now = clock + (offset or 0)
  if reset and now >= reset then
    redis.call('HSET', key, 'ended', reset, 'used', 0)
    redis.call('HDEL', key, 'reset')
    reset, used = nil, 0
  end
  if not limit then
    if (tonumber(w[6]) or 0) > clock then return {1, 0} end
    redis.call('HSET', key, 'probe', clock + tonumber(ARGV[3]))
    return {0, 0}
  end
  -- Until two answers' Dates differ, the server's clock is known only to the second: a
  -- request sent in a window's last second might land in the next one, so it waits.
  if reset and w[9] ~= '1' and now >= reset - 1 then
    return {2, math.ceil((reset - now) * 1000)}
  end
  if used < limit then
    redis.call('HINCRBY', key, 'used', 1)
    return {0, 0}
  end
  if reset then return {2, math.ceil((reset - now) * 1000)} end
  return {1, 0}
end
-- record: ARGV[3] the limit (0: none reported), [4] used, [5] the window's end,
-- [6] the response's Date ('' if none), [7] the step past which a lower reading is taken
local new_limit, server_used, new_reset = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local date, step = tonumber(ARGV[6]), tonumber(ARGV[7])
redis.call('HDEL', key, 'probe')
if date then
  if not w[8] then
    redis.call('HSET', key, 'first', date)
  elseif w[9] ~= '1' and tonumber(w[8]) ~= date then
    redis.call('HSET', key, 'sure', 1)
  end
  local seen = date - clock
  if not offset or seen > offset or seen < offset - step then
    offset = seen
    redis.call('HSET', key, 'offset', offset)
  end
end
if new_limit == 0 then
  if not limit then redis.call('HSET', key, 'open', 1) end
  return {0, 0}
end
redis.call('HDEL', key, 'open')
if new_reset <= ended or new_reset <= clock + (offset or 0) then return {0, 0} end
if not reset then
  -- the first answer of a window: the slots granted since it began count too
  redis.call('HSET', key, 'limit', new_limit, 'reset', new_reset)
  redis.call('HSET', key, 'used', math.max(used, server_used))
elseif new_reset > reset then
  -- the server is in a later window than the store believed
  redis.call('HSET', key, 'limit', new_limit, 'reset', new_reset, 'ended', reset)
  redis.call('HSET', key, 'used', server_used)
elseif new_reset == reset then
  redis.call('HSET', key, 'limit', new_limit, 'used', math.max(used, server_used))
end
return {0, 0}
"""
