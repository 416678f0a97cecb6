//===- RandomTest.cpp - NumPy's legacy RandomState streams ----------------===//
//
// Every expected value below was produced by NumPy 1.24's legacy
// numpy.random.RandomState (the expression is given above each table) and
// pasted in with repr(), so that floats compare exactly. Row i of each table
// is for kSeeds[i], each from a freshly seeded generator.
//
//===----------------------------------------------------------------------===//
#include "thjit/Array/Random.h"
#include "thjit/Support/Error.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

using namespace thjit;
using Catch::Matchers::Contains;

static const std::vector<int64_t> kSeeds = {0, 1, 42, 4294967295LL};

// rs.randint(0, 2**32, 6, dtype=np.uint32): the raw 32-bit outputs.
static const std::vector<std::vector<int64_t>> kRawUInt32 = {
    {2357136044LL, 2546248239LL, 3071714933LL, 3626093760LL, 2588848963LL,
     3684848379LL},
    {1791095845, 4282876139LL, 3093770124LL, 4005303368LL, 491263, 550290313},
    {1608637542, 3421126067LL, 4083286876LL, 787846414, 3143890026LL,
     3348747335LL},
    {419326371, 479346978, 3918654476LL, 2416749639LL, 3388880820LL,
     2260532800LL},
};

// rs.get_state()[1][[0, 1, 2, 623]] right after seeding.
static const std::vector<std::vector<int64_t>> kKeyWords = {
    {0, 1, 1812433255, 1796872496},
    {1, 1812433254, 3713160357LL, 2069268389},
    {42, 3107752595LL, 1895908407, 26719530},
    {4294967295LL, 1340201581, 3941791902LL, 3413567280LL},
};

// rs.rand(5)
static const std::vector<std::vector<double>> kRand5 = {
    {0.5488135039273248, 0.7151893663724195, 0.6027633760716439,
     0.5448831829968969, 0.4236547993389047},
    {0.417022004702574, 0.7203244934421581, 0.00011437481734488664,
     0.30233257263183977, 0.14675589081711304},
    {0.3745401188473625, 0.9507143064099162, 0.7319939418114051,
     0.5986584841970366, 0.15601864044243652},
    {0.0976320289940138, 0.9123828453026218, 0.78903530185164,
     0.7800035981134678, 0.01793967398674523},
};

// np.concatenate([rs.randn(3), rs.randn(4), rs.randn(1)])
static const std::vector<std::vector<double>> kRandn341 = {
    {1.764052345967664, 0.4001572083672233, 0.9787379841057392,
     2.240893199201458, 1.8675579901499675, -0.977277879876411,
     0.9500884175255894, -0.1513572082976979},
    {1.6243453636632417, -0.6117564136500754, -0.5281717522634557,
     -1.0729686221561705, 0.8654076293246785, -2.3015386968802827,
     1.74481176421648, -0.7612069008951028},
    {0.4967141530112327, -0.13826430117118466, 0.6476885381006925,
     1.5230298564080254, -0.23415337472333597, -0.23413695694918055,
     1.5792128155073915, 0.7674347291529088},
    {0.6484086742306527, 0.6693235306338161, -1.0805437227474493,
     0.2845010447986309, 0.11388773652167104, 0.8676218937929382,
     -0.044026015448043285, 0.24877161740907913},
};

// rs.uniform(-2.5, 7.0, 4)
static const std::vector<std::vector<double>> kUniform = {
    {2.7137282873095856, 4.294298980537985, 3.2262520726806168,
     2.6763902384705203},
    {1.461709044674453, 4.343082687700502, -2.4989134392352237,
     0.3721594400024779},
    {1.0581311290499436, 6.531785910894204, 4.453942447208348,
     3.1872555998718477},
    {-1.572495724556869, 6.167637030374907, 4.99583536759058,
     4.910034182077943},
};

// rs.normal(1.5, 3.0, 5)
static const std::vector<std::vector<double>> kNormal = {
    {6.792157037902992, 2.70047162510167, 4.4362139523172175, 8.222679597604373,
     7.102673970449903},
    {6.373036090989725, -0.33526924095022625, -0.08451525679036709,
     -1.7189058664685115, 4.096222887974036},
    {2.990142459033698, 1.085207096486446, 3.4430656143020775,
     6.069089569224076, 0.7975398758299921},
    {3.4452260226919584, 3.507970591901448, -1.741631168242348,
     2.3535031343958925, 1.8416632095650132},
};

