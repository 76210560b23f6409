// tsvirt_io: the few Linux file calls Node 20 lacks, for the image layer (src/image/io/native.ts).
//   extents(fd, offset, length)        data runs via lseek(SEEK_DATA/SEEK_HOLE), one call
//   punchHole(fd, offset, length)      fallocate(PUNCH_HOLE | KEEP_SIZE)
//   zeroRange(fd, offset, length)      fallocate(ZERO_RANGE | KEEP_SIZE)
//   allocate(fd, offset, length)       fallocate(0): reserve blocks (may grow the file)
//   copyRange(fdIn, offIn, fdOut, offOut, length)  copy_file_range, whole length or an error
//   zeroRuns(bytes, offset, granularity)  data/zero runs of a buffer (qemu-img -S blocks)
//   deflatePool(threads, level, windowBits, memLevel, done(id, out))  own compression threads:
//                                      pool.submit(id, bytes) deflates on one of them (Node's
//                                      zlib), done() runs on the main thread
//   prefetch(fd, offset, length)       posix_fadvise(WILLNEED): start reading a range ahead
//   writeback(fd, offset, length)      sync_file_range(WRITE) on a background thread: start
//                                      write-out of dirty pages, no waiting
//   map(fd, offset, length) / unmap(view)   read-only, pre-faulted mmap of a file range as a
//                                      Uint8Array: bulk copies read the page cache in place
//                                      instead of copying it into a buffer first
//   zstdCompress(bytes, limit) / zstdDecompress(bytes, size)   qcow2's zstd clusters through
//                                      the system's libzstd.so.1 (dlopen on first use, as qemu's
//                                      block/qcow2-threads.c calls it); -ENOSYS without it
// Errors come back as negative errno numbers (never thrown), so callers can fall back on
// EOPNOTSUPP/EINVAL/ENOSYS without string matching. Everything is synchronous: each call is one
// or a few syscalls that the kernel answers from metadata (or, for copyRange, in-kernel copies).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <node_api.h>
// Node's own zlib (its binary exports the symbols; compiled against the header it ships).
#include <zlib.h>

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

/** prefetch(fd, offset, length): starts reading the range into the page cache (no waiting). */
static napi_value prefetch(napi_env env, napi_callback_info info) {
  int64_t a[3];
  if (get_args(env, info, 3, a) != 0) return NULL;
  int r = posix_fadvise((int)a[0], (off_t)a[1], (off_t)a[2], POSIX_FADV_WILLNEED);
  return make_int(env, -r);
}

// ---- writeback ----
// Starts write-out of a file's dirty pages (sync_file_range WRITE: no waiting for the disk) on
// a background thread, so a bulk copy hands its data to the disk while it goes on copying
// instead of leaving it all to a later sync. Fire and forget: the request holds its own dup of
// the descriptor; requests still queued when the process exits are simply dropped.

typedef struct wbjob {
  struct wbjob *next;
  int fd;
  int64_t off, len;
} wbjob;

static pthread_mutex_t wb_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wb_cv = PTHREAD_COND_INITIALIZER;
static wbjob *wb_head, *wb_tail;
static int wb_started;

static void *wb_worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&wb_mu);
    while (!wb_head) pthread_cond_wait(&wb_cv, &wb_mu);
    wbjob *j = wb_head;
    wb_head = j->next;
    if (!wb_head) wb_tail = NULL;
    pthread_mutex_unlock(&wb_mu);
    sync_file_range(j->fd, j->off, j->len, SYNC_FILE_RANGE_WRITE);
    close(j->fd);
    free(j);
  }
  return NULL;
}

