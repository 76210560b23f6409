// tsvirt_io: the few Linux file calls Node 20 lacks, for the image layer (src/image/io/native.ts).
//   extents(fd, offset, length)        data runs via lseek(SEEK_DATA/SEEK_HOLE), one call
//   punchHole(fd, offset, length)      fallocate(PUNCH_HOLE | KEEP_SIZE)
//   zeroRange(fd, offset, length)      fallocate(ZERO_RANGE | KEEP_SIZE)
//   allocate(fd, offset, length)       fallocate(0): reserve blocks (may grow the file)
//   copyRange(fdIn, offIn, fdOut, offOut, length)  copy_file_range, whole length or an error
// Errors come back as negative errno numbers (never thrown), so callers can fall back on
// EOPNOTSUPP/EINVAL/ENOSYS without string matching. Everything is synchronous: each call is one
// or a few syscalls that the kernel answers from metadata (or, for copyRange, in-kernel copies).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <node_api.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  if (napi_create_int64(env, v, &out) != napi_ok) return NULL;
  return out;
}

/** Reads argc int64 arguments (fds and offsets; numbers only, safe-integer range). */
static int get_args(napi_env env, napi_callback_info info, size_t argc, int64_t *vals) {
  napi_value argv[6];
  size_t n = 6;
  if (napi_get_cb_info(env, info, &n, argv, NULL, NULL) != napi_ok) return -1;
  if (n < argc) {
    napi_throw_type_error(env, NULL, "tsvirt_io: too few arguments");
    return -1;
  }
  for (size_t i = 0; i < argc; i++) {
    if (napi_get_value_int64(env, argv[i], &vals[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "tsvirt_io: arguments must be numbers");
      return -1;
    }
    if (vals[i] < 0) {
      napi_throw_range_error(env, NULL, "tsvirt_io: negative argument");
      return -1;
    }
  }
  return 0;
}

/**
 * Data runs intersecting [offset, offset+length), clipped to it and to the file size, as a
 * Float64Array [start0, len0, start1, len1, ...]. Returns a negative errno number when the
 * file system cannot tell (EINVAL/EOPNOTSUPP from SEEK_DATA), so the caller counts all as data.
 */
static napi_value extents(napi_env env, napi_callback_info info) {
  int64_t a[3];
  if (get_args(env, info, 3, a) != 0) return NULL;
  int fd = (int)a[0];
  off_t pos = (off_t)a[1];
  struct stat st;
  if (fstat(fd, &st) != 0) return make_int(env, -errno);
  off_t end = (off_t)(a[1] + a[2]);
  if (end > st.st_size) end = st.st_size;
  size_t cap = 64, n = 0;
  double *runs = malloc(cap * sizeof(double));
  if (!runs) return make_int(env, -ENOMEM);
  while (pos < end) {
    off_t data = lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      int err = errno;
      if (err == ENXIO) break; // no data past pos
      free(runs);
      return make_int(env, -err);
    }
    if (data >= end) break;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) {
      int err = errno;
      free(runs);
      return make_int(env, -err);
    }
    if (hole > end) hole = end;
    if (hole <= data) break; // cannot happen on a sane file system; stop rather than spin
    if (n + 2 > cap) {
      cap *= 2;
      double *grown = realloc(runs, cap * sizeof(double));
      if (!grown) {
        free(runs);
        return make_int(env, -ENOMEM);
      }
      runs = grown;
    }
    runs[n++] = (double)data;
    runs[n++] = (double)(hole - data);
    pos = hole;
  }
  napi_value ab, arr;
  void *mem;
  if (napi_create_arraybuffer(env, n * sizeof(double), &mem, &ab) != napi_ok) {
    free(runs);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) ((double *)mem)[i] = runs[i];
  free(runs);
  CHECK(napi_create_typedarray(env, napi_float64_array, n, ab, 0, &arr));
  return arr;
}

static napi_value do_fallocate(napi_env env, napi_callback_info info, int mode) {
  int64_t a[3];
  if (get_args(env, info, 3, a) != 0) return NULL;
  if (a[2] == 0) return make_int(env, 0);
  int r;
  do r = fallocate((int)a[0], mode, (off_t)a[1], (off_t)a[2]);
  while (r != 0 && errno == EINTR);
  return make_int(env, r == 0 ? 0 : -errno);
}

static napi_value punch_hole(napi_env env, napi_callback_info info) {
  return do_fallocate(env, info, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
}

static napi_value zero_range(napi_env env, napi_callback_info info) {
  return do_fallocate(env, info, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
}

static napi_value allocate(napi_env env, napi_callback_info info) {
  return do_fallocate(env, info, 0);
}

/** copy_file_range for the whole length; returns bytes copied (short only at the source's EOF). */
static napi_value copy_range(napi_env env, napi_callback_info info) {
  int64_t a[5];
  if (get_args(env, info, 5, a) != 0) return NULL;
  loff_t in = (loff_t)a[1], out = (loff_t)a[3];
  int64_t left = a[4], done = 0;
  while (left > 0) {
    size_t chunk = left > (1 << 30) ? (size_t)1 << 30 : (size_t)left;
    ssize_t r = copy_file_range((int)a[0], &in, (int)a[2], &out, chunk, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break; // report what was copied; the caller finishes another way
      return make_int(env, -errno);
    }
    if (r == 0) break;
    done += r;
    left -= r;
  }
  return make_int(env, done);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"extents", NULL, extents, NULL, NULL, NULL, napi_enumerable, NULL},
      {"punchHole", NULL, punch_hole, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zeroRange", NULL, zero_range, NULL, NULL, NULL, napi_enumerable, NULL},
      {"allocate", NULL, allocate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyRange", NULL, copy_range, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
