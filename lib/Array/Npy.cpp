//===- Npy.cpp - NumPy's .npy format --------------------------------------===//
//
// The layout of a .npy file: the magic "\x93NUMPY", a major and minor version
// byte, the header length (2 bytes little-endian in version 1.0, 4 bytes in
// 2.0 and 3.0), then the header, a Python dict literal such as
//   {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a final newline, then the raw elements.
//
//===----------------------------------------------------------------------===//
#include "thjit/Array/Npy.h"
#include "thjit/Support/Error.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

namespace thjit {

static const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64; // NumPy's ARRAY_ALIGN
constexpr size_t kGrowthAxisDigits = 21;

[[noreturn]] static void fail(const std::string &source,
                              const std::string &what) {
  throw IOError(source + ": " + what);
}

//===----------------------------------------------------------------------===//
// Header parsing: the small subset of Python literals NumPy writes.
//===----------------------------------------------------------------------===//

namespace {

/// What a header says about the data.
struct Header {
  std::optional<std::string> descr;
  std::optional<bool> fortranOrder;
  std::optional<Shape> shape;
};

/// A cursor over the header dict literal; every error names `source`.
class HeaderParser {
public:
  HeaderParser(const std::string &text, const std::string &source)
      : text(text), source(source) {}

  Header parse() {
    Header h;
    expect('{');
    skipSpace();
    while (peek() != '}') {
      std::string key = parseString();
      expect(':');
      if (key == "descr") {
        if (h.descr)
          error("duplicate key 'descr'");
        skipSpace();
        if (peek() != '\'' && peek() != '"')
          error("'descr' is not a simple type string (structured dtypes are "
                "not supported)");
        h.descr = parseString();
      } else if (key == "fortran_order") {
        if (h.fortranOrder)
          error("duplicate key 'fortran_order'");
        h.fortranOrder = parseBool();
      } else if (key == "shape") {
        if (h.shape)
          error("duplicate key 'shape'");
        h.shape = parseShape();
      } else {
        error("unexpected key '" + key + "'");
      }
      skipSpace();
      if (peek() == ',') {
        ++pos;
        skipSpace();
      } else if (peek() != '}') {
        error("expected ',' or '}'");
      }
    }
    ++pos;
    skipSpace();
    if (pos != text.size())
      error("unexpected text after the closing '}'");
    if (!h.descr || !h.fortranOrder || !h.shape)
      error(std::string("missing key '") +
            (!h.descr          ? "descr"
             : !h.fortranOrder ? "fortran_order"
                               : "shape") +
            "'");
    return h;
  }

private:
  [[noreturn]] void error(const std::string &what) const {
    fail(source, "malformed header: " + what + " at offset " +
                     std::to_string(pos) + " of \"" + printable() + "\"");
  }

  // The header without its padding and with other bytes escaped, for
  // messages.
  std::string printable() const {
    size_t end = text.find_last_not_of(" \n");
    std::string shown = text.substr(0, end == std::string::npos ? 0 : end + 1);
    std::string s;
    for (char c : shown.substr(0, 200)) {
      unsigned char u = (unsigned char)c;
      if (u >= 0x20 && u < 0x7f) {
        s += c;
      } else {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", u);
        s += buf;
      }
    }
    return s;
  }

  char peek() const { return pos < text.size() ? text[pos] : '\0'; }

  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  void expect(char c) {
    skipSpace();
    if (peek() != c)
      error(std::string("expected '") + c + "'");
    ++pos;
  }

  std::string parseString() {
    skipSpace();
    char quote = peek();
    if (quote != '\'' && quote != '"')
      error("expected a quoted string");
    size_t end = text.find(quote, pos + 1);
    if (end == std::string::npos)
      error("unterminated string");
    std::string s = text.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    return s;
  }

  bool parseBool() {
    skipSpace();
    if (text.compare(pos, 4, "True") == 0) {
      pos += 4;
      return true;
    }
    if (text.compare(pos, 5, "False") == 0) {
      pos += 5;
      return false;
    }
    error("'fortran_order' is not True or False");
  }

  int64_t parseInt() {
    skipSpace();
    size_t start = pos;
    int64_t v = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      int digit = text[pos] - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10)
        error("dimension too large");
      v = v * 10 + digit;
      ++pos;
    }
    if (pos == start)
      error("expected a non-negative integer dimension");
    // Python 2 wrote longs with an L suffix.
    if (peek() == 'L')
      ++pos;
    return v;
  }