/** writeback(fd, offset, length): queues the write-out (length 0: to the end of the file). */
static napi_value writeback(napi_env env, napi_callback_info info) {
  int64_t a[3];
  if (get_args(env, info, 3, a) != 0) return NULL;
  wbjob *j = malloc(sizeof *j);
  if (!j) return make_int(env, -ENOMEM);
  j->fd = fcntl((int)a[0], F_DUPFD_CLOEXEC, 0);
  if (j->fd < 0) {
    int e = errno;
    free(j);
    return make_int(env, -e);
  }
  j->off = a[1];
  j->len = a[2];
  j->next = NULL;
  pthread_mutex_lock(&wb_mu);
  if (!wb_started) {
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    // Signals (SIGINT, SIGCHLD, ...) stay with Node's threads.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, &at, wb_worker, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&at);
    if (rc != 0) {
      pthread_mutex_unlock(&wb_mu);
      close(j->fd);
      free(j);
      return make_int(env, -rc);
    }
    wb_started = 1;
  }
  if (wb_tail) wb_tail->next = j;
  else wb_head = j;
  wb_tail = j;
  pthread_cond_signal(&wb_cv);
  pthread_mutex_unlock(&wb_mu);
  return make_int(env, 0);
}

// ---- map / unmap ----
// A mapped file that shrinks under us (another process truncates the source) would raise
// SIGBUS on access. The handler below replaces the vanished pages of *our* mappings with
// zero pages and marks the mapping, so the access completes and unmap() reports EIO; faults
// anywhere else go to the previous handler (or the default action).

struct mapping {
  uintptr_t addr;
  size_t len;
  int live;
};

#define MAX_MAPS 64
static struct mapping *volatile maps[MAX_MAPS];
static volatile sig_atomic_t faulted[MAX_MAPS];
static struct sigaction old_bus;
static int bus_installed;
static long page_size;

static void on_sigbus(int sig, siginfo_t *si, void *uc) {
  uintptr_t a = (uintptr_t)si->si_addr;
  for (int i = 0; i < MAX_MAPS; i++) {
    struct mapping *m = maps[i];
    if (m && a >= m->addr && a < m->addr + m->len) {
      uintptr_t page = a & ~(uintptr_t)(page_size - 1);
      void *r = mmap((void *)page, m->addr + m->len - page, PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (r != MAP_FAILED) {
        faulted[i] = 1;
        return;
      }
    }
  }
  if (old_bus.sa_flags & SA_SIGINFO) {
    old_bus.sa_sigaction(sig, si, uc);
  } else if (old_bus.sa_handler != SIG_DFL && old_bus.sa_handler != SIG_IGN) {
    old_bus.sa_handler(sig);
  } else {
    signal(SIGBUS, SIG_DFL); // the access faults again and takes the default action
  }
}

static void finalize_mapping(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  struct mapping *m = hint;
  if (m->live) {
    for (int i = 0; i < MAX_MAPS; i++)
      if (maps[i] == m) maps[i] = NULL;
    munmap((void *)m->addr, m->len);
  }
  free(m);
}

/** map(fd, offset, length): Uint8Array over the file bytes, or -errno (e.g. past EOF). */
static napi_value map_range(napi_env env, napi_callback_info info) {
  int64_t a[3];
  if (get_args(env, info, 3, a) != 0) return NULL;
  if (!page_size) page_size = sysconf(_SC_PAGESIZE);
  if (!bus_installed) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &old_bus) != 0) return make_int(env, -errno);
    bus_installed = 1;
  }
  int fd = (int)a[0];
  struct stat st;
  if (fstat(fd, &st) != 0) return make_int(env, -errno);
  if (a[2] <= 0 || a[1] + a[2] > st.st_size) return make_int(env, -ENXIO);
  int slot = -1;
  for (int i = 0; i < MAX_MAPS; i++)
    if (!maps[i]) {
      slot = i;
      break;
    }
  if (slot < 0) return make_int(env, -ENOSPC);
  off_t base = (off_t)(a[1] & ~(int64_t)(page_size - 1));
  size_t delta = (size_t)(a[1] - base);
  size_t len = delta + (size_t)a[2];
  void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, base);
  if (p == MAP_FAILED) return make_int(env, -errno);
  struct mapping *m = malloc(sizeof *m);
  if (!m) {
    munmap(p, len);
    return make_int(env, -ENOMEM);
  }
  m->addr = (uintptr_t)p;
  m->len = len;
  m->live = 1;
  faulted[slot] = 0;
  maps[slot] = m;
  napi_value ab, view;
  if (napi_create_external_arraybuffer(env, p, len, finalize_mapping, m, &ab) != napi_ok) {
    maps[slot] = NULL;
    munmap(p, len);
    free(m);
    return NULL;
  }
  CHECK(napi_create_typedarray(env, napi_uint8_array, (size_t)a[2], ab, delta, &view));
  return view;
}

