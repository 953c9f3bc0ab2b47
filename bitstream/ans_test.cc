#include "bitstream/ans.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace dcodec::bitstream {
namespace {

struct Interval {
  uint32_t cum, freq;
};

// A random interval of [0, 2^24) whose size is spread over all magnitudes (1 .. 2^24).
Interval RandomInterval(std::mt19937_64& rng) {
  const int log_freq = static_cast<int>(rng() % (kPrecisionBits + 1));
  uint32_t freq = static_cast<uint32_t>(uint64_t{1} << log_freq);
  freq += static_cast<uint32_t>(rng() % freq);
  if (freq > kProbabilityTotal) freq = kProbabilityTotal;
  const uint32_t cum = static_cast<uint32_t>(rng() % (kProbabilityTotal - freq + 1));
  return {cum, freq};
}

Status DecodeAll(const std::vector<uint8_t>& bytes, const std::vector<Interval>& symbols) {
  AnsDecoder dec(bytes.data(), bytes.size());
  for (const Interval& s : symbols) {
    const uint32_t q = dec.Peek();
    if (q < s.cum || q - s.cum >= s.freq) return Internal("quantile outside the encoded interval");
    DCODEC_RETURN_IF_ERROR(dec.Advance(s.cum, s.freq));
  }
  return dec.Finish();
}

TEST(AnsTest, EmptyStreamIsJustTheState) {
  AnsEncoder enc;
  const std::vector<uint8_t> bytes = enc.Finish();
  ASSERT_EQ(bytes.size(), 8u);
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0, 0, 0, 0x80, 0, 0, 0, 0}));
  EXPECT_TRUE(DecodeAll(bytes, {}).ok());
}

TEST(AnsTest, OneSymbol) {
  AnsEncoder enc;
  enc.Put(12345, 678);
  EXPECT_EQ(enc.num_symbols(), 1u);
  const std::vector<uint8_t> bytes = enc.Finish();
  EXPECT_EQ(enc.num_symbols(), 0u);
  EXPECT_TRUE(DecodeAll(bytes, {{12345, 678}}).ok());
  // The same stream read as zero symbols fails the final-state check.
  EXPECT_EQ(DecodeAll(bytes, {}).code(), StatusCode::kCorrupt);
}

TEST(AnsTest, RoundtripWithSentinels) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<Interval> symbols = {{0, 1}, {kProbabilityTotal - 1, 1}};  // sentinels before
    const int n = static_cast<int>(rng() % 5000);
    for (int i = 0; i < n; ++i) symbols.push_back(RandomInterval(rng));
    symbols.push_back({777, 1});  // sentinels after
    symbols.push_back({0, kProbabilityTotal});
    symbols.push_back({100, 3});
    AnsEncoder enc;
    for (const Interval& s : symbols) enc.Put(s.cum, s.freq);
    const std::vector<uint8_t> bytes = enc.Finish();
    ASSERT_TRUE(DecodeAll(bytes, symbols).ok()) << "trial " << trial;
  }
}