  Shape parseShape() {
    expect('(');
    Shape shape;
    skipSpace();
    while (peek() != ')') {
      shape.push_back(parseInt());
      skipSpace();
      if (peek() == ',') {
        ++pos;
        skipSpace();
      } else if (peek() != ')') {
        error("expected ',' or ')' in the shape");
      }
    }
    ++pos;
    return shape;
  }

  const std::string &text;
  const std::string &source;
  size_t pos = 0;
};

} // namespace

/// Maps a descr such as '<f8' to a dtype and whether its bytes are
/// big-endian.
static DType parseDescr(const std::string &descr, bool &bigEndian,
                        const std::string &source) {
  std::string unsupported = "unsupported dtype descr '" + descr +
                            "' (only bool, integer, float and complex types "
                            "are supported)";
  char order = descr.empty() ? '\0' : descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=')
    fail(source, unsupported);
  // '|' (not applicable) and '=' (native) mean host order; hosts we build
  // on may be either.
  bigEndian =
      order == '>' || (order != '<' && std::endian::native == std::endian::big);
  static const struct {
    const char *code;
    DType type;
  } codes[] = {{"b1", DType::Bool},      {"i1", DType::Int8},
               {"i2", DType::Int16},     {"i4", DType::Int32},
               {"i8", DType::Int64},     {"u1", DType::UInt8},
               {"u2", DType::UInt16},    {"u4", DType::UInt32},
               {"u8", DType::UInt64},    {"f2", DType::Float16},
               {"f4", DType::Float32},   {"f8", DType::Float64},
               {"c8", DType::Complex64}, {"c16", DType::Complex128}};
  std::string code = descr.substr(1);
  for (const auto &c : codes)
    if (code == c.code)
      return c.type;
  fail(source, unsupported);
}

static const char *descrOf(DType t) {
  switch (t) {
  case DType::Bool:
    return "|b1";
  case DType::Int8:
    return "|i1";
  case DType::Int16:
    return "<i2";
  case DType::Int32:
    return "<i4";
  case DType::Int64:
    return "<i8";
  case DType::UInt8:
    return "|u1";
  case DType::UInt16:
    return "<u2";
  case DType::UInt32:
    return "<u4";
  case DType::UInt64:
    return "<u8";
  case DType::Float16:
    return "<f2";
  case DType::Float32:
    return "<f4";
  case DType::Float64:
    return "<f8";
  case DType::Complex64:
    return "<c8";
  case DType::Complex128:
    return "<c16";
  }
  return "?";
}

/// Reverses the bytes of each `width`-byte word (each element, or each part
/// of a complex element).
static void byteSwap(std::byte *p, size_t bytes, size_t width) {
  if (width <= 1)
    return;
  for (size_t i = 0; i + width <= bytes; i += width)
    std::reverse(p + i, p + i + width);
}

static uint32_t readLittle(const std::string &bytes, size_t at, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i)
    v = (v << 8) | (unsigned char)bytes[at + i];
  return v;
}

