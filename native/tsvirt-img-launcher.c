/*
 * tsvirt-img's installed program (package.json "bin": dist/bin/tsvirt-img), compiled by
 * scripts/build-img-bundle.mjs when a C compiler is there (else that script writes a shell
 * launcher doing the same). It runs
 *
 *   node --no-rehash-snapshot --interrupt-budget=1081344 DIR/ENTRY ARGS...
 *
 * with DIR the directory this program's file is in (/proc/self/exe: npm's bin symlink and a moved
 * checkout resolve to the real files) and ENTRY tsvirt-img-start.cjs (the CLI's one-file bundle
 * with V8's code cache, both in tsvirt-img.pack; no further checks) when the pack is there and not
 * older than tsc's output (tsvirt-img-cli.cjs), else tsvirt-img-cli.cjs (which loads the bundle
 * itself when it is fresh, else the CLI's ES modules).
 * TSVIRT_IMG_NO_BUNDLE=1 takes tsvirt-img-cli.cjs too. `node` is the first on PATH (what
 * `#!/usr/bin/env node` would run), or the Node that built the bundle (TSVIRT_NODE below) when
 * PATH has none. NODE_EXTRA_CA_CERTS is removed from the environment: Node reads and parses that
 * CA file at every start (~30 ms here) and tsvirt-img opens no TLS connection and starts no
 * program.
 *
 * Why not a shell script (what the build writes without a compiler): dash's start-up and the
 * script cost a little more than this (perf stat, PATH's `node` being /bin/true: 1.46 ms of CPU and
 * 114 page faults through the shell launcher, 1.35 ms and 79 through this one built statically,
 * 0.62 ms and 49 for /bin/true alone). Why not a `#!/usr/bin/node --flag` line on the entry: a
 * shebang cannot unset NODE_EXTRA_CA_CERTS, and `#!/usr/bin/env -S -u …` costs another
 * dynamically linked exec and a PATH search.
 *
 * Built with -DTSVIRT_DIR='"…"' (the output directory, used when /proc/self/exe cannot be read)
 * and -DTSVIRT_NODE='"…"'.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TSVIRT_DIR
#error "build with -DTSVIRT_DIR"
#endif
#ifndef TSVIRT_NODE
#define TSVIRT_NODE "/usr/bin/node"
#endif

/*
 * Must match the V8 flags the code cache was made with (scripts/build-img-bundle.mjs; see
 * src/bin/tsvirt-img-cli.cts for why each: the first one only acts on Node's command line).
 */
#define REHASH "--no-rehash-snapshot"
#define BUDGET "--interrupt-budget=1081344"

static char dir[4096];
static char cli[4096 + 64];
static char pack[4096 + 64];
static char start[4096 + 64];

static int newer(const struct stat *a, const struct stat *b) {
  return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
         (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec > b->st_mtim.tv_nsec);
}

int main(int argc, char **argv) {
  ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
  /* (no /proc, or a path that may have been cut short: the directory the build wrote this to) */
  char *slash = n > 0 && n < (ssize_t)sizeof dir - 1 ? memrchr(dir, '/', (size_t)n) : NULL;
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof dir, "%s", TSVIRT_DIR);
  snprintf(cli, sizeof cli, "%s/tsvirt-img-cli.cjs", dir);
  snprintf(pack, sizeof pack, "%s/tsvirt-img.pack", dir);
  snprintf(start, sizeof start, "%s/tsvirt-img-start.cjs", dir);

  unsetenv("NODE_EXTRA_CA_CERTS");
  const char *entry = cli;
  const char *nb = getenv("TSVIRT_IMG_NO_BUNDLE");
  struct stat sc, sp, ss;
  if (!(nb && strcmp(nb, "1") == 0) && stat(pack, &sp) == 0 && stat(start, &ss) == 0 &&
      stat(cli, &sc) == 0 && !newer(&sc, &sp))
    entry = start;

  char **args = calloc((size_t)argc + 4, sizeof *args);
  if (!args) return 127;
  args[0] = "node";
  args[1] = REHASH;
  args[2] = BUDGET;
  args[3] = (char *)entry;
  for (int i = 1; i < argc; i++) args[i + 3] = argv[i];
  execvp("node", args);
  int e = errno;
  execv(TSVIRT_NODE, args);
  fprintf(stderr, "tsvirt-img: cannot run node: %s\n", strerror(e));
  return 127;
}
