//===- Format.cpp - Number formatting helpers -----------------------------===//
#include "thjit/Support/Format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace thjit {

std::string formatPyFloat(double value, bool single) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in scientific form, then laid out as Python's
  // float_repr_style 'short' does: plain notation for 1e-4 <= |x| < 1e16.
  char buf[64];
  auto res = single ? std::to_chars(buf, buf + sizeof(buf), (float)value,
                                    std::chars_format::scientific)
                   : std::to_chars(buf, buf + sizeof(buf), value,
                                   std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t ePos = sci.find('e');
  std::string mantissa = sci.substr(0, ePos);
  int exp10 = std::atoi(sci.c_str() + ePos + 1);
  bool negative = mantissa[0] == '-';
  if (negative)
    mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.')
      digits += c;
  std::string out;
  if (exp10 >= -4 && exp10 < 16) {
    if (exp10 < 0) {
      out = "0." + std::string(-exp10 - 1, '0') + digits;
    } else if ((int)digits.size() <= exp10 + 1) {
      out = digits + std::string(exp10 + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, exp10 + 1) + "." + digits.substr(exp10 + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1)
      out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof(e), "e%c%02d", exp10 < 0 ? '-' : '+',
                  std::abs(exp10));
    out += e;
  }
  return negative ? "-" + out : out;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1)
    s += ",";
  return s + ")";
}

std::string join(const std::vector<std::string> &parts,
                 const std::string &sep) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i)
      s += sep;
    s += parts[i];
  }
  return s;
}

} // namespace thjit
