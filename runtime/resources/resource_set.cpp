#include <corral/runtime/resources/resource_set.hpp>

#include <algorithm>
#include <stdexcept>

#include <caf/send.hpp>

#include <corral/runtime/config/config.hpp>
#include <corral/runtime/engine/type_name.hpp>

namespace corral {

resource_set::resource_set(caf::actor_system& sys, executor& loaders,
                           std::vector<resource_config> declared, std::function<double()> random) {
  resource_actor_options opts;
  opts.loaders = &loaders;
  opts.on_error = hook_;
  opts.gate = gate_;
  opts.random = std::move(random);
  actor_ = spawn_resource_actor(sys, std::move(opts));
  for (std::size_t i = 0; i < declared.size(); ++i)
    declared_.push_back({std::move(declared[i]), i});
}

void resource_set::add_loader(const std::string& name, const std::type_info& type,
                              erased_resource_loader loader) {
  std::lock_guard<std::mutex> guard{mtx_};
  loaders_[name] = registered_loader{&type, std::move(loader)};
}

void resource_set::refuse_if_closed_locked(const std::string& what) const {
  // The actor is gone: a resource made now would never load.
  if (closed_)
    throw failure({errc::shutting_down, "runtime is shut down; cannot " + what});
}

resource_slot_ptr resource_set::add_erased(resource_config cfg, const std::type_info& type,
                                           erased_resource_loader loader) {
  std::lock_guard<std::mutex> guard{mtx_};
  refuse_if_closed_locked("add resource '" + cfg.name + "'");
  validate(cfg, "");
  bool declared = std::any_of(declared_.begin(), declared_.end(),
                              [&](const declared_resource& d) { return d.cfg.name == cfg.name; });
  if (declared || slots_.count(cfg.name) != 0)
    throw config_error("name", "a resource named '" + cfg.name + "' already exists");
  return start_locked(std::move(cfg), type, std::move(loader));
}

resource_slot_ptr resource_set::start_locked(resource_config cfg, const std::type_info& type,
                                             erased_resource_loader loader) {
  auto slot = std::make_shared<resource_slot>(cfg.name, type);
  slots_.emplace(cfg.name, slot);
  caf::anon_send(actor_, add_resource_msg{std::move(cfg), slot, std::move(loader)});
  return slot;
}

namespace {

config_problem unregistered(std::size_t index, const std::string& loader) {
  return {"resources[" + std::to_string(index) + "].loader",
          "no resource loader registered under the name '" + loader + "'"};
}

} // namespace

const resource_set::registered_loader&
resource_set::loader_for_locked(const declared_resource& d) const {
  auto l = loaders_.find(d.cfg.loader);
  if (l == loaders_.end())
    throw config_error({unregistered(d.index, d.cfg.loader)});
  return l->second;
}

std::vector<config_problem> resource_set::problems_locked() const {
  std::vector<config_problem> out;
  for (const auto& d : declared_)
    if (loaders_.count(d.cfg.loader) == 0)
      out.push_back(unregistered(d.index, d.cfg.loader));
  return out;
}

std::vector<config_problem> resource_set::problems() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return problems_locked();
}

void resource_set::start_declared_locked(std::size_t pos) {
  auto d = std::move(declared_[pos]);
  declared_.erase(declared_.begin() + static_cast<std::ptrdiff_t>(pos));
  const auto& l = loader_for_locked(d);
  start_locked(std::move(d.cfg), *l.type, l.fn);
}

resource_slot_ptr resource_set::slot_for(const std::string& name, const std::type_info& type) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto pos = std::find_if(declared_.begin(), declared_.end(),
                          [&](const declared_resource& d) { return d.cfg.name == name; });
  if (pos != declared_.end()) {
    refuse_if_closed_locked("start resource '" + name + "'");
    loader_for_locked(*pos); // throws before anything changes
    start_declared_locked(static_cast<std::size_t>(pos - declared_.begin()));
  }
  auto i = slots_.find(name);
  if (i == slots_.end())
    throw failure({errc::no_such_resource, "no resource named '" + name + "'"});
  if (i->second->type() != type)
    throw failure({errc::type_mismatch, "resource '" + name + "' holds values of type " +
                                            type_name(i->second->type()) + ", requested as type " +
                                            type_name(type)});
  return i->second;
}

std::shared_ptr<sync_round> resource_set::start_sync() {
  auto round = std::make_shared<sync_round>();
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_) {
    round->abandon(); // answered at once: "shutting down"
    return round;
  }
  if (auto missing = problems_locked(); !missing.empty()) // reported before anything starts
    throw config_error(std::move(missing));
  while (!declared_.empty())
    start_declared_locked(0);
  caf::anon_send(actor_, sync_resources_msg{std::make_shared<sync_ticket>(round)});
  return round;
}

namespace {

void refuse_wait_in_handler() {
  if (inside_resource_error_handler())
    throw std::logic_error("corral: sync() with wait called from the resource error handler, "
                           "which runs on the resource actor it would wait for");
}

} // namespace

std::optional<error> resource_set::sync(bool wait) {
  if (wait)
    refuse_wait_in_handler();
  auto round = start_sync();
  if (!wait)
    return std::nullopt;
  return round->wait();
}

std::optional<error> resource_set::sync_for(duration timeout) {
  refuse_wait_in_handler();
  return start_sync()->wait_for(timeout);
}

bool resource_set::remove(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto pos = std::find_if(declared_.begin(), declared_.end(),
                          [&](const declared_resource& d) { return d.cfg.name == name; });
  if (pos != declared_.end()) {
    declared_.erase(pos);
    return true;
  }
  auto i = slots_.find(name);
  if (i == slots_.end())
    return false;
  // Closed here, not only in the actor, so that readers see the removal as soon as this returns.
  i->second->close({errc::no_such_resource, "resource '" + name + "' was removed"});
  slots_.erase(i);
  caf::anon_send(actor_, remove_resource_atom::value, name);
  return true;
}

void resource_set::on_error(resource_error_handler handler) {
  hook_->set(std::move(handler));
}

void resource_set::close() {
  std::lock_guard<std::mutex> guard{mtx_};
  closed_ = true;
}

} // namespace corral