/** unmap(view): releases a map() view now (it reads as empty after); -EIO if the file shrank. */
static napi_value unmap_range(napi_env env, napi_callback_info info) {
  napi_value argv[1], ab;
  size_t n = 1;
  CHECK(napi_get_cb_info(env, info, &n, argv, NULL, NULL));
  bool is_ta = false;
  if (n < 1 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta) {
    napi_throw_type_error(env, NULL, "tsvirt_io: unmap takes a view from map()");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length, byte_offset;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &byte_offset));
  void *base;
  size_t ab_len;
  CHECK(napi_get_arraybuffer_info(env, ab, &base, &ab_len));
  if (!base) return make_int(env, 0); // already released (detached)
  int err = 0, found = 0;
  for (int i = 0; i < MAX_MAPS; i++) {
    struct mapping *m = maps[i];
    if (m && m->addr == (uintptr_t)base) {
      found = 1;
      if (faulted[i]) err = -EIO;
      maps[i] = NULL;
      m->live = 0;
      munmap(base, m->len);
      break;
    }
  }
  if (!found) return make_int(env, -EINVAL);
  CHECK(napi_detach_arraybuffer(env, ab));
  return make_int(env, err);
}

// ---- zeroRuns ----

/**
 * True when p[0..n) is all zero: the first byte, then memcmp of the block against itself
 * shifted by one. Data blocks usually stop at the first byte: one cache line per block.
 */
static int all_zero(const uint8_t *p, size_t n) {
  if (n == 0) return 1;
  if (p[0]) return 0;
  return n < 2 || memcmp(p, p + 1, n - 1) == 0;
}

/**
 * zeroRuns(bytes, offset, g): splits bytes (guest bytes at guest `offset`) into runs on
 * g-aligned guest blocks: Float64Array [start, end, isData, ...], adjacent runs of one kind
 * merged. Blocks cut short by the buffer's ends count as data (as qemu-img's -S scan does).
 */
static napi_value zero_runs(napi_env env, napi_callback_info info) {
  napi_value argv[3], ab, arr;
  size_t n = 3;
  CHECK(napi_get_cb_info(env, info, &n, argv, NULL, NULL));
  bool is_ta = false;
  if (n < 3 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta) {
    napi_throw_type_error(env, NULL, "tsvirt_io: zeroRuns(Uint8Array, offset, granularity)");
    return NULL;
  }
  napi_typedarray_type type;
  size_t len, byte_offset;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &len, &data, &ab, &byte_offset));
  int64_t off, g;
  CHECK(napi_get_value_int64(env, argv[1], &off));
  CHECK(napi_get_value_int64(env, argv[2], &g));
  if (type != napi_uint8_array || off < 0 || g <= 0) {
    napi_throw_range_error(env, NULL, "tsvirt_io: zeroRuns: bad arguments");
    return NULL;
  }
  const uint8_t *b = data;
  size_t cap = 48, cnt = 0;
  double *runs = malloc(cap * sizeof(double));
  if (!runs) return make_int(env, -ENOMEM);
  size_t pos = 0;
  while (pos < len) {
    size_t next = (size_t)((off + (int64_t)pos) / g * g + g - off);
    if (next > len) next = len;
    int is_data = next - pos < (size_t)g || !all_zero(b + pos, next - pos);
    if (cnt >= 3 && (int)runs[cnt - 1] == is_data) {
      runs[cnt - 2] = (double)next;
    } else {
      if (cnt + 3 > cap) {
        cap *= 2;
        double *grown = realloc(runs, cap * sizeof(double));
        if (!grown) {
          free(runs);
          return make_int(env, -ENOMEM);
        }
        runs = grown;
      }
      runs[cnt++] = (double)pos;
      runs[cnt++] = (double)next;
      runs[cnt++] = is_data;
    }
    pos = next;
  }
  void *mem;
  if (napi_create_arraybuffer(env, cnt * sizeof(double), &mem, &ab) != napi_ok) {
    free(runs);
    return NULL;
  }
  memcpy(mem, runs, cnt * sizeof(double));
  free(runs);
  CHECK(napi_create_typedarray(env, napi_float64_array, cnt, ab, 0, &arr));
  return arr;
}

