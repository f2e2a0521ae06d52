package io.resq.redis;

/**
 * The Lua scripts of the transport. Each runs atomically on the server, which is what makes the
 * delayed-delivery move crash-safe: an entry leaves the sorted set in the same step that adds it to
 * the stream, so a crash can neither lose nor duplicate it. Times come from the server's
 * {@code TIME}, so clients with skewed clocks agree on when a message is due.
 */
final class Scripts {

    private Scripts() {
    }

    private static final String NOW_MS = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            """;

    /** KEYS[1] = delayed zset; ARGV = delayMs1, member1, delayMs2, member2, ... */
    static final Script DELAY = new Script(NOW_MS + """
            for i = 1, #ARGV, 2 do
              redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i]), ARGV[i + 1])
            end
            return #ARGV / 2
            """);

    /**
     * KEYS[1] = stream; ARGV = n1, name, value, ..., n2, name, value, ...: entries, each its field
     * count then its fields. One {@code XADD} per entry, in order; returns how many were added.
     * Sends many entries in one command: Redis parses, dispatches and answers one command instead
     * of one per entry, which halves its CPU per entry (the transport measured 1.6 to 2.3 µs per
     * entry against 3.4 to 4.6 µs for pipelined {@code XADD}s of resq's envelope). The entries of a
     * round trip are at most {@code StreamWriter.MAX_BATCH_MESSAGES}, so the script holds the server
     * for a millisecond or two at most.
     */
    static final Script ADD = new Script("""
            local i = 1
            local added = 0
            while i <= #ARGV do
              local n = tonumber(ARGV[i])
              redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + n))
              added = added + 1
              i = i + n + 1
            end
            return added
            """);

    /**
     * KEYS[1] = delayed zset, KEYS[2] = stream; ARGV[1] = how many to move at most. Moves due
     * members into the stream; returns {moved, ms until the next one is due or -1}. The
     * {@code maxLength} cap is applied afterwards by {@link #CAP}, which reports what it deletes.
     */
    static final Script MOVE_DUE = new Script(NOW_MS + """
            local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
            for _, member in ipairs(due) do
              local args = {KEYS[2], '*'}
              local pos = 1
              local first = true
              while pos <= #member do
                local colon = string.find(member, ':', pos, true)
                local len = tonumber(string.sub(member, pos, colon - 1))
                if first then
                  first = false
                else
                  args[#args + 1] = string.sub(member, colon + 1, colon + len)
                end
                pos = colon + len + 1
              end
              redis.call('XADD', unpack(args))
              redis.call('ZREM', KEYS[1], member)
            end
            local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
            if nxt[2] then
              return {#due, math.max(0, tonumber(nxt[2]) - now)}
            end
            return {#due, -1}
            """);

    /**
     * The {@code maxLength} cap. KEYS[1] = stream, KEYS[2] = the queue's trimmed-unread hash;
     * ARGV[1] = max length (>= 1), ARGV[2] = slack. Once the stream holds more than max length +
     * slack entries, trims it to max length ({@code XTRIM MAXLEN}, exact) and counts, per group,
     * the deleted entries it had not been delivered (after its last-delivered id) and those it was
     * delivered but had not acked (its pending entries below the new first entry, which are acked
     * here so no consumer reports them a second time). The counts are added to the hash (fields
     * {@code undelivered:<group>} and {@code unacked:<group>}) and returned:
     * {deleted, group, undelivered, unacked, group, undelivered, unacked, ...} (groups that lost
     * nothing are left out).
     *
     * <p>Undelivered entries are counted without reading them: a group whose last-delivered id is
     * below the first entry lost every deleted entry; one at or beyond the new first entry lost
     * none; one in between lost (its lag, entries after its last-delivered id) - max length. Only
     * when Redis cannot tell the lag (deleted entries after the group's position, or Redis before
     * 7.0) are the ids of the entries being deleted scanned, 100 at a time.
     */
    static final Script CAP = new Script("""
            local maxlen = tonumber(ARGV[1])
            local len = redis.call('XLEN', KEYS[1])
            if len <= maxlen + tonumber(ARGV[2]) then
              return {0}
            end
            local cut = len - maxlen
            local function parse(id)
              local dash = string.find(id, '-', 1, true)
              return {tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))}
            end
            local function less(a, b)
              return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
            end
            local firstBefore = parse(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1])
            local groups = {}
            local scan = false
            for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
              local info = {}
              for i = 1, #g, 2 do
                info[g[i]] = g[i + 1]
              end
              -- lag is nil (false in Lua) when Redis cannot tell it, and absent before Redis 7.0.
              local lag = nil
              if info['lag'] then
                lag = tonumber(info['lag'])
              end
              local group = {name = info['name'], last = parse(info['last-delivered-id']),
                             pending = tonumber(info['pending']), lag = lag, scanned = 0}
              if group.lag == nil and not less(group.last, firstBefore) then
                scan = true
              end
              groups[#groups + 1] = group
            end
            if scan then
              local cursor = '-'
              local seen = 0
              while seen < cut do
                local batch = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', math.min(100, cut - seen))
                if #batch == 0 then
                  break
                end
                for _, e in ipairs(batch) do
                  local id = parse(e[1])
                  for _, group in ipairs(groups) do
                    if group.lag == nil and less(group.last, id) then
                      group.scanned = group.scanned + 1
                    end
                  end
                  cursor = '(' .. e[1]
                end
                seen = seen + #batch
              end
            end
            local deleted = redis.call('XTRIM', KEYS[1], 'MAXLEN', maxlen)
            local firstKeptId = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1]
            local firstKept = parse(firstKeptId)
            local out = {deleted}
            for _, group in ipairs(groups) do
              local undelivered = 0
              if less(group.last, firstBefore) then
                undelivered = deleted
              elseif not less(group.last, firstKept) then
                undelivered = 0
              elseif group.lag ~= nil then
                undelivered = math.max(0, math.min(deleted, group.lag - maxlen))
              else
                undelivered = group.scanned
              end
              local unacked = 0
              if group.pending > 0 then
                local start = '-'
                while true do
                  local p = redis.call('XPENDING', KEYS[1], group.name, start, '(' .. firstKeptId, 100)
                  if #p == 0 then
                    break
                  end
                  local ids = {}
                  for _, e in ipairs(p) do
                    ids[#ids + 1] = e[1]
                  end
                  redis.call('XACK', KEYS[1], group.name, unpack(ids))
                  unacked = unacked + #ids
                  if #p < 100 then
                    break
                  end
                  start = '(' .. ids[#ids]
                end
              end
              if undelivered + unacked > 0 then
                redis.call('HINCRBY', KEYS[2], 'undelivered:' .. group.name, undelivered)
                redis.call('HINCRBY', KEYS[2], 'unacked:' .. group.name, unacked)
                out[#out + 1] = group.name
                out[#out + 1] = undelivered
                out[#out + 1] = unacked
              end
            end
            return out
            """);

    /**
     * KEYS[1] = stream; ARGV = group, consumer, min idle ms, start cursor, count. XAUTOCLAIM plus
     * the delivery count of each claimed entry from the pending list; returns
     * {next cursor, {{id, {field, value, ...}, deliveryCount}, ...}, deleted count}.
     */
    static final Script RECLAIM = new Script("""
            local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
            local out = {}
            for _, e in ipairs(r[2]) do
              if e[2] then
                local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
                local n = 1
                if p[1] then n = p[1][4] end
                out[#out + 1] = {e[1], e[2], n}
              end
            end
            local deleted = 0
            if r[3] then deleted = #r[3] end
            return {r[1], out, deleted}
            """);

    /**
     * KEYS[1] = stream; ARGV = group, owner, target consumer, idle ms, id1, id2, ... Moves the
     * pending entries still owned by {@code owner} to {@code target} with the given idle time,
     * without counting a delivery. Release parks entries on a consumer with a huge idle time (any
     * live consumer's XAUTOCLAIM takes them at once); keep-alive re-claims to the owner with idle 0.
     * Entries another consumer has reclaimed meanwhile are left alone. Returns how many moved.
     */
    static final Script TRANSFER = new Script("""
            local n = 0
            for i = 5, #ARGV do
              local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
              if p[1] and p[1][2] == ARGV[2] then
                redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[i], 'IDLE', ARGV[4], 'JUSTID')
                n = n + 1
              end
            end
            return n
            """);

    /** KEYS[1] = stream; ARGV = group, consumer. Deletes the consumer if it owns no pending entry. */
    static final Script FORGET_CONSUMER = new Script("""
            local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
            if #p == 0 then
              return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
            end
            return -1
            """);

    /**
     * KEYS[1] = stream. Trims the entries that every consumer group of the stream has been
     * delivered and has acked: below the oldest pending entry of each group, or, for a group with
     * none pending, up to its last-delivered id. A stream without groups is left alone (it may have
     * readers resq cannot see). Returns {entries trimmed, the MINID used or ""}.
     */
    static final Script TRIM_ACKED = new Script("""
            local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
            if #groups == 0 then
              return {0, ''}
            end
            local function parse(id)
              local dash = string.find(id, '-', 1, true)
              return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
            end
            local bestMs, bestSeq = nil, nil
            for _, g in ipairs(groups) do
              local info = {}
              for i = 1, #g, 2 do
                info[g[i]] = g[i + 1]
              end
              local ms, seq
              if tonumber(info['pending']) > 0 then
                local p = redis.call('XPENDING', KEYS[1], info['name'])
                ms, seq = parse(p[2])
              else
                ms, seq = parse(info['last-delivered-id'])
                seq = seq + 1
              end
              if bestMs == nil or ms < bestMs or (ms == bestMs and seq < bestSeq) then
                bestMs, bestSeq = ms, seq
              end
            end
            local minid = string.format('%d-%d', bestMs, bestSeq)
            return {redis.call('XTRIM', KEYS[1], 'MINID', minid), minid}
            """);

    /**
     * KEYS[1] = stream; ARGV = group, idle ms. Deletes the group's consumers that own no pending
     * entry and have been idle longer than that: the names left behind by crashed processes.
     * Returns how many were deleted.
     */
    static final Script FORGET_IDLE_CONSUMERS = new Script("""
            local consumers = redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
            local removed = 0
            for _, c in ipairs(consumers) do
              local info = {}
              for i = 1, #c, 2 do
                info[c[i]] = c[i + 1]
              end
              if tonumber(info['pending']) == 0 and tonumber(info['idle']) > tonumber(ARGV[2]) then
                redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
                removed = removed + 1
              end
            end
            return removed
            """);
}
