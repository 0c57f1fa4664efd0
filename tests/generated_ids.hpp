// Stores whose database generates a field on insert, for the tests of store_session::
// take_stored() and of the write-behind merge. The items are accounts stored as the text
// "<id>|<name>": the upsert takes the name from the saved value, ignores the id in it (the
// database's own is kept or generated) and hands back the value as stored.
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

} // namespace corral::test