// ---- deflate pool ----
// libuv's pool has 4 threads and cannot grow once started (before any user code runs, since
// the ESM loader uses it); qemu-img -c keeps up to -m (8) clusters compressing on its own
// threads. This pool has its own threads: on a busy host, as many runnable threads as qemu.

typedef struct djob {
  struct djob *next;
  const uint8_t *in;
  size_t len;
  double id;
  uint8_t *out;
  size_t out_len;
  int ok; /* 1: compressed shorter than the input; 0: it did not shrink; -1: zlib error */
  napi_ref keep;
} djob;

typedef struct dpool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  djob *head, *tail;
  int level, wbits, memlevel;
  int nthreads;
  pthread_t th[64];
  napi_threadsafe_function tsfn;
  size_t pending;
} dpool;

static void *deflate_worker(void *arg) {
  dpool *p = arg;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  int inited = deflateInit2(&zs, p->level, Z_DEFLATED, p->wbits, p->memlevel, Z_DEFAULT_STRATEGY) == Z_OK;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    while (!p->head) pthread_cond_wait(&p->cv, &p->mu);
    djob *j = p->head;
    p->head = j->next;
    if (!p->head) p->tail = NULL;
    pthread_mutex_unlock(&p->mu);
    j->ok = -1;
    if (inited && deflateReset(&zs) == Z_OK && (j->out = malloc(j->len ? j->len : 1))) {
      zs.next_in = (Bytef *)j->in;
      zs.avail_in = (uInt)j->len;
      zs.next_out = j->out;
      zs.avail_out = (uInt)j->len;
      int r = deflate(&zs, Z_FINISH);
      if (r == Z_STREAM_END) {
        j->out_len = j->len - zs.avail_out;
        j->ok = j->out_len < j->len ? 1 : 0;
      } else if (r == Z_OK || r == Z_BUF_ERROR) {
        j->ok = 0; /* ran out of room: does not shrink */
      }
    }
    napi_call_threadsafe_function(p->tsfn, j, napi_tsfn_blocking);
  }
  return NULL;
}

/** Main thread: hands one finished job to JS as done(id, Uint8Array | undefined | null). */
static void deflate_done(napi_env env, napi_value cb, void *ctx, void *data) {
  dpool *p = ctx;
  djob *j = data;
  if (env) {
    napi_value args[2], undef;
    napi_create_double(env, j->id, &args[0]);
    napi_get_undefined(env, &undef);
    if (j->ok == 1) {
      void *mem;
      napi_value ab;
      if (napi_create_arraybuffer(env, j->out_len, &mem, &ab) == napi_ok) {
        memcpy(mem, j->out, j->out_len);
        napi_create_typedarray(env, napi_uint8_array, j->out_len, ab, 0, &args[1]);
      } else {
        napi_get_null(env, &args[1]);
      }
    } else if (j->ok == 0) {
      args[1] = undef;
    } else {
      napi_get_null(env, &args[1]);
    }
    napi_delete_reference(env, j->keep);
    if (--p->pending == 0) napi_unref_threadsafe_function(env, p->tsfn);
    napi_call_function(env, undef, cb, 2, args, NULL);
  }
  free(j->out);
  free(j);
}

static napi_value deflate_submit(napi_env env, napi_callback_info info) {
  napi_value argv[2], self;
  size_t n = 2;
  void *pdata;
  CHECK(napi_get_cb_info(env, info, &n, argv, &self, &pdata));
  dpool *p = pdata;
  bool is_ta = false;
  if (n < 2 || napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta) {
    napi_throw_type_error(env, NULL, "tsvirt_io: submit(id, Uint8Array)");
    return NULL;
  }
  napi_typedarray_type type;
  size_t len, byte_offset;
  void *data;
  napi_value ab;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &byte_offset));
  djob *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, NULL, "tsvirt_io: out of memory");
    return NULL;
  }
  CHECK(napi_get_value_double(env, argv[0], &j->id));
  j->in = data;
  j->len = len;
  // The bytes stay referenced (not collected) until the job is done.
  if (napi_create_reference(env, argv[1], 1, &j->keep) != napi_ok) {
    free(j);
    return NULL;
  }
  if (p->pending++ == 0) napi_ref_threadsafe_function(env, p->tsfn);
  pthread_mutex_lock(&p->mu);
  if (p->tail) p->tail->next = j;
  else p->head = j;
  p->tail = j;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/**
 * deflatePool(threads, level, windowBits, memLevel, done) -> { submit(id, bytes) }. windowBits
 * as zlib's (negative: raw deflate). Threads live for the process; an idle pool does not keep
 * the event loop alive.
 */