// The digest ("read me first", 8): the encoder's and the decoder's agree symbol by symbol, and a sequence with
// one interval changed anywhere (even to one that holds the same quantile) ends with another digest.
TEST(AnsTest, BothSidesDigestEverySymbol) {
  std::mt19937_64 rng(3);
  std::vector<Interval> symbols;
  for (int i = 0; i < 300; ++i) symbols.push_back(RandomInterval(rng));
  AnsEncoder enc;
  std::vector<uint64_t> encoder_digests = {enc.digest()};
  for (const Interval& s : symbols) {
    enc.Put(s.cum, s.freq);
    encoder_digests.push_back(enc.digest());
  }
  const uint64_t whole = enc.digest();
  const std::vector<uint8_t> bytes = enc.Finish();
  EXPECT_EQ(enc.digest(), kDigestStart);  // Finish resets the encoder
  AnsDecoder dec(bytes.data(), bytes.size());
  EXPECT_EQ(dec.digest(), encoder_digests[0]);
  for (size_t i = 0; i < symbols.size(); ++i) {
    ASSERT_TRUE(dec.Advance(symbols[i].cum, symbols[i].freq).ok());
    ASSERT_EQ(dec.digest(), encoder_digests[i + 1]) << i;
  }
  EXPECT_TRUE(dec.Finish().ok());
  for (size_t i = 0; i < symbols.size(); ++i) {
    for (const Interval& other : {Interval{symbols[i].cum, symbols[i].freq + (symbols[i].cum > 0 ? 0u : 1u)},
                                  Interval{symbols[i].cum > 0 ? symbols[i].cum - 1 : 1, symbols[i].freq}}) {
      if (other.cum == symbols[i].cum && other.freq == symbols[i].freq) continue;
      uint64_t d = kDigestStart;
      for (size_t k = 0; k < symbols.size(); ++k) {
        const Interval& s = k == i ? other : symbols[k];
        d = DigestStep(d, s.cum, s.freq);
      }
      ASSERT_NE(d, whole) << i;
    }
  }
}

// Truncate drops symbols and the digest with them; Append copies another encoder's symbols [begin, end) in order.
TEST(AnsTest, TruncateAndAppendKeepTheDigestOfWhatIsBuffered) {
  std::mt19937_64 rng(4);
  std::vector<Interval> symbols;
  for (int i = 0; i < 200; ++i) symbols.push_back(RandomInterval(rng));
  AnsEncoder all;
  for (const Interval& s : symbols) all.Put(s.cum, s.freq);
  (void)all.digest();  // digested up to 200
  AnsEncoder cut = all;
  cut.Truncate(120);
  ASSERT_EQ(cut.num_symbols(), 120u);
  uint64_t first = kDigestStart;
  for (size_t k = 0; k < 120; ++k) first = DigestStep(first, symbols[k].cum, symbols[k].freq);
  EXPECT_EQ(cut.digest(), first);
  cut.Truncate(500);  // no change
  EXPECT_EQ(cut.num_symbols(), 120u);
  // 0..119, then 150..199 from the other encoder, then a sentinel.
  cut.Append(all, 150, 200);
  cut.Put(100, 3);
  std::vector<Interval> expect(symbols.begin(), symbols.begin() + 120);
  expect.insert(expect.end(), symbols.begin() + 150, symbols.end());
  expect.push_back({100, 3});
  uint64_t d = kDigestStart;
  for (const Interval& s : expect) d = DigestStep(d, s.cum, s.freq);
  EXPECT_EQ(cut.digest(), d);
  const std::vector<uint8_t> bytes = cut.Finish();
  EXPECT_TRUE(DecodeAll(bytes, expect).ok());
}

TEST(AnsTest, ExtremeProbabilities) {
  std::vector<Interval> rare(2000, Interval{kProbabilityTotal - 1, 1});   // 24 bits each
  std::vector<Interval> certain(100000, Interval{0, kProbabilityTotal});  // 0 bits each
  for (const auto* symbols : {&rare, &certain}) {
    AnsEncoder enc;
    for (const Interval& s : *symbols) enc.Put(s.cum, s.freq);
    const std::vector<uint8_t> bytes = enc.Finish();
    EXPECT_TRUE(DecodeAll(bytes, *symbols).ok());
    if (symbols == &certain) {
      EXPECT_EQ(bytes.size(), 8u);
    } else {
      EXPECT_LE(bytes.size(), 2000u * 3 + 8 + 4);
    }
  }
}