// rs.randint(0, 10, 8)
static const std::vector<std::vector<int64_t>> kIntSmall = {
    {5, 0, 3, 3, 7, 9, 3, 5},
    {5, 8, 9, 5, 0, 0, 1, 7},
    {6, 3, 7, 4, 6, 9, 2, 6},
    {3, 2, 7, 4, 0, 6, 9, 0},
};

// rs.randint(-5, 5, 8)
static const std::vector<std::vector<int64_t>> kIntNeg = {
    {0, -5, -2, -2, 2, 4, -2, 0},
    {0, 3, 4, 0, -5, -5, -4, 2},
    {1, -2, 2, -1, 1, 4, -3, 1},
    {-2, -3, 2, -1, -5, 1, 4, -5},
};

// rs.randint(-1000, -3, 6)
static const std::vector<std::vector<int64_t>> kIntAllNeg = {
    {-316, -441, -371, -808, -165, -237},
    {-963, -765, -92, -928, -233, -95},
    {-898, -565, -140, -730, -894, -929},
    {-581, -710, -988, -929, -52, -424},
};

// rs.randint(0, 2**32, 4): a span of exactly 32 bits.
static const std::vector<std::vector<int64_t>> kIntSpan32 = {
    {2357136044LL, 2546248239LL, 3071714933LL, 3626093760LL},
    {1791095845, 4282876139LL, 3093770124LL, 4005303368LL},
    {1608637542, 3421126067LL, 4083286876LL, 787846414},
    {419326371, 479346978, 3918654476LL, 2416749639LL},
};

// rs.randint(0, 2**32 + 1, 4): the smallest span that draws 64 bits.
static const std::vector<std::vector<int64_t>> kIntSpan33 = {
    {2546248239LL, 1277901399, 243580376, 1171049868},
    {4005303368LL, 1703301249, 1666063943, 4018109721LL},
    {3421126067LL, 787846414, 3348747335LL, 2563451924LL},
    {2416749639LL, 2260532800LL, 3309765114LL, 2987145323LL},
};

// rs.randint(-2**40, 2**40, 4)
static const std::vector<std::vector<int64_t>> kIntLarge = {
    {-358231004625LL, -593374360384LL, 291447657211LL, -258354086553LL},
    {-936314961685LL, 605300724808LL, -3744676983LL, -223342420347LL},
    {-658003837517LL, 395924837646LL, -640896347065LL, -289494324204LL},
    {700559016226LL, -1045555270585LL, 775354646080LL, -177078861318LL},
};

// rs.randint(-2**63, 2**63 - 1, 4)
static const std::vector<std::vector<int64_t>> kIntFull = {
    {900450186894289455LL, 3969543146641149120LL, 1895649597198586619LL,
     827948490035658087LL},
    {-1530673954295414549LL, 4064269471072392264LL, -9221262077785750647LL,
     -3646320530140619131LL},
    {-2314326399425823309LL, 8314211556539077902LL, 4279532810384561223LL,
     1819927849474927636LL},
    {-7422378986580066014LL, 7607120784305990727LL, 5331760257347419712LL,
     5165154706003526138LL},
};

// rs.randint(-100, 100, 8, dtype=np.int32)
static const std::vector<std::vector<int64_t>> kInt32Small = {
    {72, -53, 17, 92, -33, 95, 3, -91},
    {-63, 40, -28, 37, 33, -21, 92, 44},
    {2, 79, -8, -86, 6, -29, 88, -80},
    {63, -66, -88, -29, 80, -36, -68, 27},
};

// rs.randint(-2**31, 2**31 - 1, 4, dtype=np.int32)
static const std::vector<std::vector<int64_t>> kInt32Large = {
    {209652396, 398764591, 924231285, 1478610112},
    {-356387803, 2135392491, 946286476, 1857819720},
    {-538846106, 1273642419, 1935803228, -1359637234},
    {-1728157277, -1668136670, 1771170828, 269265991},
};

