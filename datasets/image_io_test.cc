#include "datasets/image_io.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "base/file_io.h"
#include "datasets/jpeg_writer_for_test.h"
#include "datasets/png.h"
#include "datasets/pnm.h"

namespace dcodec {
namespace {

class ImageIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dcodec_image_io_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void Write(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::ofstream(Path(name), std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  std::string dir_;
};

Image Pattern(int w, int h, int channels) {
  Image image(w, h, channels);
  for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = static_cast<uint8_t>(i * 29 + 3);
  return image;
}

TEST_F(ImageIoTest, SniffsTheBytesNotTheName) {
  const Image image = Pattern(9, 4, 3);
  Write("png_named.jpg", *EncodePng(image));
  Write("pnm_named.png", *EncodePnm(image, PnmType::kPpm));
  Write("jpeg_named.ppm", EncodeJpegForTest(image));
  auto a = ReadImage(Path("png_named.jpg"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, image);
  auto b = ReadImage(Path("pnm_named.png"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, image);
  auto c = ReadImage(Path("jpeg_named.ppm"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->width, 9);
  EXPECT_EQ(c->channels, 3);

  const auto png = *EncodePng(image);
  EXPECT_EQ(SniffImageFormat(png.data(), png.size()), ImageFormat::kPng);
  const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a'};
  EXPECT_EQ(SniffImageFormat(gif, sizeof(gif)), std::nullopt);
}

TEST_F(ImageIoTest, UnknownBytesAreRefusedNamingTheFile) {
  Write("a.png", {'G', 'I', 'F', '8', '9', 'a', 0, 0});
  auto a = ReadImage(Path("a.png"));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(a.status().message(), Path("a.png") + ": not a PNG, JPEG, PNM or WebP image");
  Write("empty.jpg", {});
  auto e = ReadImage(Path("empty.jpg"));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), Path("empty.jpg") + ": empty file");
  EXPECT_EQ(ReadImage(Path("missing.png")).status().code(), StatusCode::kIoError);
}

TEST_F(ImageIoTest, OptionsReachEveryReader) {
  // The 16-bit and alpha rules hold for PNM as for PNG.
  Image rgba = Pattern(2, 2, 4);
  auto pam = *EncodePnm(rgba, PnmType::kPam);
  EXPECT_EQ(DecodeImage(pam.data(), pam.size(), "a.pam").status().code(), StatusCode::kUnsupported);
  ImageReadOptions keep;
  keep.keep_alpha = true;
  auto kept = DecodeImage(pam.data(), pam.size(), "a.pam", keep);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, rgba);
}

TEST(OutputFormatTest, ChosenByExtension) {
  EXPECT_EQ(*OutputFormatForPath("a.png"), OutputFormat::kPng);
  EXPECT_EQ(*OutputFormatForPath("dir/a.PPM"), OutputFormat::kPpm);
  EXPECT_EQ(*OutputFormatForPath("a.b.pgm"), OutputFormat::kPgm);
  EXPECT_EQ(*OutputFormatForPath("/x/y/a.pam"), OutputFormat::kPam);
  auto jpg = OutputFormatForPath("out.jpg");
  ASSERT_FALSE(jpg.ok());
  EXPECT_EQ(jpg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(jpg.status().message().find("'.jpg'"), std::string::npos) << jpg.status().ToString();
  EXPECT_FALSE(OutputFormatForPath("out").ok());
  EXPECT_FALSE(OutputFormatForPath("dir.d/out").ok());
  EXPECT_FALSE(OutputFormatForPath(".png").ok());  // a hidden file with no extension
  EXPECT_EQ(*ParseOutputFormat("pam"), OutputFormat::kPam);
  EXPECT_EQ(ParseOutputFormat("PNG").status().code(), StatusCode::kInvalidArgument);
  for (OutputFormat f : {OutputFormat::kPng, OutputFormat::kPpm, OutputFormat::kPgm, OutputFormat::kPam}) {
    EXPECT_EQ(*ParseOutputFormat(OutputFormatName(f)), f);
  }
}

TEST_F(ImageIoTest, WritesRoundTripExactly) {
  struct Case {
    const char* name;
    OutputFormat format;
    int channels;
  };
  for (const Case& c : {Case{"a.png", OutputFormat::kPng, 4}, Case{"b.ppm", OutputFormat::kPpm, 3},
                        Case{"c.pgm", OutputFormat::kPgm, 1}, Case{"d.pam", OutputFormat::kPam, 2},
                        Case{"e.pam", OutputFormat::kPam, 4}}) {
    SCOPED_TRACE(c.name);
    const Image image = Pattern(7, 5, c.channels);
    ASSERT_TRUE(WriteImage(Path(c.name), image, c.format, /*overwrite=*/false).ok());
    ImageReadOptions keep;
    keep.keep_alpha = true;
    auto back = ReadImage(Path(c.name), keep);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, image);
  }
}

TEST_F(ImageIoTest, NothingIsWrittenWhenTheImageDoesNotFit) {
  Status s = WriteImage(Path("a.ppm"), Pattern(3, 3, 4), OutputFormat::kPpm, /*overwrite=*/false);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(Path("a.ppm")), std::string::npos) << s.ToString();
  EXPECT_FALSE(FileExists(Path("a.ppm")));
  // Grey as PPM widens to three equal channels (nothing lost); RGB as PGM would lose colour.
  ASSERT_TRUE(WriteImage(Path("g.ppm"), Pattern(3, 3, 1), OutputFormat::kPpm, false).ok());
  auto widened = ReadImage(Path("g.ppm"));
  ASSERT_TRUE(widened.ok());
  EXPECT_EQ(*widened, ToRgb(Pattern(3, 3, 1)));
  EXPECT_EQ(WriteImage(Path("c.pgm"), Pattern(3, 3, 3), OutputFormat::kPgm, false).code(),
            StatusCode::kInvalidArgument);
  // An existing file is kept unless overwrite.
  ASSERT_TRUE(WriteImage(Path("b.pgm"), Pattern(3, 3, 1), OutputFormat::kPgm, false).ok());
  EXPECT_EQ(WriteImage(Path("b.pgm"), Pattern(4, 4, 1), OutputFormat::kPgm, false).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadImage(Path("b.pgm"))->width, 3);
  EXPECT_EQ(WriteImage(Path("b.pgm"), Pattern(4, 4, 3), OutputFormat::kPgm, true).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadImage(Path("b.pgm"))->width, 3);
  ASSERT_TRUE(WriteImage(Path("b.pgm"), Pattern(4, 4, 1), OutputFormat::kPgm, true).ok());
  EXPECT_EQ(ReadImage(Path("b.pgm"))->width, 4);
}

}  // namespace
}  // namespace dcodec