TEST(AnsTest, WrongModelOrTruncationIsDetected) {
  std::mt19937_64 rng(2);
  std::vector<Interval> symbols;
  for (int i = 0; i < 1000; ++i) symbols.push_back(RandomInterval(rng));
  AnsEncoder enc;
  for (const Interval& s : symbols) enc.Put(s.cum, s.freq);
  std::vector<uint8_t> bytes = enc.Finish();
  ASSERT_TRUE(DecodeAll(bytes, symbols).ok());

  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 4);
  EXPECT_FALSE(DecodeAll(cut, symbols).ok());
  std::vector<uint8_t> longer = bytes;
  longer.insert(longer.end(), {1, 2, 3, 4});
  EXPECT_EQ(DecodeAll(longer, symbols).code(), StatusCode::kCorrupt);
  symbols.pop_back();
  EXPECT_FALSE(DecodeAll(bytes, symbols).ok());
}

TEST(AnsTest, MalformedSizesAreErrors) {
  const std::vector<uint8_t> zeros(16, 0);
  for (size_t size : {0, 1, 4, 7, 9, 15}) {
    AnsDecoder dec(zeros.data(), size);
    EXPECT_FALSE(dec.Advance(0, 1).ok()) << size;
    EXPECT_FALSE(dec.Finish().ok()) << size;
  }
  AnsDecoder null_dec(nullptr, 0);
  EXPECT_FALSE(null_dec.Finish().ok());
  // A state below 2^31 (all zeros) is out of range.
  AnsDecoder dec(zeros.data(), 8);
  EXPECT_EQ(dec.Finish().code(), StatusCode::kCorrupt);
}

TEST(AnsTest, AdvanceOutsideTheQuantileIsAnInternalError) {
  AnsEncoder enc;
  enc.Put(1000, 10);
  const std::vector<uint8_t> bytes = enc.Finish();
  AnsDecoder dec(bytes.data(), bytes.size());
  EXPECT_EQ(dec.Advance(0, 10).code(), StatusCode::kInternal);
  EXPECT_TRUE(dec.Advance(1000, 10).ok());
  EXPECT_TRUE(dec.Finish().ok());
}

TEST(AnsTest, GarbageNeverCrashes) {
  std::mt19937_64 rng(3);
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> bytes(rng() % 80);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    AnsDecoder dec(bytes.data(), bytes.size());
    Status status;
    for (int i = 0; i < 200 && status.ok(); ++i) {
      // A model-like interval around the quantile: [q - q % w, +w) with w from the random stream.
      const uint32_t q = dec.Peek();
      ASSERT_LT(q, kProbabilityTotal);
      const uint32_t width = 1u << (rng() % 25);
      const uint32_t cum = q - q % width;
      status = dec.Advance(cum, std::min(width, kProbabilityTotal - cum));
    }
    if (status.ok() && dec.Finish().ok()) ++accepted;
  }
  EXPECT_LT(accepted, 5);  // the final-state check rejects garbage with probability ~ 1 - 2^-31
}

// Buffers of more than one chunk (2^18 symbols): copies share the full chunks and go on independently, Truncate
// cuts inside a shared chunk without touching the other copy, and every buffer seals to what a fresh encoder of the
// same symbols seals to.
TEST(AnsTest, CopiesOfLongBuffersGoOnIndependently) {
  std::mt19937_64 rng(13);
  const size_t n = 700000;  // two full chunks and a part
  std::vector<Interval> symbols(n);
  AnsEncoder a;
  for (auto& s : symbols) {
    s = RandomInterval(rng);
    a.Put(s.cum, s.freq);
  }
  AnsEncoder b = a, c = a;
  b.Put(7, 9);         // b goes on
  c.Truncate(300000);  // c cuts inside the second chunk...
  c.Put(1000, 2000);   // ...and goes on differently
  ASSERT_EQ(a.num_symbols(), n);
  ASSERT_EQ(b.num_symbols(), n + 1);
  ASSERT_EQ(c.num_symbols(), 300001u);
  auto fresh = [&](size_t count, std::vector<Interval> tail) {
    AnsEncoder e;
    for (size_t i = 0; i < count; ++i) e.Put(symbols[i].cum, symbols[i].freq);
    for (const Interval& s : tail) e.Put(s.cum, s.freq);
    return e;
  };
  AnsEncoder fa = fresh(n, {}), fb = fresh(n, {{7, 9}}), fc = fresh(300000, {{1000, 2000}});
  EXPECT_EQ(a.digest(), fa.digest());
  EXPECT_EQ(b.digest(), fb.digest());
  EXPECT_EQ(c.digest(), fc.digest());
  const std::vector<size_t> marks = {1, 262144, 262145, 300001, n};
  const AnsEncoder::Sealed sc = c.Seal(5, marks);
  EXPECT_EQ(sc.bytes, fc.Seal(5, marks).bytes);
  EXPECT_EQ(b.Finish(), fb.Finish());
  const std::vector<uint8_t> bytes = a.Finish();
  EXPECT_EQ(bytes, fa.Finish());
  EXPECT_TRUE(DecodeAll(bytes, symbols).ok());
}