NDArray parseNpy(const std::string &bytes, const std::string &source) {
  if (bytes.size() < kMagicLen ||
      bytes.compare(0, kMagicLen, kMagic, kMagicLen) != 0)
    fail(source, "not a .npy file (missing the \\x93NUMPY magic string)");
  if (bytes.size() < kMagicLen + 2)
    fail(source, "truncated header: the file ends inside the version");
  int major = (unsigned char)bytes[6], minor = (unsigned char)bytes[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    fail(source, "unsupported .npy format version " + std::to_string(major) +
                     "." + std::to_string(minor) +
                     " (1.0, 2.0 and 3.0 are supported)");
  size_t lenBytes = major == 1 ? 2 : 4;
  if (bytes.size() < kMagicLen + 2 + lenBytes)
    fail(source, "truncated header: the file ends inside the header length");
  size_t headerLen = readLittle(bytes, kMagicLen + 2, (int)lenBytes);
  size_t headerStart = kMagicLen + 2 + lenBytes;
  if (bytes.size() - headerStart < headerLen)
    fail(source, "truncated header: it claims " + std::to_string(headerLen) +
                     " bytes but the file has " +
                     std::to_string(bytes.size() - headerStart) +
                     " after the header length");
  std::string text = bytes.substr(headerStart, headerLen);
  Header h = HeaderParser(text, source).parse();

  bool bigEndian = false;
  DType type = parseDescr(*h.descr, bigEndian, source);
  const Shape &shape = *h.shape;
  if ((int)shape.size() > kMaxRank)
    fail(source, "rank " + std::to_string(shape.size()) +
                     " is above the maximum of " + std::to_string(kMaxRank));

  // Check the sizes before allocating: a corrupt shape must neither overflow
  // nor ask for more memory than the data that comes with it. As in NumPy,
  // the non-zero dimensions must multiply to a representable byte count even
  // when another dimension is 0 (the strides are computed from them).
  int64_t item = (int64_t)itemSize(type);
  const int64_t limit = std::numeric_limits<int64_t>::max() / item;
  int64_t extent = 1;
  for (int64_t d : shape) {
    if (d != 0 && extent > limit / d)
      fail(source, "shape " + formatShape(shape) + " is too big");
    extent *= std::max<int64_t>(d, 1);
  }
  size_t dataStart = headerStart + headerLen;
  size_t available = bytes.size() - dataStart;
  size_t nbytes = (size_t)(shapeSize(shape) * item);
  if (nbytes > available)
    fail(source, "data is truncated: shape " + formatShape(shape) + " of " +
                     dtypeName(type) + " needs " + std::to_string(nbytes) +
                     " bytes but only " + std::to_string(available) +
                     " follow the header");

  Order order = *h.fortranOrder ? Order::F : Order::C;
  NDArray a = NDArray::empty(type, shape, order);
  std::memcpy(a.data(), bytes.data() + dataStart, nbytes);
  if (bigEndian != (std::endian::native == std::endian::big))
    byteSwap(a.data(), nbytes, isComplex(type) ? item / 2 : item);
  // Any non-zero byte is True; keep bools canonical so that loads of them
  // are well defined.
  if (type == DType::Bool)
    for (size_t i = 0; i < nbytes; ++i)
      a.data()[i] = std::byte(a.data()[i] != std::byte(0));
  return a;
}

std::string serializeNpy(const NDArray &a) {
  if (!a.defined())
    throw ValueError("cannot serialize an undefined array");
  // The header NumPy writes: sorted keys, a trailing ", ", spare room for
  // the first dimension to grow, then padding to 64 bytes and a newline.
  std::string header =
      std::string("{'descr': '") + descrOf(a.dtype()) +
      "', 'fortran_order': False, 'shape': " + formatShape(a.shape()) + ", }";
  if (a.ndim() > 0)
    header +=
        std::string(kGrowthAxisDigits - std::to_string(a.dim(0)).size(), ' ');
  // Version 1.0 unless the padded header overflows its 2-byte length (never
  // for rank <= 32, but cheap to get right).
  auto padded = [&](size_t lenBytes) {
    size_t fixed = kMagicLen + 2 + lenBytes + header.size() + 1;
    return header + std::string(kAlign - fixed % kAlign, ' ') + "\n";
  };
  size_t lenBytes = 2;
  int major = 1;
  std::string text = padded(2);
  if (text.size() > 0xffff) {
    lenBytes = 4;
    major = 2;
    text = padded(4);
  }
  header = std::move(text);

  std::string out(kMagic, kMagicLen);
  out += (char)major;
  out += (char)0;
  for (size_t i = 0; i < lenBytes; ++i)
    out += (char)((header.size() >> (8 * i)) & 0xff);
  out += header;

  NDArray c = a.isContiguous() ? a : a.copy();
  size_t start = out.size();
  out.append(reinterpret_cast<const char *>(c.data()), c.nbytes());
  if (std::endian::native == std::endian::big) {
    size_t item = itemSize(a.dtype());
    byteSwap(reinterpret_cast<std::byte *>(out.data() + start), c.nbytes(),
             isComplex(a.dtype()) ? item / 2 : item);
  }
  return out;
}

NDArray loadNpy(const std::string &path) {
  // A directory opens fine as a stream on Linux and then reads as empty.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail(path, "cannot open for reading: Is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(path, std::string("cannot open for reading: ") + std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad())
    fail(path, "read error");
  return parseNpy(contents.str(), path);
}

void saveNpy(const std::string &path, const NDArray &a) {
  std::string bytes = serializeNpy(a);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
  out.write(bytes.data(), (std::streamsize)bytes.size());
  out.flush();
  if (!out)
    fail(path, "write error");
}

} // namespace thjit