// rs.randint(-2**31, 2**31, 4, dtype=np.int32): the full range.
static const std::vector<std::vector<int64_t>> kInt32Full = {
    {209652396, 398764591, 924231285, 1478610112},
    {-356387803, 2135392491, 946286476, 1857819720},
    {-538846106, 1273642419, 1935803228, -1359637234},
    {-1728157277, -1668136670, 1771170828, 269265991},
};

// rs.randint(-7, 100, 9, dtype=np.int8)
static const std::vector<std::vector<int64_t>> kInt8 = {
    {37, 3, 5, 40, 35, 61, 16, 31, 15},
    {30, 58, 99, -7, 64, 5, 40, 96, 49},
    {95, 85, 90, 88, 44, 54, 99, 68, 85},
    {28, 98, 17, 27, 58, 11, 21, 5, 10},
};

// rs.randint(0, 256, 9, dtype=np.uint8)
static const std::vector<std::vector<int64_t>> kUInt8 = {
    {172, 10, 127, 140, 47, 170, 196, 151, 117},
    {37, 244, 193, 106, 235, 128, 71, 255, 140},
    {102, 220, 225, 95, 179, 61, 234, 203, 92},
    {163, 105, 254, 24, 34, 65, 146, 28, 12},
};

// rs.randint(-300, 20000, 5, dtype=np.int16)
static const std::vector<std::vector<int64_t>> kInt16 = {
    {2432, 2899, 10499, 5784, 9545},
    {-65, 11872, 14139, 4892, -293},
    {15495, 19134, 560, 5090, 11721},
    {6098, 16374, 7014, 11035, 3808},
};

// rs.randint(5, 60000, 5, dtype=np.uint16)
static const std::vector<std::vector<int64_t>> kUInt16 = {
    {2737, 35972, 43572, 38857, 42618},
    {27334, 33008, 12177, 47212, 5197},
    {56427, 24550, 15800, 52207, 865},
    {27048, 6403, 16679, 7319, 59798},
};

// rs.randint(3, 4000000000, 5, dtype=np.uint32)
static const std::vector<std::vector<int64_t>> kUInt32 = {
    {2357136047LL, 2546248242LL, 3071714936LL, 3626093763LL, 2588848966LL},
    {1791095848, 3093770127LL, 491266, 550290316, 1298508494},
    {1608637545, 3421126070LL, 787846417, 3143890029LL, 3348747338LL},
    {419326374, 479346981, 3918654479LL, 2416749642LL, 3388880823LL},
};

// rs.randint(10, 2**50, 4, dtype=np.uint64)
static const std::vector<std::vector<int64_t>> kUInt64 = {
    {856161327032889LL, 745975020899530LL, 760053982450437LL,
     412058506329457LL},
    {549919010554101LL, 896707277362258LL, 984059162182547LL,
     469268122640015LL},
    {523809042611645LL, 566644413142296LL, 1113164382590033LL,
     473600017247262LL},
    {679099233354028LL, 541013677222993LL, 624198447595082LL,
     651833316409860LL},
};

// rs.randint(0, 2, 40, dtype=bool): more than one 32-bit word of bits.
static const std::vector<std::vector<int64_t>> kBool = {
    {0, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1,
     1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0},
    {1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0,
     0, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1},
    {0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0,
     0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1},
    {1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1,
     1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0},
};

