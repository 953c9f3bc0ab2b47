#include "eval/strip.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

namespace dcodec::eval {
namespace {

constexpr int kGap = 8, kLabel = 22, kSmall = 128, kLarge = 320;

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using Context = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

// The picture as an opaque cairo surface (alpha composited on white).
Surface ToSurface(const Image& image) {
  Surface s(cairo_image_surface_create(CAIRO_FORMAT_RGB24, image.width, image.height), cairo_surface_destroy);
  cairo_surface_flush(s.get());
  unsigned char* data = cairo_image_surface_get_data(s.get());
  const int stride = cairo_image_surface_get_stride(s.get());
  const bool rgb = image.channels >= 3, alpha = image.channels == 2 || image.channels == 4;
  for (int y = 0; y < image.height; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + static_cast<size_t>(y) * stride);
    for (int x = 0; x < image.width; ++x) {
      const int a = alpha ? image.at(x, y, image.channels - 1) : 255;
      uint32_t c[3];
      for (int k = 0; k < 3; ++k) {
        const int v = image.at(x, y, rgb ? k : 0);
        c[k] = static_cast<uint32_t>((v * a + 255 * (255 - a) + 127) / 255);
      }
      row[x] = (c[0] << 16) | (c[1] << 8) | c[2];
    }
  }
  cairo_surface_mark_dirty(s.get());
  return s;
}

}  // namespace

StatusOr<Image> DrawStrip(const std::vector<StripPanel>& panels) {
  if (panels.empty()) return InvalidArgument("strip: no pictures");
  const int w = panels[0].image.width, h = panels[0].image.height;
  for (const auto& p : panels) {
    if (p.image.width != w || p.image.height != h || w < 1 || h < 1) {
      return InvalidArgument("strip: the pictures differ in size");
    }
  }
  const double scale = h < kSmall ? std::ceil(static_cast<double>(kSmall) / h) : h > kLarge ? double{kLarge} / h : 1.0;
  const int pw = std::max(1, static_cast<int>(std::lround(w * scale)));
  const int ph = std::max(1, static_cast<int>(std::lround(h * scale)));
  const int n = static_cast<int>(panels.size());
  const int width = n * pw + (n + 1) * kGap, height = ph + 2 * kGap + kLabel;
  Surface out(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), cairo_surface_destroy);
  Context cr(cairo_create(out.get()), cairo_destroy);
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  cairo_select_font_face(cr.get(), "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr.get(), 13);
  for (int i = 0; i < n; ++i) {
    Surface picture = ToSurface(panels[i].image);
    const double x0 = kGap + i * (pw + kGap);
    cairo_save(cr.get());
    cairo_translate(cr.get(), x0, kGap);
    cairo_scale(cr.get(), static_cast<double>(pw) / w, static_cast<double>(ph) / h);
    cairo_set_source_surface(cr.get(), picture.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr.get()), scale > 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_paint(cr.get());
    cairo_restore(cr.get());
    cairo_text_extents_t ext;
    cairo_text_extents(cr.get(), panels[i].label.c_str(), &ext);
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    cairo_move_to(cr.get(), x0 + std::max(0.0, (pw - ext.x_advance) / 2), kGap + ph + kLabel - 5);
    cairo_show_text(cr.get(), panels[i].label.c_str());
  }
  cairo_surface_flush(out.get());
  if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS) {
    return Internal(std::string("strip: cairo: ") + cairo_status_to_string(cairo_status(cr.get())));
  }
  Image image(width, height, 3);
  const unsigned char* data = cairo_image_surface_get_data(out.get());
  const int stride = cairo_image_surface_get_stride(out.get());
  for (int y = 0; y < height; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + static_cast<size_t>(y) * stride);
    for (int x = 0; x < width; ++x) {
      image.at(x, y, 0) = static_cast<uint8_t>(row[x] >> 16);
      image.at(x, y, 1) = static_cast<uint8_t>(row[x] >> 8);
      image.at(x, y, 2) = static_cast<uint8_t>(row[x]);
    }
  }
  return image;
}

}  // namespace dcodec::eval
