//===- NpyTest.cpp - Reading and writing NumPy's .npy files ---------------===//
//
// The embedded files were written by NumPy 1.24 (numpy.save, or
// numpy.lib.format.write_array for an explicit version); the expected reprs
// are NumPy's for the same arrays.
//
//===----------------------------------------------------------------------===//
#include "thjit/Array/Npy.h"
#include "thjit/Support/Error.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <complex>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace thjit;
using Catch::Matchers::Contains;

#define BYTES(literal) std::string(literal, sizeof(literal) - 1)

// ---- Files written by NumPy -------------------------------------------------

// np.save of np.arange(6.).reshape(2, 3) * 1.5
static const char kFloat64C[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False,"
    " 'shape': (2, 3), }                                           "
    "               \n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\xf8\x3f\x00\x00\x00\x00\x00\x00\x08@\x00\x00\x00\x00\x00"
    "\x00\x12@\x00\x00\x00\x00\x00\x00\x18@\x00\x00\x00\x00\x00\x00"
    "\x1e@";

// np.save of np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3) + 0.1)
static const char kFloat32Fortran[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': True, "
    "'shape': (2, 3), }                                            "
    "               \n\xcd\xcc\xcc=ffF@\xcd\xcc\x8c\x3f"
    "33\x83@ff"
    "\x06@33\xa3@";

// np.save of np.array([1, -2, 300000], dtype='>i4')
static const char kInt32Big[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>i4', 'fortran_order': False,"
    " 'shape': (3,), }                                             "
    "               \n\x00\x00\x00\x01\xff\xff\xff\xfe\x00\x04\x93\xe0";

// np.save of np.array([1+2j, -0.5-1e300j], dtype='>c16')
static const char kComplex128Big[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>c16', 'fortran_order': False"
    ", 'shape': (2,), }                                            "
    "               \n\x3f\xf0\x00\x00\x00\x00\x00\x00@\x00\x00\x00"
    "\x00\x00\x00\x00\xbf\xe0\x00\x00\x00\x00\x00\x00\xfe"
    "7\xe4<\x88"
    "\x00u\x9c";

// np.save of np.asfortranarray(np.array([[0.1, 2], [-3, 65504]], dtype='>f2'))
static const char kFloat16BigFortran[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>f2', 'fortran_order': True, "
    "'shape': (2, 2), }                                            "
    "               \n.f\xc2\x00@\x00{\xff";

// np.save of np.array([True, False, False, True])
static const char kBool[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False,"
    " 'shape': (4,), }                                             "
    "               \n\x01\x00\x00\x01";

// np.save of np.array(200, dtype=np.uint8)
static const char kUInt8Scalar[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False,"
    " 'shape': (), }                                               "
    "               \n\xc8";

// np.save of np.zeros((0, 3), dtype=np.complex64)
static const char kComplex64Empty[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<c8', 'fortran_order': False,"
    " 'shape': (0, 3), }                                           "
    "               \n";

// np.save of np.array([-7, 8], dtype='<i2'), version (2, 0)
static const char kInt16Version2[] =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i2', 'fortran_order'"
    ": False, 'shape': (2,), }                                     "
    "                     \n\xf9\xff\x08\x00";

// np.save of np.array([2**64 - 1, 0], dtype='<u8'), version (3, 0)
static const char kUInt64Version3[] =
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<u8', 'fortran_order'"
    ": False, 'shape': (2,), }                                     "
    "                     \n\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00"
    "\x00\x00\x00\x00\x00\x00";

// np.save of np.arange(6, dtype='<f4').reshape(2, 3) + 0.1 (C order): what
// saving kFloat32Fortran's array must produce.
static const char kFloat32C[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False,"
    " 'shape': (2, 3), }                                           "
    "               \n\xcd\xcc\xcc=\xcd\xcc\x8c\x3f"
    "ff\x06@ffF@33"
    "\x83@33\xa3@";

// ---- Helpers ----------------------------------------------------------------

// A .npy file (version `major`.0) with the given header dict and data bytes,
// padded as NumPy pads.
static std::string npyFile(const std::string &dict, const std::string &data,
                           int major = 1) {
  size_t lenBytes = major == 1 ? 2 : 4;
  std::string header = dict;
  size_t fixed = 8 + lenBytes + header.size() + 1;
  header += std::string(64 - fixed % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += (char)major;
  out += '\0';
  for (size_t i = 0; i < lenBytes; ++i)
    out += (char)((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

// The data bytes of a version 1.0 file.
static std::string dataOf(const std::string &file) {
  size_t headerLen = (unsigned char)file[8] | (unsigned char)file[9] << 8;
  return file.substr(10 + headerLen);
}

// Reverses each element's bytes (each part's, for complex).
static std::string swapBytes(std::string data, DType t) {
  size_t width = itemSize(t) / (isComplex(t) ? 2 : 1);
  for (size_t i = 0; i + width <= data.size(); i += width)
    std::reverse(data.begin() + i, data.begin() + i + width);
  return data;
}

// NumPy's descr for each dtype, little-endian, without the byte order.
static std::string descrCode(DType t) {
  static const char *codes[] = {"b1", "i1", "i2", "i4", "i8", "u1", "u2",
                                "u4", "u8", "f2", "f4", "f8", "c8", "c16"};
  return codes[(int)t];
}

// Deterministic values of every kind: negatives, fractions, large values.
static NDArray pattern(DType t, const Shape &shape) {
  std::vector<Scalar> values;
  for (int64_t i = 0; i < shapeSize(shape); ++i) {
    double v = (double)((i * 37) % 101 - 50) + (i % 4) * 0.25;
    if (isComplex(t))
      values.push_back(Scalar(std::complex<double>(v, -v * 1e10)));
    else if (isBool(t))
      values.push_back(Scalar::fromBool(i % 3 == 1));
    else if (isInteger(t))
      values.push_back(Scalar::fromInt((i * 7919) % 100003 - 50000));
    else
      values.push_back(Scalar(v * std::pow(10.0, (double)(i % 7) - 3)));
  }
  return NDArray::fromValues(t, values, shape);
}

// Shapes of ranks 0 to 8 with a few elements each.
static Shape shapeOfRank(int rank) {
  Shape s;
  for (int i = 0; i < rank; ++i)
    s.push_back(i % 3 + 1);
  return s;
}

static void checkSameArray(const NDArray &got, const NDArray &want) {
  REQUIRE(got.dtype() == want.dtype());
  REQUIRE(got.shape() == want.shape());
  std::vector<Scalar> g = got.values(), w = want.values();
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": " << g[i].str() << " vs " << w[i].str());
    CHECK(g[i].identical(w[i]));
  }
}

// The message of the IOError parsing `bytes` throws, or "<no error>".
static std::string npyError(const std::string &bytes) {
  try {
    parseNpy(bytes, "bad.npy");
  } catch (const IOError &e) {
    return e.what();
  }
  return "<no error>";
}

static std::string tempPath(const std::string &name) {
  return (std::filesystem::temp_directory_path() /
          ("thjit-npytest-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

// ---- Tests ------------------------------------------------------------------

TEST_CASE("reads files NumPy wrote", "[npy]") {
  NDArray a = parseNpy(BYTES(kFloat64C), "f64.npy");
  CHECK(a.repr() == "array([[0. , 1.5, 3. ],\n       [4.5, 6. , 7.5]])");
  CHECK(a.isContiguous());

  NDArray f = parseNpy(BYTES(kFloat32Fortran), "f32.npy");
  CHECK(f.repr() == "array([[0.1, 1.1, 2.1],\n"
                    "       [3.1, 4.1, 5.1]], dtype=float32)");
  CHECK(f.strides() == Shape{1, 2});

  CHECK(parseNpy(BYTES(kInt32Big), "i4.npy").repr() ==
        "array([     1,     -2, 300000], dtype=int32)");
  CHECK(parseNpy(BYTES(kComplex128Big), "c16.npy").repr() ==
        "array([ 1. +2.e+000j, -0.5-1.e+300j])");
  NDArray h = parseNpy(BYTES(kFloat16BigFortran), "f2.npy");
  CHECK(h.repr() == "array([[ 1.00e-01,  2.00e+00],\n"
                    "       [-3.00e+00,  6.55e+04]], dtype=float16)");
  CHECK(h.isContiguous(Order::F));
  CHECK(parseNpy(BYTES(kBool), "b1.npy").repr() ==
        "array([ True, False, False,  True])");
  NDArray s = parseNpy(BYTES(kUInt8Scalar), "u1.npy");
  CHECK(s.ndim() == 0);
  CHECK(s.repr() == "array(200, dtype=uint8)");
  NDArray e = parseNpy(BYTES(kComplex64Empty), "c8.npy");
  CHECK(e.shape() == Shape{0, 3});
  CHECK(e.repr() == "array([], shape=(0, 3), dtype=complex64)");
  CHECK(parseNpy(BYTES(kInt16Version2), "v2.npy").repr() ==
        "array([-7,  8], dtype=int16)");
  CHECK(parseNpy(BYTES(kUInt64Version3), "v3.npy").repr() ==
        "array([18446744073709551615,                    0], dtype=uint64)");
}

TEST_CASE("writes the bytes NumPy writes", "[npy]") {
  for (const std::string &file :
       {BYTES(kFloat64C), BYTES(kBool), BYTES(kUInt8Scalar),
        BYTES(kComplex64Empty), BYTES(kFloat32C)})
    CHECK(serializeNpy(parseNpy(file, "numpy.npy")) == file);
  // Fortran-order and big-endian inputs are written C order, little-endian.
  CHECK(serializeNpy(parseNpy(BYTES(kFloat32Fortran), "f.npy")) ==
        BYTES(kFloat32C));
  NDArray big = parseNpy(BYTES(kInt32Big), "i4.npy");
  std::string le = serializeNpy(big);
  CHECK(le.find("'descr': '<i4'") != std::string::npos);
  CHECK(dataOf(le) == swapBytes(dataOf(BYTES(kInt32Big)), DType::Int32));
  // The header is padded so that the data starts at a multiple of 64.
  for (int rank = 0; rank <= 32; rank += 4) {
    std::string bytes =
        serializeNpy(NDArray::zeros(DType::Int8, Shape(rank, 1)));
    size_t dataStart = bytes.size() - 1; // one int8 element
    CHECK(dataStart % 64 == 0);
    CHECK(bytes[dataStart - 1] == '\n');
  }
}

TEST_CASE("round trips every dtype and rank in C and Fortran order", "[npy]") {
  for (int ti = 0; ti < kNumDTypes; ++ti) {
    DType t = (DType)ti;
    for (int rank = 0; rank <= 8; ++rank) {
      INFO(dtypeName(t) << " rank " << rank);
      NDArray a = pattern(t, shapeOfRank(rank));
      std::string bytes = serializeNpy(a);
      NDArray back = parseNpy(bytes, "roundtrip.npy");
      checkSameArray(back, a);
      CHECK(back.isContiguous());
      // Fortran-ordered and strided sources write the same C-order bytes.
      CHECK(serializeNpy(a.copy(Order::F)) == bytes);
      checkSameArray(parseNpy(serializeNpy(a.transpose()), "t.npy"),
                     a.transpose());

      // A file in Fortran order: the data is the C order of the transpose.
      std::string dict =
          "{'descr': '<" + descrCode(t) +
          "', 'fortran_order': True, 'shape': " + formatShape(a.shape()) +
          ", }";
      NDArray f = parseNpy(npyFile(dict, dataOf(serializeNpy(a.transpose()))),
                           "fortran.npy");
      checkSameArray(f, a);
      CHECK(f.isContiguous(Order::F));

      // Big-endian data.
      std::string bigDict =
          "{'descr': '>" + descrCode(t) +
          "', 'fortran_order': False, 'shape': " + formatShape(a.shape()) +
          ", }";
      checkSameArray(
          parseNpy(npyFile(bigDict, swapBytes(dataOf(bytes), t)), "be.npy"), a);
    }
  }
}

TEST_CASE("round trips empty, broadcast and high-rank arrays", "[npy]") {
  NDArray empty = NDArray::zeros(DType::Float32, {2, 0, 3});
  NDArray e = parseNpy(serializeNpy(empty), "e.npy");
  CHECK(e.shape() == Shape{2, 0, 3});
  CHECK(e.dtype() == DType::Float32);

  Shape tall(32, 1);
  tall[5] = 2;
  checkSameArray(parseNpy(serializeNpy(pattern(DType::Int16, tall)), "t.npy"),
                 pattern(DType::Int16, tall));

  NDArray row = pattern(DType::Float64, {3});
  NDArray b = row.broadcastTo({4, 3});
  checkSameArray(parseNpy(serializeNpy(b), "b.npy"), b);
  NDArray rev = pattern(DType::Complex64, {5}).slice(0, 4, -1, -1);
  checkSameArray(parseNpy(serializeNpy(rev), "r.npy"), rev);

  // Versions 2.0 and 3.0 of the same file read the same.
  std::string dict =
      "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  std::string data = dataOf(serializeNpy(pattern(DType::Int64, {3})));
  for (int major : {2, 3})
    checkSameArray(parseNpy(npyFile(dict, data, major), "v.npy"),
                   pattern(DType::Int64, {3}));
}

TEST_CASE("headers may be written in other valid ways", "[npy]") {
  std::string data = dataOf(serializeNpy(pattern(DType::Float64, {2})));
  // Keys in any order, double quotes, no trailing comma, Python 2 longs.
  for (const char *dict :
       {"{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}",
        "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2,)}",
        "{'descr':'<f8','fortran_order':False,'shape':(2L,)}",
        "{ 'descr' : '|f8' , 'fortran_order' : False , 'shape' : ( 2 , ) , "
        "}"}) {
    INFO(dict);
    checkSameArray(parseNpy(npyFile(dict, data), "ok.npy"),
                   pattern(DType::Float64, {2}));
  }
  // Extra bytes after the data are ignored, as numpy.load ignores them.
  checkSameArray(
      parseNpy(serializeNpy(pattern(DType::Int8, {3})) + "extra", "x.npy"),
      pattern(DType::Int8, {3}));
  // Any non-zero byte of a bool is True.
  NDArray b = parseNpy(
      npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
              std::string("\x00\x02\xff", 3)),
      "b.npy");
  CHECK(b.repr() == "array([False,  True,  True])");
}

TEST_CASE("malformed files are IOErrors that say what is wrong", "[npy]") {
  std::string good = serializeNpy(pattern(DType::Float64, {3}));
  auto header = [](const std::string &dict) {
    return npyFile(dict, std::string(64, '\0'));
  };

  SECTION("wrong magic") {
    CHECK_THAT(npyError(""), Contains("bad.npy") && Contains("magic"));
    CHECK_THAT(npyError("\x93NUMP"), Contains("magic"));
    CHECK_THAT(npyError("PK\x03\x04 a zip file"), Contains("magic"));
    std::string wrong = good;
    wrong[1] = 'n';
    CHECK_THAT(npyError(wrong), Contains("not a .npy file"));
  }
  SECTION("unsupported version") {
    std::string v4 = good;
    v4[6] = 4;
    CHECK_THAT(npyError(v4), Contains("version 4.0"));
    std::string v11 = good;
    v11[7] = 1;
    CHECK_THAT(npyError(v11), Contains("version 1.1"));
  }
  SECTION("truncated header") {
    for (size_t n : {7, 8, 9, 10, 50, 127}) {
      INFO("first " << n << " bytes");
      CHECK_THAT(npyError(good.substr(0, n)),
                 Contains("bad.npy") && Contains("truncated header"));
    }
    std::string v2 = npyFile("{'descr': '<f8', 'fortran_order': False, "
                             "'shape': (1,), }",
                             std::string(8, '\0'), 2);
    CHECK_THAT(npyError(v2.substr(0, 11)), Contains("truncated header"));
  }
  SECTION("bad header dict") {
    const char *cases[][2] = {
        {"[1, 2]", "expected '{'"},
        {"{'descr': '<f8', 'fortran_order': False}", "missing key 'shape'"},
        {"{'descr': '<f8', 'shape': (2,)}", "missing key 'fortran_order'"},
        {"{'fortran_order': False, 'shape': (2,)}", "missing key 'descr'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}",
         "unexpected key 'x'"},
        {"{'descr': '<f8', 'fortran_order': 'no', 'shape': (2,)}",
         "not True or False"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, x)}",
         "integer dimension"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}",
         "integer dimension"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': [2]}",
         "expected '('"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,) junk",
         "expected ',' or '}'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} junk",
         "after the closing '}'"},
        {"{'descr': '<f8, 'fortran_order': False, 'shape': (2,)}",
         "expected ',' or '}'"},
        {"{'descr: '<f8'}", "expected ':'"},
        {"{'descr': '<f8', 'descr': '<f8'}", "duplicate key 'descr'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': "
         "(99999999999999999999,)}",
         "dimension too large"},
        {"", "expected '{'"},
    };
    for (auto &c : cases) {
      INFO(c[0]);
      CHECK_THAT(npyError(header(c[0])), Contains("bad.npy") &&
                                             Contains("malformed header") &&
                                             Contains(c[1]));
    }
  }
  SECTION("unsupported dtype") {
    for (const char *descr :
         {"<U5", "|O", "<f16", "<M8[ns]", "|S3", "<i3", "f8", "<c32", "|V8"}) {
      INFO(descr);
      std::string dict = std::string("{'descr': '") + descr +
                         "', 'fortran_order': False, 'shape': (1,), }";
      CHECK_THAT(npyError(header(dict)), Contains("bad.npy") &&
                                             Contains("unsupported dtype") &&
                                             Contains(descr));
    }
    CHECK_THAT(npyError(header("{'descr': [('a', '<i4')], 'fortran_order': "
                               "False, 'shape': (1,), }")),
               Contains("structured dtypes are not supported"));
  }
  SECTION("data shorter than the shape needs") {
    CHECK_THAT(npyError(good.substr(0, good.size() - 1)),
               Contains("bad.npy") && Contains("truncated") &&
                   Contains("needs 24 bytes but only 23"));
    std::string headerOnly = good.substr(0, good.size() - 24);
    CHECK_THAT(npyError(headerOnly), Contains("needs 24 bytes but only 0"));
    CHECK_THAT(npyError(npyFile("{'descr': '<c16', 'fortran_order': True, "
                                "'shape': (4611686018427387904, 4), }",
                                "")),
               Contains("too big"));
    CHECK_THAT(npyError(npyFile("{'descr': '|u1', 'fortran_order': False, "
                                "'shape': (0, 9223372036854775807, 2), }",
                                "")),
               Contains("too big"));
    CHECK_THAT(npyError(npyFile("{'descr': '|u1', 'fortran_order': False, "
                                "'shape': (65536, 65536, 65536), }",
                                "abc")),
               Contains("only 3"));
  }
  SECTION("rank above 32") {
    std::string shape = "(";
    for (int i = 0; i < 33; ++i)
      shape += "1, ";
    shape += ")";
    CHECK_THAT(npyError(header("{'descr': '<f8', 'fortran_order': False, "
                               "'shape': " +
                               shape + ", }")),
               Contains("rank 33"));
  }
}

TEST_CASE("corrupted bytes never crash the reader", "[npy]") {
  std::string good = serializeNpy(pattern(DType::Complex128, {2, 3}));
  // Flip, truncate or replace each byte of the header in turn.
  for (size_t i = 0; i < 128; ++i) {
    for (char c :
         {'\0', '(', ')', ',', '9', '\'', '{', '}', ':', 'T', '\xff'}) {
      std::string bad = good;
      bad[i] = c;
      try {
        NDArray a = parseNpy(bad, "fuzz.npy");
        (void)a.repr();
      } catch (const IOError &) {
      }
    }
    try {
      (void)parseNpy(good.substr(0, i), "fuzz.npy");
    } catch (const IOError &) {
    }
  }
}

TEST_CASE("save and load go through files", "[npy]") {
  std::string path = tempPath("a.npy");
  NDArray a = pattern(DType::Float32, {3, 4}).transpose();
  saveNpy(path, a);
  checkSameArray(loadNpy(path), a);
  {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    CHECK(bytes == serializeNpy(a));
  }
  // Saving again replaces the file.
  saveNpy(path, NDArray::scalar(Scalar::fromInt(5, DType::Int8)));
  CHECK(loadNpy(path).repr() == "array(5, dtype=int8)");
  std::filesystem::remove(path);

  std::string missing = tempPath("missing/nothing.npy");
  try {
    loadNpy(missing);
    FAIL("no error");
  } catch (const IOError &e) {
    CHECK_THAT(std::string(e.what()),
               Contains(missing) && Contains("No such file"));
  }
  CHECK_THROWS_AS(saveNpy(missing, a), IOError);
  CHECK_THROWS_WITH(loadNpy(std::filesystem::temp_directory_path().string()),
                    Contains("directory"));

  std::string notNpy = tempPath("text.npy");
  std::ofstream(notNpy) << "hello";
  CHECK_THROWS_WITH(loadNpy(notNpy), Contains(notNpy) && Contains("magic"));
  std::filesystem::remove(notNpy);
}
