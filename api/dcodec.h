/* dcodec's C API: open a model, encode 8-bit images to .dcd streams in memory and decode them back.
 *
 * The same codec as the `dcodec` command line (docs/format.md): quality, exact rates, lossless, prefixes. Every
 * function returns a dcodec_status; on failure dcodec_last_error() holds a message (per thread) naming the problem.
 * Buffers the library returns are freed with dcodec_free(). A model handle may be shared by threads for decoding
 * and encoding (calls do not modify it).
 *
 *   dcodec_model* m; dcodec_model_open("photo.safetensors", &m);
 *   dcodec_encode_options o; dcodec_encode_options_init(&o); o.quality = 80;
 *   uint8_t* stream; size_t size; dcodec_encode(m, rgb, width, height, 3, &o, &stream, &size);
 */
#ifndef DCODEC_API_DCODEC_H_
#define DCODEC_API_DCODEC_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The same classes as the command line's exit codes (cli/exit_codes.h). */
typedef enum {
  DCODEC_OK = 0,
  DCODEC_SALVAGED = 1,         /* with dcodec_decode_options.salvage: the stream is damaged (as DCODEC_CORRUPT), and
                                  the outputs hold the stages before the damage; free *pixels as on success */
  DCODEC_INVALID_ARGUMENT = 2, /* a bad option or buffer */
  DCODEC_IO_ERROR = 3,         /* the model file cannot be read */
  DCODEC_INVALID_INPUT = 4,    /* not a stream, a cut header, impossible values */
  DCODEC_CORRUPT = 5,          /* damaged: a stage fails its check, or a whole stream (its header gives its length)
                                  runs out of data inside a stage; or a decoder that computes the model otherwise.
                                  A stream cut short is not damaged: it decodes (DCODEC_OK) to its complete stages */
  DCODEC_MODEL_MISMATCH = 6,   /* the stream was made with another model */
  DCODEC_UNSUPPORTED = 8,      /* another format version, a too large image */
  DCODEC_INTERNAL = 70
} dcodec_status;

typedef struct dcodec_model dcodec_model;

const char* dcodec_version(void);    /* "0.1.0" */
int dcodec_format_version(void);     /* the newest stream format this library writes and reads (13) */
const char* dcodec_last_error(void); /* the last failure's message on this thread ("" if none) */
void dcodec_free(void* buffer);
/* Optional, once at the start of main() before any thread starts: keep freed memory in the process for reuse
 * (glibc malloc settings, base/allocator.h). The network frees and reallocates tens of MiB per tile; without this a
 * 768x512 encode spends about half its time in page faults. Returns 1 if the settings took effect, else 0. */
int dcodec_reuse_freed_memory(void);

dcodec_status dcodec_model_open(const char* path, dcodec_model** model);
/* The same, with the network on `device`: "cpu", or "cuda" / "cuda:N" where the library's LibTorch has CUDA
 * (DCODEC_INVALID_ARGUMENT otherwise). Streams are the same on either device and decode on the other. */
dcodec_status dcodec_model_open_on(const char* path, const char* device, dcodec_model** model);
void dcodec_model_close(dcodec_model* model);

/* Metadata (stream format 6): what an image file says besides its pixels (datasets/metadata.h). The encoder keeps
 * it in the stream, compressed, after the first stage; the decoder gives it back with every prefix that holds it.
 * A list of items, each a kind, a key (may be "") and bytes. */
typedef enum {
  DCODEC_METADATA_ICC = 1,  /* an ICC colour profile; key: its name */
  DCODEC_METADATA_SRGB = 2, /* PNG sRGB: the rendering intent, 1 byte */
  DCODEC_METADATA_GAMA = 3, /* PNG gAMA: gamma × 100000, 4 bytes big-endian */
  DCODEC_METADATA_CHRM = 4, /* PNG cHRM: white point and primaries × 100000, 32 bytes big-endian */
  DCODEC_METADATA_CICP = 5, /* PNG cICP: primaries, transfer, matrix, full range, 4 bytes */
  DCODEC_METADATA_EXIF = 6, /* EXIF as TIFF (from "II" or "MM"; no JPEG "Exif\0\0" prefix) */
  DCODEC_METADATA_XMP = 7,  /* the XMP packet */
  DCODEC_METADATA_TEXT = 8  /* key: the keyword; value: UTF-8 text */
} dcodec_metadata_kind;
typedef struct dcodec_metadata dcodec_metadata;
dcodec_metadata* dcodec_metadata_new(void); /* empty; NULL if out of memory */
void dcodec_metadata_free(dcodec_metadata* metadata);
/* Appends an item (the bytes are copied). DCODEC_INVALID_ARGUMENT for an unknown kind, a null pointer with size > 0,
 * or more than 4096 items / 64 MiB in all. */
