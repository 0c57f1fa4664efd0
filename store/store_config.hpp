// Stores chosen by name in JSON, strictly: unknown keys, wrong types and bad values throw
// corral::config_error whose path() names the element (`caches[0].store.port`).
//
//   {"type": "sqlite", "path": "corral.db", "table": "corral_kv", "upsert_sql": "...",
//    "find_sql": "...", "busy_timeout": "5s", "synchronous": "full" | "normal"}
//   {"type": "postgres", "conninfo": "host=... dbname=...", "conninfo_env": "CORRAL_PG_CONNINFO",
//    "table": "corral_kv", "upsert_sql": "...", "find_sql": "...", "connect_timeout": "5s"}
//   {"type": "redis", "host": "127.0.0.1", "port": 6379, "prefix": "corral:", "timeout": "2s",
//    "password": "...", "database": 0, "save_script": "..."}
//
// Only "type" is required, plus "path" for sqlite. Durations take "250ms"/"5s"/... or integer
// milliseconds, as everywhere in corral's config.
#pragma once

#include <corral/runtime/config/config.hpp>
#include <corral/store/write_store.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <string>

namespace corral {

/// Builds the store described by `config`; `path` is where it sits in the whole config
/// (`caches[0].store`) and prefixes every error path. Connects to nothing: sessions do.
std::shared_ptr<write_store> make_store(const boost::json::value& config, const std::string& path);

/// A custom store type: gets the whole object (its "type" included) and its path, and should
/// reject unknown keys with config_error like the built-in ones do.
using store_factory = std::function<std::shared_ptr<write_store>(const boost::json::object& config,
                                                                 const std::string& path)>;

/// Makes `type` available to make_store. Thread-safe. Throws std::invalid_argument for an
/// empty type, a built-in one ("sqlite", "postgres", "redis") or an empty factory; registering
/// a custom type again replaces it.
void register_store_type(const std::string& type, store_factory factory);

} // namespace corral
