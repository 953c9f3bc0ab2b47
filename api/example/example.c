/* A program that uses the installed dcodec package: encodes a synthetic RGB image at quality 80 and losslessly,
 * decodes both, and checks the lossless one is exact. Usage: example MODEL.safetensors */
#include <dcodec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  if (dcodec_model_open(argv[1], &model) != DCODEC_OK) {
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
