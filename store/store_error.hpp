// How every store words its failures, so that a log line always names the store, the operation
// and the key: `sqlite store "corral.db": save of key "user:1" failed (recoverable): database
// is locked`.
#pragma once

#include <corral/store/write_store.hpp>

#include <string>

namespace corral {

/// `store` describes the store ("sqlite store \"corral.db\""); `key` may be empty for
/// operations on no key (begin, commit, open).
inline std::string store_message(const std::string& store, const std::string& operation,
                                 const std::string& key, store_fault fault,
                                 const std::string& detail) {
  std::string out = store + ": " + operation;
  if (!key.empty())
    out += " of key \"" + key + "\"";
  out += fault == store_fault::fatal ? " failed (fatal): " : " failed (recoverable): ";
  return out + detail;
}

[[noreturn]] inline void throw_store_failure(const std::string& store, const std::string& operation,
                                             const std::string& key, store_fault fault,
                                             const std::string& detail) {
  throw store_failure(fault, store_message(store, operation, key, fault, detail));
}

} // namespace corral
