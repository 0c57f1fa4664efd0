// Every header of the in-process facade, checked by header_hygiene.cmake like hello_world.cpp.
#include <corral/runtime/batch_loader.hpp>
#include <corral/runtime/cache.hpp>
#include <corral/runtime/cache_tier.hpp>
#include <corral/runtime/codec.hpp>
#include <corral/runtime/config/config.hpp>
#include <corral/runtime/config/config_json.hpp>
#include <corral/runtime/error.hpp>
#include <corral/runtime/loader.hpp>
#include <corral/runtime/metrics/metrics.hpp>
#include <corral/runtime/metrics/metrics_format.hpp>
#include <corral/runtime/result.hpp>
#include <corral/runtime/runtime.hpp>
#include <corral/runtime/serialized_tier.hpp>
#include <corral/runtime/weigher.hpp>
#include <corral/store/write_behind.hpp>
#include <corral/store/write_store.hpp>

int main() {
  return 0;
}