dcodec_status dcodec_metadata_add(dcodec_metadata* metadata, int kind, const char* key, const uint8_t* value,
                                  size_t size);
size_t dcodec_metadata_count(const dcodec_metadata* metadata);
/* Item `index` (< count): its kind, key and bytes, valid until the list is changed or freed. */
dcodec_status dcodec_metadata_get(const dcodec_metadata* metadata, size_t index, int* kind, const char** key,
                                  const uint8_t** value, size_t* size);

typedef struct {
  int quality;                     /* 0..100: PSNR 25 + 0.15 quality dB; 100 = lossless. Default 75 */
  double bpp;                      /* > 0: the largest stream within this rate (overrides quality) */
  double psnr;                     /* > 0: the smallest stream reaching this PSNR (overrides quality) */
  int lossless;                    /* != 0: the whole stream (overrides the above) */
  int threads;                     /* >= 1; default 1 */
  uint64_t seed;                   /* the dither seed; default 0 */
  const dcodec_metadata* metadata; /* kept in the stream; NULL (default): none */
} dcodec_encode_options;
void dcodec_encode_options_init(dcodec_encode_options* options);

/* pixels: interleaved 8-bit rows, `channels` 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). On success *stream
 * (free with dcodec_free) holds *size bytes. */
dcodec_status dcodec_encode(const dcodec_model* model, const uint8_t* pixels, int width, int height, int channels,
                            const dcodec_encode_options* options, uint8_t** stream, size_t* size);

/* 16-bit samples (native byte order), coded losslessly at the end of the stream (its prefixes are 8-bit previews:
 * the high bytes). Otherwise as dcodec_encode. */
dcodec_status dcodec_encode16(const dcodec_model* model, const uint16_t* pixels, int width, int height, int channels,
                              const dcodec_encode_options* options, uint8_t** stream, size_t* size);

typedef struct {
  size_t max_bytes;          /* 0: the whole stream; else decode the stages complete within this prefix */
  int max_stages;            /* < 0: all */
  int threads;               /* >= 1; default 1 */
  int salvage;               /* != 0: a damaged stream gives DCODEC_SALVAGED and the stages before the damage */
  dcodec_metadata* metadata; /* not NULL: emptied, then filled with the stream's metadata (none in a prefix that
                                ends before it). Default NULL */
} dcodec_decode_options;
void dcodec_decode_options_init(dcodec_decode_options* options);

/* On success *pixels (free with dcodec_free) holds width × height × channels bytes, interleaved; *exact is 1 when
 * the whole stream was decoded (the encoder's input, bit for bit, and its metadata), and *stages the stages decoded.
 * The same complete stages give the same pixels however they are selected: a cut buffer, max_bytes or max_stages. A
 * stream of 16-bit samples gives their high bytes here, with *exact 0: dcodec_decode16 gives them whole. */
dcodec_status dcodec_decode(const dcodec_model* model, const uint8_t* stream, size_t size,
                            const dcodec_decode_options* options, uint8_t** pixels, int* width, int* height,
                            int* channels, int* exact, int* stages);
/* As dcodec_decode, with 16-bit samples (native byte order): *sample_bits is 16 when the whole stream of a 16-bit
 * image was decoded (its samples exactly), else 8 (an 8-bit image, or a 16-bit one's preview), the 8-bit values v
 * given as v * 257. */
dcodec_status dcodec_decode16(const dcodec_model* model, const uint8_t* stream, size_t size,
                              const dcodec_decode_options* options, uint16_t** pixels, int* width, int* height,
                              int* channels, int* sample_bits, int* exact, int* stages);

#ifdef __cplusplus
}
#endif

#endif /* DCODEC_API_DCODEC_H_ */