// Interleaved: randn(1), rand(2), randint(0, 100, 3), randn(2),
// uniform(1, 2, 1), randint(-2**40, 2**40, 2), normal(-1, 0.5, 3),
// randint(0, 7, 3, dtype=np.int8), randn(1), permutation(5), randn(1)
// (integers as floats).
static const std::vector<std::vector<double>> kInterleaved = {
    {1.764052345967664,
     0.6027633760716439,
     0.5448831829968969,
     9.0,
     83.0,
     21.0,
     0.4001572083672233,
     -1.5169827345248437,
     1.056712977317443,
     602942290234.0,
     -267182506522.0,
     -1.4331381053294407,
     -1.04383653361985,
     -0.31656031653661254,
     1.0,
     3.0,
     5.0,
     0.48431215412066475,
     3.0,
     1.0,
     4.0,
     2.0,
     0.0,
     0.5791404787067285},
    {1.6243453636632417,
     0.00011437481734488664,
     0.30233257263183977,
     79.0,
     64.0,
     16.0,
     -0.6117564136500754,
     -1.601721003768678,
     1.66974603680348,
     109688382642.0,
     87699772670.0,
     -1.738914785420497,
     -0.8712032422464686,
     -1.9796972980581602,
     4.0,
     0.0,
     6.0,
     -0.8599066067340536,
     3.0,
     0.0,
     2.0,
     4.0,
     1.0,
     1.7726076293654278},
    {0.4967141530112327,
     0.7319939418114051,
     0.5986584841970366,
     82.0,
     86.0,
     74.0,
     -0.13826430117118466,
     -2.010962889744628,
     1.1428668179219408,
     -541077469547.0,
     227504030465.0,
     -1.2464017124817142,
     -0.8834523804701281,
     -0.9410026938282501,
     1.0,
     1.0,
     3.0,
     -0.46341769281246226,
     2.0,
     0.0,
     4.0,
     1.0,
     3.0,
     -0.46572975357025687},
    {0.6484086742306527,
     0.01793967398674523,
     0.9695059322147525,
     11.0,
     74.0,
     27.0,
     0.6693235306338161,
     0.47688182146087926,
     1.8209010840523723,
     710062034121.0,
     589191204441.0,
     -1.5129610188775016,
     -1.3998308412031197,
     -1.741422602502236,
     0.0,
     6.0,
     1.0,
     -0.026158136126360088,
     4.0,
     3.0,
     0.0,
     1.0,
     2.0,
     1.0043764198646392},
};

// rs.permutation(10)
static const std::vector<std::vector<int64_t>> kPerm10 = {
    {2, 8, 4, 9, 1, 6, 7, 3, 0, 5},
    {2, 9, 6, 4, 0, 3, 1, 7, 8, 5},
    {8, 1, 5, 0, 7, 2, 9, 4, 3, 6},
    {6, 9, 5, 1, 8, 0, 7, 4, 2, 3},
};

// rs.rand(1000)[[0, 311, 312, 313, 623, 624, 999]]: across state reloads.
static const std::vector<std::vector<double>> kRandLong = {
    {0.5488135039273248, 0.14694664540037505, 0.07952208258675575,
     0.08960303423860538, 0.8130538632474607, 0.97622566345382,
     0.6771411441114241},
    {0.417022004702574, 0.9096355249515571, 0.2571182937821962,
     0.1108913007440292, 0.6438956443116628, 0.7543059505762987,
     0.7744772660150796},
    {0.3745401188473625, 0.07845638134226596, 0.02535074341545751,
     0.9626484146779251, 0.4845229851910213, 0.618254771530296,
     0.44600577295795574},
    {0.0976320289940138, 0.2845819535787153, 0.89887815082878,
     0.220919050074051, 0.16177415711968401, 0.558929113358157,
     0.556626859384112},
};

// seed([1, 2, 3]), rand(2), seed([2**32 - 1]), rand(2), seed(range(700)),
// rand(2)
static const std::vector<std::vector<double>> kSeedArray = {
    {0.6098612722867289, 0.8866970434146851, 0.6353574441341173,
     0.20319993954407756, 0.867898393018711, 0.9148838731573538},
    {0.6098612722867289, 0.8866970434146851, 0.6353574441341173,
     0.20319993954407756, 0.867898393018711, 0.9148838731573538},
    {0.6098612722867289, 0.8866970434146851, 0.6353574441341173,
     0.20319993954407756, 0.867898393018711, 0.9148838731573538},
    {0.6098612722867289, 0.8866970434146851, 0.6353574441341173,
     0.20319993954407756, 0.867898393018711, 0.9148838731573538},
};

// a = np.arange(12).reshape(6, 2); rs.shuffle(a); a.ravel()
static const std::vector<std::vector<int64_t>> kShuffle2D = {
    {10, 11, 4, 5, 2, 3, 6, 7, 0, 1, 8, 9},
    {4, 5, 2, 3, 8, 9, 0, 1, 6, 7, 10, 11},
    {0, 1, 2, 3, 10, 11, 4, 5, 8, 9, 6, 7},
    {2, 3, 8, 9, 10, 11, 0, 1, 4, 5, 6, 7},
};

