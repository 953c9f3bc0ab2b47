/* A program that uses the installed dcodec package: encodes a synthetic RGB image at quality 80 and losslessly,
 * decodes both, and checks the lossless one is exact. Usage: example MODEL.safetensors */
#include <dcodec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A stream cut short decodes to its complete stages, the same pixels as max_stages asks for; a flipped bit is
 * DCODEC_CORRUPT with no picture, or with salvage DCODEC_SALVAGED and the stages before the damage. */
static int check_damage_and_prefixes(const dcodec_model* model, const uint8_t* stream, size_t size, int all_stages) {
  int failures = 0;
  uint8_t *cut_pixels, *staged_pixels, *pixels;
  int w, h, c, exact, stages, cut_stages;
  if (dcodec_decode(model, stream, size - 1, NULL, &cut_pixels, &w, &h, &c, &exact, &cut_stages) != DCODEC_OK) {
    fprintf(stderr, "cut: %s\n", dcodec_last_error());
    return 1;
  }
  dcodec_decode_options o;
  dcodec_decode_options_init(&o);
  o.max_stages = cut_stages;
  if (dcodec_decode(model, stream, size, &o, &staged_pixels, &w, &h, &c, &exact, &stages) != DCODEC_OK) return 1;
  if (cut_stages != all_stages - 1 || stages != cut_stages || memcmp(cut_pixels, staged_pixels, (size_t)w * h * c))
    failures++;
  printf("cut by a byte: %d of %d stages, the same pixels as max_stages %d\n", cut_stages, all_stages, stages);
  uint8_t* damaged = malloc(size);
  memcpy(damaged, stream, size);
  damaged[size - 5] ^= 0x08;
  if (dcodec_decode(model, damaged, size, NULL, &pixels, &w, &h, &c, &exact, &stages) != DCODEC_CORRUPT) failures++;
  printf("one bit flipped: %s\n", dcodec_last_error());
  o.max_stages = -1;
  o.salvage = 1;
  if (dcodec_decode(model, damaged, size, &o, &pixels, &w, &h, &c, &exact, &stages) != DCODEC_SALVAGED) {
    failures++;
  } else {
    printf("salvaged: %d stages\n", stages);
    if (stages >= all_stages || exact) failures++;
    dcodec_free(pixels);
  }
  free(damaged);
  dcodec_free(cut_pixels);
  dcodec_free(staged_pixels);
  return failures;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL\n", argv[0]);
    return 2;
  }
  if (!dcodec_reuse_freed_memory()) fprintf(stderr, "note: malloc settings unchanged (not glibc)\n");
  enum { W = 32, H = 24 };
  uint8_t rgb[W * H * 3];
  for (int i = 0; i < W * H * 3; ++i) rgb[i] = (uint8_t)((i * 7) % 251);
  dcodec_model* model;
  /* A device that does not exist is refused by name; "cpu" is what dcodec_model_open uses. */
  if (dcodec_model_open_on(argv[1], "gpu", &model) != DCODEC_INVALID_ARGUMENT || model != NULL) {
    fprintf(stderr, "open on 'gpu' was not refused\n");
    return 1;
  }
  if (dcodec_model_open_on(argv[1], "cpu", &model) != DCODEC_OK) {
    fprintf(stderr, "open: %s\n", dcodec_last_error());
    return 1;
  }
  dcodec_encode_options eo;
  dcodec_encode_options_init(&eo);
  int failures = 0;
  for (int lossless = 0; lossless <= 1; ++lossless) {
    eo.quality = 80;
    eo.lossless = lossless;
    uint8_t* stream;
    size_t size;
    if (dcodec_encode(model, rgb, W, H, 3, &eo, &stream, &size) != DCODEC_OK) {
      fprintf(stderr, "encode: %s\n", dcodec_last_error());
      return 1;
    }
    uint8_t* pixels;
    int w, h, c, exact, stages;
    if (dcodec_decode(model, stream, size, NULL, &pixels, &w, &h, &c, &exact, &stages) != DCODEC_OK) {
      fprintf(stderr, "decode: %s\n", dcodec_last_error());
      return 1;
    }
    printf("%s: %zu bytes, %d stages, %dx%dx%d, exact %d\n", lossless ? "lossless" : "quality 80", size, stages, w,
           h, c, exact);
    if (w != W || h != H || c != 3) failures++;
    if (lossless && (!exact || memcmp(pixels, rgb, sizeof(rgb)) != 0)) failures++;
    dcodec_free(pixels);
    if (lossless) failures += check_damage_and_prefixes(model, stream, size, stages);
    dcodec_free(stream);
  }
  /* Metadata comes back with the pixels: a colour profile's bytes and a text item. */
  {
    uint8_t profile[300];
    for (int i = 0; i < (int)sizeof(profile); ++i) profile[i] = (uint8_t)(i * 13 + 1);
    const char* text = "made by example.c";
    dcodec_metadata* in = dcodec_metadata_new();
    dcodec_metadata* out = dcodec_metadata_new();
    if (dcodec_metadata_add(in, DCODEC_METADATA_ICC, "test profile", profile, sizeof(profile)) != DCODEC_OK ||
        dcodec_metadata_add(in, DCODEC_METADATA_TEXT, "Comment", (const uint8_t*)text, strlen(text)) != DCODEC_OK) {
      fprintf(stderr, "metadata: %s\n", dcodec_last_error());
      return 1;
    }
    if (dcodec_metadata_add(in, 99, "", NULL, 0) != DCODEC_INVALID_ARGUMENT) failures++;
    eo.lossless = 1;
    eo.metadata = in;
    uint8_t* stream;
    size_t size;
    if (dcodec_encode(model, rgb, W, H, 3, &eo, &stream, &size) != DCODEC_OK) {
      fprintf(stderr, "encode with metadata: %s\n", dcodec_last_error());
      return 1;
    }
    dcodec_decode_options o;
    dcodec_decode_options_init(&o);
    o.metadata = out;
    uint8_t* pixels;
    int w, h, c, exact, stages;
    if (dcodec_decode(model, stream, size, &o, &pixels, &w, &h, &c, &exact, &stages) != DCODEC_OK) {
      fprintf(stderr, "decode with metadata: %s\n", dcodec_last_error());
      return 1;
    }
    int kind;
    const char* key;
    const uint8_t* value;
    size_t value_size;
    if (dcodec_metadata_count(out) != 2 || !exact) failures++;
    if (dcodec_metadata_get(out, 0, &kind, &key, &value, &value_size) != DCODEC_OK || kind != DCODEC_METADATA_ICC ||
        strcmp(key, "test profile") != 0 || value_size != sizeof(profile) || memcmp(value, profile, value_size))
      failures++;
    if (dcodec_metadata_get(out, 1, &kind, &key, &value, &value_size) != DCODEC_OK || kind != DCODEC_METADATA_TEXT ||
        value_size != strlen(text) || memcmp(value, text, value_size))
      failures++;
    if (dcodec_metadata_get(out, 2, &kind, &key, &value, &value_size) != DCODEC_INVALID_ARGUMENT) failures++;
    printf("with metadata: %zu bytes, %zu items back\n", size, dcodec_metadata_count(out));
    dcodec_free(pixels);
    dcodec_free(stream);
    dcodec_metadata_free(in);
    dcodec_metadata_free(out);
    eo.metadata = NULL;
  }
  /* 16-bit samples come back whole from dcodec_decode16; dcodec_decode gives their high bytes, not exact. */
  {
    static uint16_t wide[W * H * 3];
    for (int i = 0; i < W * H * 3; ++i) wide[i] = (uint16_t)(rgb[i] * 256 + (i * 37) % 256);
    eo.lossless = 1;
    uint8_t* stream;
    size_t size;
    if (dcodec_encode16(model, wide, W, H, 3, &eo, &stream, &size) != DCODEC_OK) {
      fprintf(stderr, "encode16: %s\n", dcodec_last_error());
      return 1;
    }
    uint16_t* back;
    uint8_t* high;
    int w, h, c, bits, exact, stages;
    if (dcodec_decode16(model, stream, size, NULL, &back, &w, &h, &c, &bits, &exact, &stages) != DCODEC_OK) {
      fprintf(stderr, "decode16: %s\n", dcodec_last_error());
      return 1;
    }
    if (bits != 16 || !exact || w != W || h != H || c != 3 || memcmp(back, wide, sizeof(wide)) != 0) failures++;
    if (dcodec_decode(model, stream, size, NULL, &high, &w, &h, &c, &exact, &stages) != DCODEC_OK) return 1;
    if (exact || memcmp(high, rgb, sizeof(rgb)) != 0) failures++;
    printf("16-bit lossless: %zu bytes, %d-bit samples back\n", size, bits);
    dcodec_free(back);
    dcodec_free(high);
    dcodec_free(stream);
  }
  /* A damaged stream is an error with a message, not a picture. */
  uint8_t junk[16] = {0xd3, 1, 2, 3};
  uint8_t* pixels;
  int w, h, c;
  if (dcodec_decode(model, junk, sizeof(junk), NULL, &pixels, &w, &h, &c, NULL, NULL) == DCODEC_OK) failures++;
  printf("junk: %s\n", dcodec_last_error());
  printf("dcodec %s, format %d\n", dcodec_version(), dcodec_format_version());
  dcodec_model_close(model);
  return failures ? 1 : 0;
}
