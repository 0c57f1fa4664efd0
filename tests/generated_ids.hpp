// Stores whose database generates a field on insert, for the tests of store_session::
// take_stored() and of the write-behind merge. The items are accounts stored as the text
// "<id>|<name>": the upsert (or Redis script) takes the name from the saved value, ignores the
// id in it (the database's own is kept or generated) and hands back the value as stored.
#pragma once

namespace corral::test {

inline const char* const sqlite_accounts_table =
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, name "
    "TEXT NOT NULL, version INTEGER NOT NULL)";
inline const char* const sqlite_accounts_upsert =
    "INSERT INTO accounts (key, name, version) VALUES (?1, substr(CAST(?2 AS TEXT), "
    "instr(CAST(?2 AS TEXT), '|') + 1), ?3) ON CONFLICT(key) DO UPDATE SET name = excluded.name, "
    "version = excluded.version WHERE excluded.version > accounts.version RETURNING CAST(id || "
    "'|' || name AS BLOB)";
inline const char* const sqlite_accounts_find =
    "SELECT CAST(id || '|' || name AS BLOB) FROM accounts WHERE key = ?1";

inline const char* const postgres_accounts_table =
    "CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, key text NOT "
    "NULL UNIQUE, name text NOT NULL, version bigint NOT NULL)";
inline const char* const postgres_accounts_upsert =
    "INSERT INTO accounts AS t (key, name, version) VALUES ($1, substr(convert_from($2, 'UTF8'), "
    "strpos(convert_from($2, 'UTF8'), '|') + 1), $3) ON CONFLICT (key) DO UPDATE SET name = "
    "EXCLUDED.name, version = EXCLUDED.version WHERE EXCLUDED.version > t.version RETURNING "
    "convert_to(t.id || '|' || t.name, 'UTF8')";
inline const char* const postgres_accounts_find =
    "SELECT convert_to(id || '|' || name, 'UTF8') FROM accounts WHERE key = $1";

/// A Redis save script (redis_store_options::save_script) that numbers new keys: the id comes
/// from INCR on `accounts:next_id` and is kept in the hash. It hands back the stored value,
/// also when the version guard refuses the save (then the value already stored), so that a
/// batch retried after a lost reply still gets the id.
inline const char* const redis_accounts_script = R"lua(
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'hash' and t ~= 'none' then
  return redis.error_reply('WRONGTYPE the key holds a ' .. t .. ', not a corral hash')
end
local cur = redis.call('HGET', KEYS[1], 'version')
local v = ARGV[1]
if cur and (#cur > #v or (#cur == #v and cur >= v)) then
  return redis.call('HGET', KEYS[1], 'value')
end
local id = redis.call('HGET', KEYS[1], 'id') or tostring(redis.call('INCR', 'accounts:next_id'))
local bar = string.find(ARGV[2], '|', 1, true)
local value = id .. '|' .. string.sub(ARGV[2], (bar or 0) + 1)
redis.call('HSET', KEYS[1], 'value', value, 'version', v, 'id', id)
return value
)lua";

} // namespace corral::test