// a = np.arange(7.) * 0.5; rs.shuffle(a[::-2]); a
static const std::vector<std::vector<double>> kShuffleStrided = {
    {3.0, 0.5, 2.0, 1.5, 0.0, 2.5, 1.0},
    {2.0, 0.5, 3.0, 1.5, 1.0, 2.5, 0.0},
    {1.0, 0.5, 3.0, 1.5, 0.0, 2.5, 2.0},
    {0.0, 0.5, 1.0, 1.5, 3.0, 2.5, 2.0},
};

static std::vector<double> doublesOf(const NDArray &a) {
  std::vector<double> out;
  for (const Scalar &s : a.values())
    out.push_back(s.toDouble());
  return out;
}

static std::vector<int64_t> intsOf(const NDArray &a) {
  std::vector<int64_t> out;
  for (const Scalar &s : a.values())
    out.push_back(s.toInt());
  return out;
}

static std::vector<double> concat(std::vector<double> a,
                                  const std::vector<double> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

static std::vector<double> concat(std::vector<double> a,
                                  const std::vector<int64_t> &b) {
  for (int64_t v : b)
    a.push_back((double)v);
  return a;
}

TEST_CASE("Seeding reproduces NumPy's MT19937 state and outputs", "[random]") {
  for (size_t i = 0; i < kSeeds.size(); ++i) {
    INFO("seed " << kSeeds[i]);
    RandomState rs(kSeeds[i]);
    RandomState::State st = rs.getState();
    CHECK(st.pos == 624);
    CHECK_FALSE(st.hasGauss);
    const std::vector<int64_t> &words = kKeyWords[i];
    CHECK(st.key[0] == words[0]);
    CHECK(st.key[1] == words[1]);
    CHECK(st.key[2] == words[2]);
    CHECK(st.key[623] == words[3]);

    std::vector<int64_t> raw;
    for (int k = 0; k < 6; ++k)
      raw.push_back(rs.nextUInt32());
    CHECK(raw == kRawUInt32[i]);

    RandomState again(kSeeds[i]);
    NDArray a = again.randint(0, 4294967296LL, {6}, DType::UInt32);
    CHECK(a.dtype() == DType::UInt32);
    CHECK(intsOf(a) == kRawUInt32[i]);
  }
}

TEST_CASE("rand and randomSample match NumPy", "[random]") {
  for (size_t i = 0; i < kSeeds.size(); ++i) {
    INFO("seed " << kSeeds[i]);
    RandomState rs(kSeeds[i]);
    NDArray a = rs.rand({5});
    CHECK(a.dtype() == DType::Float64);
    CHECK(a.shape() == Shape{5});
    CHECK(doublesOf(a) == kRand5[i]);

    rs.seed(kSeeds[i]);
    std::vector<double> singles;
    for (int k = 0; k < 5; ++k)
      singles.push_back(rs.randomSample());
    CHECK(singles == kRand5[i]);

    rs.seed(kSeeds[i]);
    NDArray b = rs.rand({1, 5});
    CHECK(b.shape() == Shape{1, 5});
    CHECK(doublesOf(b) == kRand5[i]);

    // A 0-d array holds one value; an empty one draws nothing.
    rs.seed(kSeeds[i]);
    CHECK(rs.rand({0, 3}).size() == 0);
    NDArray c = rs.rand({});
    CHECK(c.ndim() == 0);
    CHECK(c.item().toDouble() == kRand5[i][0]);
  }
}

TEST_CASE("randn and standardNormal use the cached second normal", "[random]") {
  for (size_t i = 0; i < kSeeds.size(); ++i) {
    INFO("seed " << kSeeds[i]);
    RandomState rs(kSeeds[i]);
    // Odd counts leave a normal cached across calls.
    std::vector<double> got = doublesOf(rs.randn({3}));
    got = concat(got, doublesOf(rs.randn({2, 2})));
    got = concat(got, doublesOf(rs.randn({1})));
    CHECK(got == kRandn341[i]);

    rs.seed(kSeeds[i]);
    std::vector<double> singles;
    for (int k = 0; k < 8; ++k)
      singles.push_back(rs.standardNormal());
    CHECK(singles == kRandn341[i]);
  }
}

TEST_CASE("uniform and normal match NumPy", "[random]") {
  for (size_t i = 0; i < kSeeds.size(); ++i) {
    INFO("seed " << kSeeds[i]);
    RandomState rs(kSeeds[i]);
    CHECK(doublesOf(rs.uniform(-2.5, 7.0, {4})) == kUniform[i]);
    rs.seed(kSeeds[i]);
    CHECK(doublesOf(rs.normal(1.5, 3.0, {5})) == kNormal[i]);
  }
  // high < low is allowed, a NaN scale too.
  RandomState rs(0);
  CHECK(doublesOf(rs.uniform(1, 0, {2})) ==
        std::vector<double>{0.45118649607267525, 0.2848106336275805});
  CHECK(std::isnan(rs.normal(0, NAN, {1}).item().toDouble()));
}

TEST_CASE("randint of int64 matches NumPy", "[random]") {
  for (size_t i = 0; i < kSeeds.size(); ++i) {
    INFO("seed " << kSeeds[i]);
    RandomState rs(kSeeds[i]);
    NDArray a = rs.randint(0, 10, {8});
    CHECK(a.dtype() == DType::Int64);
    CHECK(intsOf(a) == kIntSmall[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(-5, 5, {8})) == kIntNeg[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(-1000, -3, {6})) == kIntAllNeg[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(0, 4294967296LL, {4})) == kIntSpan32[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(0, 4294967297LL, {4})) == kIntSpan33[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(-(1LL << 40), 1LL << 40, {4})) == kIntLarge[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(INT64_MIN, INT64_MAX, {4})) == kIntFull[i]);
  }
}

TEST_CASE("randint of the other integer dtypes matches NumPy", "[random]") {
  for (size_t i = 0; i < kSeeds.size(); ++i) {
    INFO("seed " << kSeeds[i]);
    RandomState rs(kSeeds[i]);
    NDArray a = rs.randint(-100, 100, {8}, DType::Int32);
    CHECK(a.dtype() == DType::Int32);
    CHECK(intsOf(a) == kInt32Small[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(INT32_MIN, INT32_MAX, {4}, DType::Int32)) ==
          kInt32Large[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(INT32_MIN, 1LL << 31, {4}, DType::Int32)) ==
          kInt32Full[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(-7, 100, {9}, DType::Int8)) == kInt8[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(0, 256, {9}, DType::UInt8)) == kUInt8[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(-300, 20000, {5}, DType::Int16)) == kInt16[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(5, 60000, {5}, DType::UInt16)) == kUInt16[i]);
    rs.seed(kSeeds[i]);
    CHECK(intsOf(rs.randint(3, 4000000000LL, {5}, DType::UInt32)) ==
          kUInt32[i]);
    rs.seed(kSeeds[i]);
    NDArray u = rs.randint(10, 1LL << 50, {4}, DType::UInt64);
    CHECK(u.dtype() == DType::UInt64);
    CHECK(intsOf(u) == kUInt64[i]);
    rs.seed(kSeeds[i]);
    NDArray b = rs.randint(0, 2, {40}, DType::Bool);
    CHECK(b.dtype() == DType::Bool);
    CHECK(intsOf(b) == kBool[i]);
  }
  // A span of one value draws nothing.
  RandomState rs(0);
  CHECK(intsOf(rs.randint(7, 8, {3}, DType::Int16)) ==
        std::vector<int64_t>{7, 7, 7});
  CHECK(intsOf(rs.randint(1, 2, {2}, DType::Bool)) ==
        std::vector<int64_t>{1, 1});
  CHECK(rs.randomSample() == kRand5[0][0]);
}

TEST_CASE("Interleaved calls share one stream as in NumPy", "[random]") {
  for (size_t i = 0; i < kSeeds.size(); ++i) {
    INFO("seed " << kSeeds[i]);
    RandomState rs(kSeeds[i]);
    std::vector<double> got = doublesOf(rs.randn({1}));
    got = concat(got, doublesOf(rs.rand({2})));
    got = concat(got, intsOf(rs.randint(0, 100, {3})));
    got = concat(got, doublesOf(rs.randn({2})));
    got = concat(got, doublesOf(rs.uniform(1, 2, {1})));
    got = concat(got, intsOf(rs.randint(-(1LL << 40), 1LL << 40, {2})));
    got = concat(got, doublesOf(rs.normal(-1, 0.5, {3})));
    got = concat(got, intsOf(rs.randint(0, 7, {3}, DType::Int8)));
    got = concat(got, doublesOf(rs.randn({1})));
    got = concat(got, intsOf(rs.permutation(5)));
    got = concat(got, doublesOf(rs.randn({1})));
    CHECK(got == kInterleaved[i]);
  }
}

TEST_CASE("Long streams cross MT19937's state reloads", "[random]") {
  const std::vector<int64_t> picks = {0, 311, 312, 313, 623, 624, 999};
  for (size_t i = 0; i < kSeeds.size(); ++i) {
    INFO("seed " << kSeeds[i]);
    RandomState rs(kSeeds[i]);
    NDArray a = rs.rand({1000});
    std::vector<double> got;
    for (int64_t p : picks)
      got.push_back(a.flatAt(p).toDouble());
    CHECK(got == kRandLong[i]);
  }
}

TEST_CASE("Reseeding, array seeds and saved states", "[random]") {
  RandomState rs(5);
  // Leave a normal cached: seeding must drop it.
  rs.randn({1});
  CHECK(rs.getState().hasGauss);
  rs.seed(0);
  CHECK_FALSE(rs.getState().hasGauss);
  CHECK(doublesOf(rs.randn({3})) ==
        std::vector<double>(kRandn341[0].begin(), kRandn341[0].begin() + 3));

  // A saved state carries the cached normal.
  RandomState::State st = rs.getState();
  CHECK(st.hasGauss);
  std::vector<double> first = doublesOf(rs.randn({3}));
  rs.seed(99);
  rs.setState(st);
  CHECK(doublesOf(rs.randn({3})) == first);
  RandomState::State bad = st;
  bad.pos = 625;
  CHECK_THROWS_AS(rs.setState(bad), ValueError);

  std::vector<double> got;
  rs.seedArray({1, 2, 3});
  got = concat(got, doublesOf(rs.rand({2})));
  rs.seedArray({4294967295LL});
  got = concat(got, doublesOf(rs.rand({2})));
  std::vector<int64_t> many;
  for (int64_t k = 0; k < 700; ++k)
    many.push_back(k);
  rs.seedArray(many);
  got = concat(got, doublesOf(rs.rand({2})));
  CHECK(got == kSeedArray[0]);
}

TEST_CASE("permutation and shuffle match NumPy", "[random]") {
  for (size_t i = 0; i < kSeeds.size(); ++i) {
    INFO("seed " << kSeeds[i]);
    RandomState rs(kSeeds[i]);
    CHECK(intsOf(rs.permutation(10)) == kPerm10[i]);

    rs.seed(kSeeds[i]);
    std::vector<Scalar> vals;
    for (int k = 0; k < 12; ++k)
      vals.push_back(Scalar::fromInt(k));
    NDArray m = NDArray::fromValues(DType::Int64, vals, {6, 2});
    rs.shuffle(m);
    CHECK(intsOf(m) == kShuffle2D[i]);

    // permutation of an array shuffles a copy the same way.
    rs.seed(kSeeds[i]);
    NDArray orig = NDArray::fromValues(DType::Int64, vals, {6, 2});
    NDArray p = rs.permutation(orig);
    CHECK(intsOf(p) == kShuffle2D[i]);
    CHECK(intsOf(orig)[1] == 1);

    // A strided view is shuffled in place in its parent.
    rs.seed(kSeeds[i]);
    std::vector<Scalar> halves;
    for (int k = 0; k < 7; ++k)
      halves.push_back(Scalar(k * 0.5));
    NDArray h = NDArray::fromValues(DType::Float64, halves, {7});
    NDArray view = h.slice(0, 6, -1, -2);
    rs.shuffle(view);
    CHECK(doublesOf(h) == kShuffleStrided[i]);
  }
  RandomState rs(0);
  CHECK(rs.permutation(0).size() == 0);
  CHECK(rs.permutation(-1).size() == 0);
  // Empty arrays are left alone without drawing.
  NDArray empty = NDArray::zeros(DType::Float64, {5, 0});
  rs.shuffle(empty);
  CHECK(rs.randomSample() == kRand5[0][0]);
  NDArray zeroD = NDArray::scalar(Scalar(1.0));
  CHECK_THROWS_AS(rs.shuffle(zeroD), TypeError);
  CHECK_THROWS_AS(rs.permutation(zeroD), IndexError);
}

TEST_CASE("Invalid seeds, bounds and parameters", "[random]") {
  CHECK_THROWS_AS(RandomState(-1), ValueError);
  CHECK_THROWS_AS(RandomState(4294967296LL), ValueError);
  CHECK_THROWS_WITH(RandomState(-1), "Seed must be between 0 and 2**32 - 1");
  RandomState rs(0);
  CHECK_THROWS_AS(rs.seed(INT64_MIN), ValueError);
  CHECK_THROWS_AS(rs.seed(INT64_MAX), ValueError);
  CHECK_THROWS_AS(rs.seedArray({}), ValueError);
  CHECK_THROWS_AS(rs.seedArray({1, -1}), ValueError);
  CHECK_THROWS_AS(rs.seedArray({1LL << 32}), ValueError);
  CHECK_NOTHROW(rs.seed(4294967295LL));

  CHECK_THROWS_WITH(rs.randint(3, 3, {2}), "low >= high");
  CHECK_THROWS_WITH(rs.randint(3, 2, {2}), "low >= high");
  CHECK_THROWS_WITH(rs.randint(INT64_MIN, INT64_MIN, {2}), "low >= high");
  CHECK_THROWS_AS(rs.randint(5, -5, {}), ValueError);
  CHECK_THROWS_WITH(rs.randint(-200, 0, {3}, DType::Int8),
                    "low is out of bounds for int8");
  CHECK_THROWS_WITH(rs.randint(0, 300, {3}, DType::Int8),
                    "high is out of bounds for int8");
  CHECK_THROWS_WITH(rs.randint(-1, 5, {3}, DType::UInt32),
                    "low is out of bounds for uint32");
  CHECK_THROWS_WITH(rs.randint(0, 3, {3}, DType::Bool),
                    "high is out of bounds for bool");
  CHECK_THROWS_WITH(rs.randint(0, 5, {3}, DType::Float64),
                    "Unsupported dtype dtype('float64') for randint");
  CHECK_THROWS_AS(rs.randint(0, 5, {3}, DType::Float64), TypeError);
  // NumPy returns an empty array before looking at the bounds.
  CHECK(rs.randint(5, 5, {0}).size() == 0);
  // The full int16 range is accepted.
  CHECK_NOTHROW(rs.randint(INT16_MIN, INT16_MAX + 1, {3}, DType::Int16));

  CHECK_THROWS_WITH(rs.normal(0, -1, {2}), "scale < 0");
  CHECK_THROWS_WITH(rs.normal(0, -0.0, {2}), "scale < 0");
  CHECK_THROWS_WITH(rs.uniform(0, INFINITY, {2}), "Range exceeds valid bounds");
  CHECK_THROWS_AS(rs.uniform(NAN, 1, {2}), ValueError);
  CHECK_THROWS_WITH(rs.rand({-1}), "negative dimensions are not allowed");
  CHECK_THROWS_AS(rs.randn({2, -3}), ValueError);
  CHECK_THROWS_AS(rs.randint(0, 5, {-1}), ValueError);
}

TEST_CASE("The global and the default-seeded generators", "[random]") {
  RandomState &g = globalRandomState();
  CHECK(&g == &globalRandomState());
  g.seed(42);
  CHECK(doublesOf(g.rand({5})) == kRand5[2]);

  // Seeded from std::random_device: values in range, two streams differ.
  RandomState a, b;
  std::vector<double> va = doublesOf(a.rand({8}));
  std::vector<double> vb = doublesOf(b.rand({8}));
  for (double v : va)
    CHECK((v >= 0.0 && v < 1.0));
  CHECK(va != vb);
}