// SealSpans: the stream of the spans' concatenation, byte for byte what Seal makes of a copy, marks included;
// the pieces' buffers are left as they were (their digests unchanged).
TEST(AnsTest, SealSpansIsSealOfTheConcatenation) {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 200; ++trial) {
    AnsEncoder a, b;
    const size_t na = rng() % 2000, nb = 1 + rng() % 40;
    for (size_t i = 0; i < na; ++i) {
      const Interval s = RandomInterval(rng);
      a.Put(s.cum, s.freq);
    }
    for (size_t i = 0; i < nb; ++i) {
      const Interval s = RandomInterval(rng);
      b.Put(s.cum, s.freq);
    }
    const uint64_t digest_a = a.digest(), digest_b = b.digest();
    // a[0, c1) b[0, 1) a[c2, c3) b[1, nb): pieces in any order, an empty one included.
    const size_t c1 = na ? rng() % (na + 1) : 0, c2 = c1 + (na > c1 ? rng() % (na - c1 + 1) : 0);
    const size_t c3 = c2 + (na > c2 ? rng() % (na - c2 + 1) : 0);
    const std::vector<AnsEncoder::Span> spans = {{&a, 0, c1}, {&b, 0, 1}, {&a, c2, c3}, {&b, 1, nb}};
    AnsEncoder copy;
    for (const auto& span : spans) copy.Append(*span.source, span.begin, span.end);
    const size_t total = copy.num_symbols();
    ASSERT_EQ(copy.digest(), b.DigestOf(a.DigestOf(b.DigestOf(a.DigestOf(kDigestStart, 0, c1), 0, 1), c2, c3), 1, nb));
    const std::vector<size_t> marks = {total, 0, total / 2, 1, c1 + 1, total + 5};
    const uint32_t check = static_cast<uint32_t>(rng());
    const AnsEncoder::Sealed spanned = AnsEncoder::SealSpans(spans, check, marks);
    const AnsEncoder::Sealed sealed = copy.Seal(check, marks);
    ASSERT_EQ(spanned.bytes, sealed.bytes) << trial;
    EXPECT_EQ(spanned.state_bytes, sealed.state_bytes);
    EXPECT_EQ(spanned.bytes_needed, sealed.bytes_needed) << trial;
    EXPECT_EQ(a.num_symbols(), na);
    EXPECT_EQ(a.digest(), digest_a);
    EXPECT_EQ(b.digest(), digest_b);
  }
}