static napi_value deflate_pool(napi_env env, napi_callback_info info) {
  napi_value argv[5], name, obj, fn;
  size_t n = 5;
  CHECK(napi_get_cb_info(env, info, &n, argv, NULL, NULL));
  int32_t a[4];
  for (int i = 0; i < 4; i++) {
    if (n < 5 || napi_get_value_int32(env, argv[i], &a[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "tsvirt_io: deflatePool(threads, level, windowBits, memLevel, done)");
      return NULL;
    }
  }
  if (a[0] < 1 || a[0] > 64) {
    napi_throw_range_error(env, NULL, "tsvirt_io: 1..64 threads");
    return NULL;
  }
  dpool *p = calloc(1, sizeof *p); /* lives for the process */
  if (!p) return make_int(env, -ENOMEM);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->level = a[1];
  p->wbits = a[2];
  p->memlevel = a[3];
  CHECK(napi_create_string_utf8(env, "tsvirt_deflate", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, argv[4], NULL, name, 0, 1, NULL, NULL, p, deflate_done, &p->tsfn));
  CHECK(napi_unref_threadsafe_function(env, p->tsfn));
  for (int i = 0; i < a[0]; i++) {
    if (pthread_create(&p->th[i], NULL, deflate_worker, p) != 0) break;
    pthread_detach(p->th[i]);
    p->nthreads++;
  }
  if (p->nthreads == 0) return make_int(env, -EAGAIN);
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_function(env, "submit", NAPI_AUTO_LENGTH, deflate_submit, p, &fn));
  CHECK(napi_set_named_property(env, obj, "submit", fn));
  return obj;
}

// ---- zstd ----
// libzstd's streaming types and ZSTD_e_end (zstd.h is not needed: the ABI is stable since 1.4).
typedef struct {
  const void *src;
  size_t size;
  size_t pos;
} zstd_in;
typedef struct {
  void *dst;
  size_t size;
  size_t pos;
} zstd_out;
#define ZSTD_E_END 2

static struct {
  int state; // 0: not tried, 1: loaded, -1: unavailable
  void *(*create_c)(void);
  size_t (*free_c)(void *);
  size_t (*compress2)(void *, zstd_out *, zstd_in *, int);
  void *(*create_d)(void);
  size_t (*free_d)(void *);
  size_t (*decompress)(void *, zstd_out *, zstd_in *);
  unsigned (*is_error)(size_t);
} zs;

static int zstd_load(void) {
  if (zs.state) return zs.state;
  zs.state = -1;
  void *h = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) return -1;
  *(void **)&zs.create_c = dlsym(h, "ZSTD_createCCtx");
  *(void **)&zs.free_c = dlsym(h, "ZSTD_freeCCtx");
  *(void **)&zs.compress2 = dlsym(h, "ZSTD_compressStream2");
  *(void **)&zs.create_d = dlsym(h, "ZSTD_createDCtx");
  *(void **)&zs.free_d = dlsym(h, "ZSTD_freeDCtx");
  *(void **)&zs.decompress = dlsym(h, "ZSTD_decompressStream");
  *(void **)&zs.is_error = dlsym(h, "ZSTD_isError");
  if (zs.create_c && zs.free_c && zs.compress2 && zs.create_d && zs.free_d && zs.decompress && zs.is_error)
    zs.state = 1;
  return zs.state;
}

