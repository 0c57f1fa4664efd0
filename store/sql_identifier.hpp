// Table names are spliced into SQL text (identifiers cannot be bound as parameters), so they
// are checked first: a letter or underscore then letters, digits or underscores, optionally
// one `schema.` prefix of the same form. Nothing that needs quoting is accepted.
#pragma once

#include <cctype>
#include <string>

namespace corral {

inline bool valid_sql_identifier(const std::string& name) {
  auto part_ok = [](const std::string& p) {
    if (p.empty() || p.size() > 63)
      return false;
    if (!(std::isalpha(static_cast<unsigned char>(p[0])) || p[0] == '_'))
      return false;
    for (char c : p)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
        return false;
    return true;
  };
  auto dot = name.find('.');
  if (dot == std::string::npos)
    return part_ok(name);
  return part_ok(name.substr(0, dot)) && part_ok(name.substr(dot + 1));
}

} // namespace corral