// Seal: minimal state bytes, the 31-bit check, and prefixes that decode their first m symbols.
TEST(AnsTest, SealedStreamsCheckThemselvesAndDecodeFromPrefixes) {
  std::mt19937_64 rng(11);
  int state_sizes[9] = {};
  for (int trial = 0; trial < 300; ++trial) {
    const size_t count = rng() % 3000;
    std::vector<Interval> symbols(count);
    AnsEncoder enc;
    for (auto& s : symbols) {
      s = RandomInterval(rng);
      enc.Put(s.cum, s.freq);
    }
    const uint32_t check = static_cast<uint32_t>(rng()) & 0x7fffffffu;
    const std::vector<size_t> marks = {0, count / 3, count / 2, count};
    const AnsEncoder::Sealed sealed = enc.Seal(check, marks);
    ASSERT_GE(sealed.state_bytes, 4);
    ASSERT_LE(sealed.state_bytes, 8);
    ++state_sizes[sealed.state_bytes];
    ASSERT_EQ(sealed.bytes_needed.size(), marks.size());
    EXPECT_EQ(sealed.bytes_needed.back(), sealed.bytes.size());
    // The whole stream: every symbol, the right final state, nothing left over.
    {
      AnsDecoder dec(sealed.bytes.data(), sealed.bytes.size(), sealed.state_bytes);
      for (const Interval& s : symbols) ASSERT_TRUE(dec.Advance(s.cum, s.freq).ok());
      EXPECT_TRUE(dec.Finish(check).ok());
      EXPECT_EQ(dec.needed_bytes(), sealed.bytes.size());
      EXPECT_EQ(dec.Finish(check ^ 1).code(), StatusCode::kCorrupt);  // another check value is refused
    }
    // Each mark's prefix decodes exactly its symbols; one byte less does not.
    for (size_t k = 0; k < marks.size(); ++k) {
      const size_t m = marks[k], need = sealed.bytes_needed[k];
      const std::vector<uint8_t> prefix(sealed.bytes.begin(), sealed.bytes.begin() + need);
      AnsDecoder dec(prefix.data(), prefix.size() - (prefix.size() - sealed.state_bytes) % 4, sealed.state_bytes);
      for (size_t i = 0; i < m; ++i) {
        const uint32_t q = dec.Peek();
        ASSERT_TRUE(q >= symbols[i].cum && q - symbols[i].cum < symbols[i].freq) << trial << " " << i;
        ASSERT_TRUE(dec.Advance(symbols[i].cum, symbols[i].freq).ok()) << trial << " " << i;
      }
      EXPECT_EQ(dec.needed_bytes(), need);
      if (m < count) {
        // The next symbol needs more: it is reported as truncation, never as a wrong symbol.
        const size_t shorter = need >= sealed.state_bytes + 4 ? need - 4 : need;
        if (shorter < need && m > 0) {
          AnsDecoder cut(prefix.data(), shorter, sealed.state_bytes);
          Status st;
          for (size_t i = 0; i < m && st.ok(); ++i) st = cut.Advance(symbols[i].cum, symbols[i].freq);
          EXPECT_EQ(st.code(), StatusCode::kTruncated) << trial << " mark " << k;
        }
      }
    }
  }
  // The state takes 4..8 bytes depending on where it ends; 8 is not always needed.
  EXPECT_GT(state_sizes[5] + state_sizes[6] + state_sizes[7], 0);
}

TEST(AnsTest, SealedOverheadIsAFewBitsOverTheIdeal) {
  std::mt19937_64 rng(3);
  double overhead = 0;
  const int trials = 200;
  for (int trial = 0; trial < trials; ++trial) {
    AnsEncoder enc;
    double ideal = 0;
    for (int i = 0; i < 500; ++i) {
      const Interval s = RandomInterval(rng);
      enc.Put(s.cum, s.freq);
      ideal += kPrecisionBits - std::log2(static_cast<double>(s.freq));
    }
    const auto sealed = enc.Seal(static_cast<uint32_t>(rng()));
    // The check rides in the initial state, whose 31 bits are the flush's price: bytes ~ (ideal + 31) / 8 + < 1.
    overhead += 8.0 * sealed.bytes.size() - ideal;
  }
  overhead /= trials;
  EXPECT_GT(overhead, 31.0);
  EXPECT_LT(overhead, 31.0 + 8.0);
}

}  // namespace
}  // namespace dcodec::bitstream
