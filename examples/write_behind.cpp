// Write-behind with SQLite, no setup: puts are memory-fast and marked dirty; the cache's writer
// drains them to a SQLite file in transactions, one write per key however often it was put;
// flush() is a barrier; a new runtime finds the values again through lookup on miss.
//
//   corral-write-behind [--db PATH]     (default: a fresh file in the temp directory)
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include <corral/runtime/runtime.hpp>
#include <corral/store/sqlite_store.hpp>

// A user profile, and how it is stored: as text "<visits>|<name>" (any codec will do).
struct profile {
  std::string name;
  int visits = 0;
};

template <> struct corral::codec<profile> {
  static void encode(const profile& p, std::string& out) {
    out = std::to_string(p.visits) + "|" + p.name;
  }
  static profile decode(std::string_view bytes) {
    auto bar = bytes.find('|');
    if (bar == std::string_view::npos)
      throw std::invalid_argument("expected <visits>|<name>");
    return {std::string{bytes.substr(bar + 1)}, std::stoi(std::string{bytes.substr(0, bar)})};
  }
};

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "write_behind: %s\n", why.c_str());
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  std::string db = (std::filesystem::temp_directory_path() /
                    ("corral-write-behind-" + std::to_string(::getpid()) + ".db"))
                       .string();
  if (argc == 3 && std::string{argv[1]} == "--db")
    db = argv[2];
  std::filesystem::remove(db);
  corral::sqlite_store_options opt;
  opt.path = db;
  auto store = std::make_shared<corral::sqlite_store>(opt);

  corral::cache_config cfg;
  cfg.name = "profiles";
  cfg.write_interval = std::chrono::milliseconds(200);
  {
    corral::runtime rt;
    corral::write_hooks<profile> hooks;
    hooks.dead_letter = [](const std::string& key, const profile&, const std::string& error) {
      std::fprintf(stderr, "dead letter %s: %s\n", key.c_str(), error.c_str());
    };
    auto profiles = rt.make_write_behind_cache<profile>(cfg, store, hooks);

    // 1,000 visits spread over 100 users: each visit is a put of the user's new profile.
    for (int visit = 0; visit < 1000; ++visit) {
      auto key = "user" + std::to_string(visit % 100);
      auto current = profiles.try_get(key);
      profile p = current ? *current : profile{"User " + std::to_string(visit % 100), 0};
      ++p.visits;
      if (!profiles.put(key, p))
        return fail("put refused");
    }
    std::printf("puts: 1000 over 100 users; unwritten now: %zu\n", profiles.dirty());

    auto r = profiles.flush(std::chrono::seconds(30));
    if (!r.complete)
      return fail("flush incomplete: " + r.error);
    std::printf("flush: complete, %zu written, %zu dead-lettered, %zu unwritten\n", r.written,
                r.failed.size(), profiles.dirty());
    auto m = profiles.metrics();
    std::printf("writes counted: %llu\n", static_cast<unsigned long long>(m.total.writes));
  }

  // A new process (here: a new runtime) starts empty and finds the users in the file.
  corral::runtime rt;
  auto profiles = rt.make_write_behind_cache<profile>(cfg, store);
  auto p = profiles.get("user42");
  if (!p)
    return fail("user42 not found after restart: " + p.err().message);
  std::printf("after restart: user42 = %s, %d visits (looked up on miss)\n", p->name.c_str(),
              p->visits);
  if (p->visits != 10)
    return fail("expected 10 visits");
  std::filesystem::remove(db);
  return 0;
}
