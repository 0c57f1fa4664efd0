#include <corral/runtime/engine/log_sink.hpp>

#include <cstdio>

namespace corral {

namespace {

std::string key_of(log_level level, std::string_view component, std::string_view message) {
  std::string id;
  id.reserve(component.size() + message.size() + 2);
  id += static_cast<char>('0' + static_cast<int>(level));
  id += component;
  id += '\0'; // no component ends inside another's message
  id += message;
  return id;
}

} // namespace

std::string describe_window(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(d).count();
  if (ms < 1000)
    return std::to_string(ms) + " ms";
  if (ms % 1000 == 0)
    return std::to_string(ms / 1000) + " s";
  auto tenths = (ms + 50) / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

log_sink::log_sink(log_level level, std::chrono::nanoseconds window, clock_fn now,
                   std::size_t max_keys, std::FILE* out)
    : level_(level), window_(window), now_(std::move(now)), max_keys_(max_keys), out_(out) {}

void log_sink::set_handler(log_handler handler) {
  auto h = handler ? std::make_shared<const log_handler>(std::move(handler)) : nullptr;
  std::lock_guard<std::mutex> guard{handler_mtx_};
  handler_ = std::move(h);
}

std::string log_sink::default_line(log_level level, std::string_view component,
                                   std::string_view message) {
  std::string line = "corral [";
  line += to_string(level);
  line += "] ";
  line += component;
  line += ": ";
  line += message;
  return line;
}

void log_sink::write(log_level level, std::string_view component,
                     std::string_view message) noexcept {
  if (!enabled(level))
    return;
  std::vector<event> out;
  try {
    auto id = key_of(level, component, message);
    std::lock_guard<std::mutex> guard{mtx_};
    auto t = now();
    collect_locked(t, false, out);
    if (auto i = keys_.find(id); i != keys_.end()) {
      ++i->second->repeats; // inside its window: ended windows were collected above
    } else if (keys_.size() >= max_keys_) {
      if (dropped_++ == 0)
        dropped_since_ = t;
    } else {
      order_.push_back({std::move(id), level, std::string{component}, std::string{message}, t, 0});
      auto last = std::prev(order_.end());
      keys_.emplace(last->id, last);
      if (order_.size() == 1)
        next_due_ = (t + window_).time_since_epoch().count();
      out.push_back({level, last->component, last->message});
    }
  } catch (...) { // out of memory while logging: the event is lost, nothing else is
  }
  deliver(out);
}

void log_sink::collect_locked(clock::time_point now, bool all, std::vector<event>& out) {
  while (!order_.empty() && (all || now - order_.front().opened >= window_)) {
    auto& k = order_.front();
    if (k.repeats > 0) {
      auto span = all ? std::min<std::chrono::nanoseconds>(now - k.opened, window_) : window_;
      out.push_back({k.level, std::move(k.component),
                     std::move(k.message) + " (repeated " + std::to_string(k.repeats) +
                         " times in " + describe_window(span) + ")"});
    }
    keys_.erase(k.id);
    order_.pop_front();
  }
  if (dropped_ > 0 && (all || now - dropped_since_ >= window_)) {
    out.push_back({log_level::warning, "log",
                   std::to_string(dropped_) + " events dropped: more than " +
                       std::to_string(max_keys_) + " distinct messages within " +
                       describe_window(window_)});
    dropped_ = 0;
  }
  next_due_ = order_.empty() ? clock::time_point::max().time_since_epoch().count()
                             : (order_.front().opened + window_).time_since_epoch().count();
  if (dropped_ > 0)
    next_due_ = std::min(next_due_.load(), (dropped_since_ + window_).time_since_epoch().count());
}

void log_sink::flush_due() noexcept {
  auto t = now();
  if (t.time_since_epoch().count() < next_due_.load())
    return;
  std::vector<event> out;
  try {
    std::lock_guard<std::mutex> guard{mtx_};
    collect_locked(t, false, out);
  } catch (...) {
  }
  deliver(out);
}

void log_sink::flush_all() noexcept {
  std::vector<event> out;
  try {
    std::lock_guard<std::mutex> guard{mtx_};
    collect_locked(now(), true, out);
  } catch (...) {
  }
  deliver(out);
}

std::size_t log_sink::tracked() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return keys_.size();
}

void log_sink::close() noexcept {
  std::unique_lock<std::mutex> lock{handler_mtx_};
  closed_ = true;
  // Bounded: a handler that called shutdown() itself, or one stuck in I/O, must not hang it.
  delivered_.wait_for(lock, std::chrono::seconds(2), [this] { return delivering_ == 0; });
}

void log_sink::deliver(const std::vector<event>& events) noexcept {
  if (events.empty())
    return;
  std::shared_ptr<const log_handler> h;
  {
    std::lock_guard<std::mutex> guard{handler_mtx_};
    if (!closed_) { // once closed, late events (an abandoned loader's) go to the default lines
      h = handler_;
      ++delivering_;
    }
  }
  struct done { // counted out even when a handler throws
    log_sink& sink;
    bool counted;
    ~done() {
      if (!counted)
        return;
      std::lock_guard<std::mutex> guard{sink.handler_mtx_};
      if (--sink.delivering_ == 0)
        sink.delivered_.notify_all();
    }
  } counted_out{*this, h != nullptr};
  for (auto& e : events) {
    try {
      if (h) {
        (*h)(e.level, e.component, e.message);
      } else if (out_ != nullptr) {
        auto line = default_line(e.level, e.component, e.message) + "\n";
        std::fwrite(line.data(), 1, line.size(), out_); // one call: lines do not interleave
        std::fflush(out_);
      }
    } catch (...) { // a throwing handler must not change what the runtime does
    }
  }
}

} // namespace corral
