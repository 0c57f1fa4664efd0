// Every public message type survives CAF's binary serializer, as it must to cross nodes.
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>

#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;

namespace {

caf::message round_trip(caf::actor_system& sys, const caf::message& in) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto msg = in;
  REQUIRE_FALSE(sink(msg));
  caf::message out;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(out));
  return out;
}

} // namespace

TEST_CASE("public messages round-trip through the binary serializer", "[messages]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{test_config(cfg)};

  auto get = round_trip(sys, caf::make_message(get_atom::value, std::string{"key"}));
  REQUIRE(get.match_elements<get_atom, std::string>());
  CHECK(get.get_as<std::string>(1) == "key");

  auto put = round_trip(
      sys, caf::make_message(put_atom::value, std::string{"k"}, std::string{"\x00\x01 bytes", 8}));
  REQUIRE(put.match_elements<put_atom, std::string, std::string>());
  CHECK(put.get_as<std::string>(2) == std::string{"\x00\x01 bytes", 8});

  auto inv = round_trip(sys, caf::make_message(invalidate_atom::value, std::string{"k"}));
  CHECK(inv.match_elements<invalidate_atom, std::string>());

  CHECK(round_trip(sys, caf::make_message(status_atom::value)).match_elements<status_atom>());
  CHECK(round_trip(sys, caf::make_message(ok_atom::value)).match_elements<ok_atom>());

  cache_status st{"prices", 10, 3, 1, 7, 2};
  auto status = round_trip(sys, caf::make_message(st));
  REQUIRE(status.match_elements<cache_status>());
  auto& back = status.get_as<cache_status>(0);
  CHECK(back.cache == "prices");
  CHECK(back.entries == 10);
  CHECK(back.resident_actors == 3);
  CHECK(back.busy_actors == 1);
  CHECK(back.passivations == 7);
  CHECK(back.evictions == 2);
}

TEST_CASE("metrics snapshots round-trip", "[messages][metrics]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{test_config(cfg)};
  metrics_snapshot s;
  s.cache = "prices";
  s.completed_windows = 7;
  s.cycle.hits = 81;
  s.cycle.hit_rate = 0.81;
  s.total.load_time.p99_ns = 4'000'000'000;
  s.gauges.parked_waiters = 3;
  auto msg = round_trip(sys, caf::make_message(s));
  REQUIRE(msg.match_elements<metrics_snapshot>());
  auto& back = msg.get_as<metrics_snapshot>(0);
  CHECK(back.cache == "prices");
  CHECK(back.completed_windows == 7);
  CHECK(back.cycle.hits == 81);
  CHECK(back.cycle.hit_rate == 0.81);
  CHECK(back.total.load_time.p99_ns == 4'000'000'000u);
  CHECK(back.gauges.parked_waiters == 3);
}

TEST_CASE("corral errors round-trip with their code and message", "[messages]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{test_config(cfg)};
  auto err = make_caf_error(errc::timeout, "load of key 'k' timed out");
  auto msg = round_trip(sys, caf::make_message(err));
  REQUIRE(msg.match_elements<caf::error>());
  auto back = from_caf_error(msg.get_as<caf::error>(0));
  CHECK(back.code == errc::timeout);
  CHECK(back.message == "load of key 'k' timed out");
  CHECK(sys.render(msg.get_as<caf::error>(0)).find("timeout") != std::string::npos);
}

TEST_CASE("values cross the message boundary through their codec", "[messages]") {
  std::string bytes;
  codec<double>::encode(2.5, bytes);
  CHECK(codec<double>::decode(bytes) == 2.5);
  CHECK_THROWS_AS(codec<double>::decode("abc"), std::invalid_argument);
  const auto& ops = value_ops_for<double>();
  std::string err;
  CHECK(ops.decode("abc", err) == nullptr);
  CHECK(err.find("expected 8 bytes") != std::string::npos);
  struct no_codec_type {
    int x;
  };
  const auto& none = value_ops_for<no_codec_type>();
  value_entry<no_codec_type> e{no_codec_type{1}};
  CHECK_FALSE(none.encode(e, bytes));
}
