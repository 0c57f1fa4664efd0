#include <corral/store/store_lookup.hpp>

#include <exception>

namespace corral {

namespace {

class session_pool {
public:
  explicit session_pool(std::shared_ptr<write_store> store) : store_(std::move(store)) {}

  std::unique_ptr<store_session> take() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!idle_.empty()) {
        auto s = std::move(idle_.back());
        idle_.pop_back();
        return s;
      }
    }
    return store_->open();
  }

  void give_back(std::unique_ptr<store_session> s) {
    if (!s || !s->usable())
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    idle_.push_back(std::move(s));
  }

  const write_store& store() const { return *store_; }

private:
  std::shared_ptr<write_store> store_;
  std::mutex mtx_;
  std::vector<std::unique_ptr<store_session>> idle_;
};

} // namespace

erased_loader store_lookup(std::shared_ptr<write_store> store, const value_ops& ops) {
  auto pool = std::make_shared<session_pool>(std::move(store));
  return [pool, &ops](const std::string& key) {
    auto out = std::make_shared<load_outcome>();
    auto start = clock_type::now();
    try {
      auto session = pool->take();
      auto found = session->find(key);
      pool->give_back(std::move(session));
      if (!found) {
        out->result = load_outcome::kind::not_found;
      } else {
        std::string err;
        out->value = ops.decode(*found, err);
        if (out->value)
          out->result = load_outcome::kind::value;
        else
          out->error_message = "stored value of key '" + key + "' does not decode: " + err;
      }
    } catch (const std::exception& ex) {
      out->error_message = pool->store().name() + ": find '" + key + "' failed: " + ex.what();
    } catch (...) {
      out->error_message = pool->store().name() + ": find '" + key + "' failed";
    }
    out->took = clock_type::now() - start;
    return out;
  };
}

} // namespace corral
