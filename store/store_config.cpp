#include <corral/store/store_config.hpp>

#include <corral/runtime/config/config_json.hpp>
#include <corral/store/built_stores.hpp>
#include <corral/store/sql_identifier.hpp>
#include <corral/store/sqlite_store.hpp>
#if CORRAL_HAS_POSTGRES
#include <corral/store/postgres_store.hpp>
#endif
#if CORRAL_HAS_REDIS
#include <corral/store/redis_store.hpp>
#endif

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace corral {
namespace {

namespace json = boost::json;

std::string describe(const json::value& v) {
  return describe_json(v);
}

// One store object being read: every key read is remembered, so that whatever is left over
// is reported as unknown.
class reader {
public:
  reader(const json::object& object, std::string path, std::vector<std::string> known)
      : object_(object), path_(std::move(path)), known_(std::move(known)) {
    for (const auto& member : object_) {
      std::string key(member.key().data(), member.key().size());
      if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        std::string list;
        for (const auto& k : known_)
          list += (list.empty() ? "" : ", ") + k;
        throw config_error(at(key), "unknown key; known keys are " + list);
      }
    }
  }

  std::string at(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  const json::value* find(const char* key) const { return object_.if_contains(key); }

  std::string string(const char* key, std::string fallback, bool required = false) const {
    const json::value* v = find(key);
    if (!v) {
      if (required)
        throw config_error(at(key), "required key is missing; expected a string");
      return fallback;
    }
    if (!v->is_string())
      throw config_error(at(key), "expected a string, found " + describe(*v));
    return std::string(v->get_string().data(), v->get_string().size());
  }

  std::string nonempty(const char* key, std::string fallback, bool required = false) const {
    std::string s = string(key, fallback, required);
    if (s.empty())
      throw config_error(at(key), "expected a non-empty string, found \"\"");
    return s;
  }

  std::int64_t integer(const char* key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const {
    const json::value* v = find(key);
    if (!v)
      return fallback;
    std::string expected =
        "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    if (const auto* i = v->if_int64(); i && *i >= min && *i <= max)
      return *i;
    throw config_error(at(key), "expected " + expected + ", found " + describe(*v));
  }

  std::chrono::milliseconds millis(const char* key, std::chrono::milliseconds fallback,
                                   std::chrono::milliseconds min) const {
    const json::value* v = find(key);
    if (!v)
      return fallback;
    std::chrono::milliseconds out{};
    if (v->is_string()) {
      try {
        out = std::chrono::duration_cast<std::chrono::milliseconds>(
            parse_duration(std::string_view(v->get_string().data(), v->get_string().size())));
      } catch (const config_error& e) {
        throw config_error(at(key), e.what());
      }
    } else if (const auto* i = v->if_int64(); i && *i >= 0) {
      out = std::chrono::milliseconds(*i);
    } else {
      throw config_error(at(key), "expected a duration such as \"250ms\", \"5s\", \"1h\" or "
                                  "integer milliseconds, found " +
                                      describe(*v));
    }
    if (out < min ||
        out > std::chrono::duration_cast<std::chrono::milliseconds>(max_config_duration))
      throw config_error(at(key), "expected a duration of at least " + std::to_string(min.count()) +
                                      "ms and at most 10 years, "
                                      "found " +
                                      describe(*v));
    return out;
  }

  std::string table(const char* key) const {
    std::string t = string(key, "corral_kv");
    if (!valid_sql_identifier(t))
      throw config_error(at(key), "expected an SQL identifier (letters, digits and _, "
                                  "optionally schema.table), found " +
                                      describe(*find(key)));
    return t;
  }

private:
  const json::object& object_;
  std::string path_;
  std::vector<std::string> known_;
};

std::shared_ptr<write_store> make_sqlite(const json::object& o, const std::string& path) {
  reader r(o, path,
           {"type", "path", "table", "upsert_sql", "find_sql", "busy_timeout", "synchronous"});
  sqlite_store_options opt;
  opt.path = r.nonempty("path", "", true);
  opt.table = r.table("table");
  opt.upsert_sql = r.string("upsert_sql", "");
  opt.find_sql = r.string("find_sql", "");
  opt.busy_timeout = r.millis("busy_timeout", opt.busy_timeout, std::chrono::milliseconds(0));
  std::string sync = r.string("synchronous", "full");
  if (sync != "full" && sync != "normal")
    throw config_error(r.at("synchronous"), "expected \"full\" or \"normal\", found " +
                                                describe(*r.find("synchronous")));
  opt.synchronous_full = sync == "full";
  return std::make_shared<sqlite_store>(std::move(opt));
}

#if CORRAL_HAS_POSTGRES
std::shared_ptr<write_store> make_postgres(const json::object& o, const std::string& path) {
  reader r(
      o, path,
      {"type", "conninfo", "conninfo_env", "table", "upsert_sql", "find_sql", "connect_timeout"});
  postgres_store_options opt;
  opt.conninfo = r.string("conninfo", "");
  opt.conninfo_env = r.string("conninfo_env", opt.conninfo_env);
  opt.table = r.table("table");
  opt.upsert_sql = r.string("upsert_sql", "");
  opt.find_sql = r.string("find_sql", "");
  auto timeout = r.millis("connect_timeout", opt.connect_timeout, std::chrono::seconds(1));
  opt.connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  return std::make_shared<postgres_store>(std::move(opt));
}
#else
std::shared_ptr<write_store> make_postgres(const json::object&, const std::string& path) {
  throw config_error(path.empty() ? "type" : path + ".type",
                     "\"postgres\": this build of corral has no PostgreSQL store "
                     "(configured with CORRAL_WITH_POSTGRES=OFF or without libpq)");
}
#endif

#if CORRAL_HAS_REDIS
std::shared_ptr<write_store> make_redis(const json::object& o, const std::string& path) {
  reader r(o, path,
           {"type", "host", "port", "prefix", "timeout", "password", "database", "save_script"});
  redis_store_options opt;
  opt.host = r.nonempty("host", opt.host);
  opt.port = static_cast<int>(r.integer("port", opt.port, 1, 65535));
  opt.prefix = r.string("prefix", opt.prefix);
  opt.timeout = r.millis("timeout", opt.timeout, std::chrono::milliseconds(1));
  opt.password = r.string("password", "");
  opt.database = static_cast<int>(r.integer("database", 0, 0, 1 << 20));
  opt.save_script = r.string("save_script", "");
  return std::make_shared<redis_store>(std::move(opt));
}
#else
std::shared_ptr<write_store> make_redis(const json::object&, const std::string& path) {
  throw config_error(path.empty() ? "type" : path + ".type",
                     "\"redis\": this build of corral has no Redis store "
                     "(configured with CORRAL_WITH_REDIS=OFF or without hiredis)");
}
#endif

struct registry {
  std::mutex mutex;
  std::map<std::string, store_factory> custom;
};

registry& custom_stores() {
  static registry r;
  return r;
}

bool built_in(const std::string& type) {
  return type == "sqlite" || type == "postgres" || type == "redis";
}

} // namespace

std::shared_ptr<write_store> make_store(const json::value& config, const std::string& path) {
  const json::object* object = config.if_object();
  if (!object)
    throw config_error(path, "expected a store object such as {\"type\": \"sqlite\", \"path\": "
                             "\"corral.db\"}, found " +
                                 describe(config));
  std::string type_path = path.empty() ? "type" : path + ".type";
  const json::value* type_value = object->if_contains("type");
  if (!type_value)
    throw config_error(type_path, "required key is missing; expected \"sqlite\", \"postgres\", "
                                  "\"redis\" or a registered store type");
  if (!type_value->is_string())
    throw config_error(type_path, "expected a string, found " + describe(*type_value));
  std::string type(type_value->get_string().data(), type_value->get_string().size());
  if (type == "sqlite")
    return make_sqlite(*object, path);
  if (type == "postgres")
    return make_postgres(*object, path);
  if (type == "redis")
    return make_redis(*object, path);
  store_factory factory;
  std::string known = "\"sqlite\", \"postgres\", \"redis\"";
  {
    auto& reg = custom_stores();
    std::lock_guard<std::mutex> lock(reg.mutex);
    auto it = reg.custom.find(type);
    if (it != reg.custom.end())
      factory = it->second;
    for (const auto& [name, f] : reg.custom)
      known += ", \"" + name + "\"";
  }
  if (!factory)
    throw config_error(type_path, "unknown store type " + describe(*type_value) +
                                      "; known types are " + known);
  auto store = factory(*object, path);
  if (!store)
    throw config_error(path, "the factory of store type \"" + type + "\" returned no store");
  return store;
}

void register_store_type(const std::string& type, store_factory factory) {
  if (type.empty() || built_in(type) || !factory)
    throw std::invalid_argument("register_store_type: \"" + type +
                                "\" is empty, built in, or has no factory");
  auto& reg = custom_stores();
  std::lock_guard<std::mutex> lock(reg.mutex);
  reg.custom[type] = std::move(factory);
}

} // namespace corral
