/*
 * fuzz_config.c — libFuzzer harness: the input is a configuration file for
 * config_load() (src/config.c).  It must load or fail with a message, and
 * never crash or leak (ASan, UBSan, LeakSanitizer); a loaded config is
 * freed with config_free().
 *
 * The file is written to one temporary directory per process ($TMPDIR or
 * /tmp; make fuzz points TMPDIR into the build dir) and reused; @include
 * paths resolve in that directory.  The file is removed after each input,
 * the directory at exit (not after a crash: libFuzzer aborts).  Inputs containing ".." are
 * skipped: an @include "../../dev/zero" would only fuzz the host's file
 * system (the configuration file is trusted, written by the operator).
 *
 * Run it:  make fuzz  (in a build directory configured with --enable-fuzz),
 * or by hand:  tests/fuzz/fuzz_config -max_len=8192 \
 *	-dict=$srcdir/tests/fuzz/config.dict CORPUS_DIR
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * libconfig 1.5 (Debian 12) leaks strings its scanner made when the parse
 * fails ('"x" = 1;', 'listen "";'), with no cutover code involved: a plain
 * config_read_file + config_destroy leaks the same.  Not ours to find;
 * what the parser builds (settings) is still checked.
 */
const char *
__lsan_default_suppressions(void)
{
	return ("leak:strbuf_append\nleak:libconfig_yylex\n");
}

static char	fuzz_dir[1024];
static char	fuzz_path[sizeof(fuzz_dir) + 16];

static void
fuzz_cleanup(void)
{
	unlink(fuzz_path);
	rmdir(fuzz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = getenv("TMPDIR");

	log_set_level(LL_ERROR);
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/cutover-fuzz-config.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL) {
		perror("fuzz_config: mkdtemp");
		exit(1);
	}
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz.conf", fuzz_dir);
	atexit(fuzz_cleanup);
	return (0);
}

/*
 * Whether err is "FILE:LINE: message" (config.h), or "FILE: cannot read:
 * why".  FILE is this input's path or, in an included file, the name
 * given to @include (libconfig reports it so).
 */
static bool
fuzz_is_error(const char *err, size_t errlen)
{
	const char	*p;
	size_t		 digits;

	if (memchr(err, '\0', errlen) == NULL || err[0] == '\0' ||
	    (p = strchr(err, ':')) == NULL || p == err)
		return (false);
	if (strncmp(p, ": cannot read: ", 15) == 0)
		return (p[15] != '\0');
	digits = strspn(p + 1, "0123456789");
	return (digits > 0 && strncmp(p + 1 + digits, ": ", 2) == 0 &&
	    p[3 + digits] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*c;
	char		 err[1024];
	FILE		*fp;

	if (memmem(data, size, "..", 2) != NULL)
		return (0);
	if ((fp = fopen(fuzz_path, "w")) == NULL ||
	    fwrite(data, 1, size, fp) != size || fclose(fp) != 0) {
		perror("fuzz_config: writing the input");
		abort();
	}
	err[0] = '\0';
	c = config_load(fuzz_path, err, sizeof(err));
	unlink(fuzz_path);
	if (c != NULL)
		config_free(c);
	else if (!fuzz_is_error(err, sizeof(err))) {
		fprintf(stderr, "fuzz: config_load failed without a "
		    "\"FILE:LINE: message\": \"%.*s\"\n", (int)sizeof(err),
		    err);
		abort();
	}
	return (0);
}