/** Reads (Uint8Array, number) arguments. */
static int bytes_and_size(napi_env env, napi_callback_info info, uint8_t **data, size_t *len, int64_t *n) {
  napi_value argv[2];
  size_t argc = 2;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  if (argc < 2 || napi_get_typedarray_info(env, argv[0], &t, len, (void **)data, &ab, &off) != napi_ok ||
      t != napi_uint8_array || napi_get_value_int64(env, argv[1], n) != napi_ok || *n < 0 ||
      *n > (1 << 30)) {
    napi_throw_type_error(env, NULL, "tsvirt_io: (Uint8Array, size) expected");
    return -1;
  }
  return 0;
}

static napi_value new_bytes(napi_env env, const void *src, size_t len) {
  void *mem;
  napi_value ab, out;
  CHECK(napi_create_arraybuffer(env, len, &mem, &ab));
  if (len) memcpy(mem, src, len);
  CHECK(napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &out));
  return out;
}

/**
 * zstdCompress(bytes, limit): one zstd frame of at most limit bytes (ZSTD_compressStream2 with
 * ZSTD_e_end once, default parameters, as qemu); -ENOMEM when it does not fit, -EIO on error.
 */
static napi_value zstd_compress(napi_env env, napi_callback_info info) {
  uint8_t *src;
  size_t len;
  int64_t limit;
  if (bytes_and_size(env, info, &src, &len, &limit)) return NULL;
  if (zstd_load() < 0) return make_int(env, -ENOSYS);
  uint8_t *buf = malloc(limit ? (size_t)limit : 1);
  void *cctx = zs.create_c();
  if (!buf || !cctx) {
    free(buf);
    if (cctx) zs.free_c(cctx);
    return make_int(env, -ENOMEM);
  }
  zstd_out o = {buf, (size_t)limit, 0};
  zstd_in i = {src, len, 0};
  size_t r = zs.compress2(cctx, &o, &i, ZSTD_E_END);
  zs.free_c(cctx);
  napi_value out;
  if (r) out = make_int(env, r > o.size - o.pos ? -ENOMEM : -EIO);
  else out = new_bytes(env, buf, o.pos);
  free(buf);
  return out;
}

/**
 * zstdDecompress(bytes, size): exactly size bytes out of the stream (qemu's
 * qcow2_zstd_decompress loop: stop when the output is full, fail without progress or when the
 * frame goes on past it); -EIO on error.
 */
static napi_value zstd_decompress(napi_env env, napi_callback_info info) {
  uint8_t *src;
  size_t len;
  int64_t size;
  if (bytes_and_size(env, info, &src, &len, &size)) return NULL;
  if (zstd_load() < 0) return make_int(env, -ENOSYS);
  uint8_t *buf = malloc(size ? (size_t)size : 1);
  void *dctx = zs.create_d();
  if (!buf || !dctx) {
    free(buf);
    if (dctx) zs.free_d(dctx);
    return make_int(env, -ENOMEM);
  }
  zstd_out o = {buf, (size_t)size, 0};
  zstd_in i = {src, len, 0};
  size_t r = 0;
  int ret = 0;
  while (o.pos < o.size) {
    size_t in0 = i.pos, out0 = o.pos;
    r = zs.decompress(dctx, &o, &i);
    if (zs.is_error(r)) {
      ret = -EIO;
      break;
    }
    if (in0 >= i.pos && out0 >= o.pos) {
      ret = -EIO;
      break;
    }
  }
  if (!ret && r > 0) ret = -EIO;
  zs.free_d(dctx);
  napi_value out = ret ? make_int(env, ret) : new_bytes(env, buf, o.pos);
  free(buf);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"extents", NULL, extents, NULL, NULL, NULL, napi_enumerable, NULL},
      {"punchHole", NULL, punch_hole, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zeroRange", NULL, zero_range, NULL, NULL, NULL, napi_enumerable, NULL},
      {"allocate", NULL, allocate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyRange", NULL, copy_range, NULL, NULL, NULL, napi_enumerable, NULL},
      {"deflatePool", NULL, deflate_pool, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zeroRuns", NULL, zero_runs, NULL, NULL, NULL, napi_enumerable, NULL},
      {"map", NULL, map_range, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmap", NULL, unmap_range, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeback", NULL, writeback, NULL, NULL, NULL, napi_enumerable, NULL},
      {"prefetch", NULL, prefetch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zstdCompress", NULL, zstd_compress, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zstdDecompress", NULL, zstd_decompress, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
