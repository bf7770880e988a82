/*
 * config_scan.c — the pass over a configuration file's text before
 * libconfig 1.5 reads it (config_scan.h says why).
 *
 * The scan follows libconfig's grammar only as far as it must: a setting
 * is a name followed by '=' or ':'; '{' opens a group (whose names must
 * be unique), '[' and '(' a list (whose elements are counted, so paths
 * read "members[2]"); comments and strings are skipped whole.  It never
 * reports a syntax error of its own: a file libconfig refuses gets
 * libconfig's message, with the scan's duplicate, when libconfig's error
 * is one, named by its full path.
 */
#include "autoconf.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_scan.h"

#define SCAN_DEPTH_MAX	32	/* levels kept; deeper ones are counted */

struct scan_name {
	const char	*p;		/* in a text the scan keeps */
	size_t		 len;
	unsigned	 seq;		/* reading order */
	unsigned	 line;
	const char	*file;
};

struct scan_level {
	const char	*name;		/* of "name = {" or "name = (", or NULL */
	size_t		 len;
	int		 elem;		/* its index in the parent list, or -1 */
	int		 index;		/* a list's element now; -1: a group */
	size_t		 first;		/* its first entry in names */
};

struct scan {
	struct config_scan	*sc;
	const char		*incdir;
	config_scan_read_fn	 read;
	char			*err;
	size_t			 errlen;
	struct scan_name	*names;		/* of the open groups */
	size_t			 nnames, cap;
	struct scan_level	 stack[SCAN_DEPTH_MAX];
	int			 depth;		/* levels open, the root's too */
	int			 lost;		/* open past SCAN_DEPTH_MAX */
	unsigned		 seq, dup_seq;
	size_t			 nfiles;	/* included, in all */
	size_t			 nbytes;	/* read, in all */
	char			**keep;		/* texts and names to free */
	size_t			 nkeep, keepcap;
	const char		*word;		/* a name not yet followed */
	size_t			 wordlen;
	const char		*setting;	/* the name before '=' or ':' */
	size_t			 settinglen;
	bool			 assigned;	/* the last token was '=' */
};

bool
config_scan_literal_wide(const char *p, size_t len)
{
	unsigned long long	 v = 0, base = 10, d;
	size_t			 i = 0;
	bool			 neg = false;

	if (len > 0 && (p[0] == '+' || p[0] == '-'))
		neg = p[i++] == '-';
	if (len - i > 2 && p[i] == '0' && (p[i + 1] == 'x' || p[i + 1] == 'X')) {
		base = 16;
		i += 2;
	}
	if (i >= len || p[len - 1] == 'L')
		return (false);		/* nothing, or a 64-bit literal */
	for (; i < len; i++) {
		if (isdigit((unsigned char)p[i]))
			d = (unsigned long long)(p[i] - '0');
		else if (base == 16 && isxdigit((unsigned char)p[i]))
			d = (unsigned long long)(tolower((unsigned char)p[i]) -
			    'a' + 10);
		else
			return (false);	/* a float, or not a number at all */
		if (v > (ULLONG_MAX - d) / base)
			return (true);
		v = v * base + d;
	}
	/* libconfig reads a hex literal as unsigned and then as an int */
	if (neg && base == 10)
		return (v > (unsigned long long)INT_MAX + 1);
	return (v > INT_MAX);
}

/* Keeps p (a text or a file name) until the scan ends; -1 when out of
 * memory (p is freed). */
static int
scan_keep(struct scan *s, char *p)
{
	char	**nk;
	size_t	  cap;

	if (s->nkeep == s->keepcap) {
		cap = s->keepcap > 0 ? s->keepcap * 2 : 8;
		if ((nk = realloc(s->keep, cap * sizeof(*nk))) == NULL) {
			free(p);
			return (-1);
		}
		s->keep = nk;
		s->keepcap = cap;
	}
	s->keep[s->nkeep++] = p;
	return (0);
}

/* Appends to buf (len bytes, n used) what fmt says; returns the new n,
 * at most len - 1. */
static size_t
scan_put(char *buf, size_t len, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t
scan_put(char *buf, size_t len, size_t n, const char *fmt, ...)
{
	va_list	ap;
	int	w;

	if (n >= len - 1)
		return (n);
	va_start(ap, fmt);
	w = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (w < 0)
		return (n);
	return ((size_t)w >= len - n ? len - 1 : n + (size_t)w);
}

/* The path of the innermost open level: "pools.blue.members". */
static size_t
scan_path(const struct scan *s, char *buf, size_t len)
{
	const struct scan_level	*l;
	size_t			 n = 0;

	buf[0] = '\0';
	for (int i = 1; i < s->depth; i++) {
		l = &s->stack[i];
		if (l->elem >= 0)
			n = scan_put(buf, len, n, "[%d]", l->elem);
		else if (l->name != NULL)
			n = scan_put(buf, len, n, "%s%.*s", n > 0 ? "." : "",
			    (int)l->len, l->name);
	}
	return (n);
}

/* The path of the value being read: a list's element or a setting. */
static void
scan_value_path(const struct scan *s, char *buf, size_t len)
{
	const struct scan_level	*top = &s->stack[s->depth - 1];
	size_t			 n = scan_path(s, buf, len);

	if (s->lost > 0)
		return;
	if (top->index >= 0)
		scan_put(buf, len, n, "[%d]", top->index);
	else if (s->assigned && s->setting != NULL)
		scan_put(buf, len, n, "%s%.*s", n > 0 ? "." : "",
		    (int)s->settinglen, s->setting);
}

static int
scan_name_cmp(const void *a, const void *b)
{
	const struct scan_name	*x = a, *y = b;
	size_t			 n = x->len < y->len ? x->len : y->len;
	int			 c = memcmp(x->p, y->p, n);

	if (c != 0)
		return (c);
	if (x->len != y->len)
		return (x->len < y->len ? -1 : 1);
	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* The innermost group closes: a name set twice in it is a duplicate, and
 * the first duplicate in reading order is the one reported. */
static void
scan_close_group(struct scan *s)
{
	struct config_scan	*sc = s->sc;
	struct scan_level	*l = &s->stack[s->depth - 1];
	struct scan_name	*v, *a, *b;
	size_t			 n = s->nnames - l->first, k;
	char			 path[CONFIG_SCAN_PATH_MAX];

	if (n < 2) {		/* nothing to compare; names may be NULL */
		s->nnames = l->first;
		return;
	}
	v = s->names + l->first;
	qsort(v, n, sizeof(*v), scan_name_cmp);
	for (size_t i = 1; i < n; i++) {
		a = &v[i - 1];
		b = &v[i];
		if (a->len != b->len || memcmp(a->p, b->p, a->len) != 0 ||
		    b->seq >= s->dup_seq)
			continue;
		s->dup_seq = b->seq;
		k = scan_path(s, path, sizeof(path));
		scan_put(path, sizeof(path), k, "%s%.*s", k > 0 ? "." : "",
		    (int)b->len, b->p);
		k = scan_put(sc->dup, sizeof(sc->dup), 0, "%s:%u: %s: "
		    "duplicate setting name (first set ", b->file, b->line,
		    path);
		if (a->file == b->file)
			scan_put(sc->dup, sizeof(sc->dup), k, "on line %u)",
			    a->line);
		else
			scan_put(sc->dup, sizeof(sc->dup), k, "at %s:%u)",
			    a->file, a->line);
	}
	s->nnames = l->first;
}

/* A setting name in the innermost group; -1 on error (written). */
static int
scan_add_name(struct scan *s, const char *file, unsigned line)
{
	struct scan_name	*nv;
	size_t			 cap, k;
	char			 path[CONFIG_SCAN_PATH_MAX];

	s->setting = s->word;
	s->settinglen = s->wordlen;
	if (s->lost > 0 || s->stack[s->depth - 1].index >= 0)
		return (0);	/* too deep to follow, or not in a group */
	/* libconfig looks for a duplicate through the whole group at each
	 * setting: 40,000 names take it 40 s */
	if (s->nnames - s->stack[s->depth - 1].first >= CONFIG_SCAN_GROUP_MAX) {
		k = scan_path(s, path, sizeof(path));
		snprintf(s->err, s->errlen, "%s:%u: %s: more than %d settings "
		    "in one group", file, line, k > 0 ? path : "(top level)",
		    CONFIG_SCAN_GROUP_MAX);
		return (-1);
	}
	if (s->nnames == s->cap) {
		cap = s->cap > 0 ? s->cap * 2 : 64;
		if ((nv = realloc(s->names, cap * sizeof(*nv))) == NULL) {
			snprintf(s->err, s->errlen, "%s:%u: out of memory",
			    file, line);
			return (-1);
		}
		s->names = nv;
		s->cap = cap;
	}
	s->names[s->nnames++] = (struct scan_name){ s->word, s->wordlen,
	    s->seq++, line, file };
	return (0);
}

static void
scan_open(struct scan *s, char ch)
{
	struct scan_level	*parent = &s->stack[s->depth - 1];

	if (s->lost > 0 || s->depth == SCAN_DEPTH_MAX) {
		s->lost++;
		return;
	}
	s->stack[s->depth++] = (struct scan_level){
		.name = s->assigned ? s->setting : NULL,
		.len = s->assigned ? s->settinglen : 0,
		.elem = parent->index,
		.index = ch == '{' ? -1 : 0,
		.first = s->nnames,
	};
}

static void
scan_close(struct scan *s)
{
	if (s->lost > 0) {
		s->lost--;
		return;
	}
	if (s->depth <= 1)
		return;		/* unbalanced: libconfig will say so */
	if (s->stack[s->depth - 1].index < 0)
		scan_close_group(s);
	s->depth--;
}

/* An integer literal at p..end; notes it when libconfig would wrap it. */
static const char *
scan_number(struct scan *s, const char *p, const char *end,
    const char *file, unsigned line)
{
	struct config_scan	*sc = s->sc;
	struct config_scan_wide	*w;
	const char		*q = p;
	bool			 hex;

	if (q < end && (*q == '+' || *q == '-'))
		q++;
	hex = end - q > 1 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
	for (; q < end; q++)
		if (!isalnum((unsigned char)*q) && *q != '.' &&
		    !((*q == '+' || *q == '-') && !hex &&
		    (q[-1] == 'e' || q[-1] == 'E')))
			break;
	if (!config_scan_literal_wide(p, (size_t)(q - p)))
		return (q);
	if (sc->nwide++ < CONFIG_SCAN_WIDE_MAX) {
		w = &sc->wide[sc->nwide - 1];
		scan_value_path(s, w->path, sizeof(w->path));
		snprintf(w->lit, sizeof(w->lit), "%.*s", (int)(q - p), p);
		snprintf(w->where, sizeof(w->where), "%s:%u", file, line);
		w->used = false;
	}
	return (q);
}

static int	scan_text(struct scan *, const char *, const char *, size_t,
		    int);

/*
 * An @include line at p (its first non-blank), as libconfig 1.5 reads it:
 * the file is read now, in place.  *pp is moved past the name; 1 when p
 * holds no @include, 0 when it was read, -1 on error (written).
 */
static int
scan_include(struct scan *s, const char **pp, const char *end,
    const char *file, unsigned line, int depth)
{
	const char	*q = *pp, *eol;
	char		*path = NULL, *text, why[512];
	size_t		 n, len;
	int		 w;

	if (end - q < 8 || memcmp(q, "@include", 8) != 0)
		return (1);
	for (q += 8; q < end && *q != '\n' && isspace((unsigned char)*q); q++)
		;
	if (q == end || *q != '"')
		return (1);
	q++;
	eol = memchr(q, '\n', (size_t)(end - q));
	n = strcspn(q, "\"\n");
	if (eol != NULL && n > (size_t)(eol - q))
		n = (size_t)(eol - q);
	if (depth >= CONFIG_SCAN_INCLUDE_MAX) {
		snprintf(s->err, s->errlen, "%s:%u: @include: nested deeper "
		    "than %d files", file, line, CONFIG_SCAN_INCLUDE_MAX);
		return (-1);
	}
	if (++s->nfiles > CONFIG_SCAN_FILES_MAX) {
		snprintf(s->err, s->errlen, "%s:%u: @include: more than %d "
		    "files included in all", file, line,
		    CONFIG_SCAN_FILES_MAX);
		return (-1);
	}
	if ((w = asprintf(&path, "%s/%.*s", s->incdir, (int)n, q)) == -1 ||
	    scan_keep(s, path) == -1) {
		snprintf(s->err, s->errlen, "%s:%u: out of memory", file,
		    line);
		return (-1);
	}
	if (s->read(path, &text, &len, why, sizeof(why)) == -1) {
		snprintf(s->err, s->errlen, "%s:%u: @include: %s", file, line,
		    why);
		return (-1);
	}
	if (scan_keep(s, text) == -1) {
		snprintf(s->err, s->errlen, "%s: out of memory", path);
		return (-1);
	}
	if ((s->nbytes += len) > CONFIG_SCAN_BYTES_MAX) {
		snprintf(s->err, s->errlen, "%s:%u: @include: more than %d "
		    "bytes read in all", file, line, CONFIG_SCAN_BYTES_MAX);
		return (-1);
	}
	*pp = q + n + (q[n] == '"');
	return (scan_text(s, path, text, len, depth + 1));
}

/* libconfig 1.5 takes the end of a file inside a string or a comment for
 * the end of the configuration, and ignores what follows unread. */
static int
scan_unterminated(struct scan *s, const char *file, unsigned line,
    const char *what)
{
	snprintf(s->err, s->errlen, "%s:%u: unterminated %s: it runs to the "
	    "end of the file", file, line, what);
	return (-1);
}

/* Scans one file's text; an @include scans the file it names in place. */
static int
scan_text(struct scan *s, const char *file, const char *text, size_t len,
    int depth)
{
	const char	*p = text, *end = text + len, *q;
	unsigned	 line = 1, start;
	bool		 bol = true;
	int		 rc;

	if ((q = memchr(text, '\0', len)) != NULL) {
		for (p = text; p < q; p++)
			line += *p == '\n';
		snprintf(s->err, s->errlen, "%s:%u: NUL byte in the file",
		    file, line);
		return (-1);
	}
	while (p < end) {
		if (bol) {
			bol = false;
			for (q = p; q < end && *q != '\n' &&
			    isspace((unsigned char)*q); q++)
				;
			if ((rc = scan_include(s, &q, end, file, line,
			    depth)) == -1)
				return (-1);
			if (rc == 0) {
				p = q;
				continue;
			}
		}
		if (*p == '\n') {
			line++;
			bol = true;
			p++;
		} else if (*p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\f' || *p == '\v') {
			p++;
		} else if (*p == '#' || (*p == '/' && end - p > 1 &&
		    p[1] == '/')) {
			while (p < end && *p != '\n')
				p++;
		} else if (*p == '/' && end - p > 1 && p[1] == '*') {
			start = line;
			for (p += 2; p < end && !(*p == '*' && end - p > 1 &&
			    p[1] == '/'); p++)
				line += *p == '\n';
			if (p == end)
				return (scan_unterminated(s, file, start,
				    "comment (/* without */)"));
			p += 2;
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			for (q = p + 1; q < end && (isalnum((unsigned char)*q) ||
			    *q == '_' || *q == '-' || *q == '*'); q++)
				;
			s->word = p;
			s->wordlen = (size_t)(q - p);
			s->assigned = false;
			p = q;
		} else if (isdigit((unsigned char)*p) || ((*p == '+' ||
		    *p == '-' || *p == '.') && end - p > 1 &&
		    (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
			p = scan_number(s, p, end, file, line);
			s->word = NULL;
			s->assigned = false;
		} else {
			/* a significant character: it settles the word */
			if ((*p == '=' || *p == ':') && s->word != NULL) {
				if (scan_add_name(s, file, line) == -1)
					return (-1);
				s->assigned = true;
			} else if (*p == '{' || *p == '[' || *p == '(') {
				scan_open(s, *p);
				s->assigned = false;
			} else {
				if (*p == '}' || *p == ']' || *p == ')')
					scan_close(s);
				else if (*p == ',' && s->lost == 0 &&
				    s->stack[s->depth - 1].index >= 0)
					s->stack[s->depth - 1].index++;
				else if (*p == '"') {
					/* a string: its marks are text */
					start = line;
					for (p++; p < end && *p != '"'; p++)
						if (*p == '\\' && end - p > 1)
							line += *++p == '\n';
						else
							line += *p == '\n';
					if (p == end)
						return (scan_unterminated(s,
						    file, start, "string"));
				}
				s->assigned = false;
			}
			s->word = NULL;
			if (p < end)
				p++;
		}
	}
	return (0);
}

int
config_scan(struct config_scan *sc, const char *name, const char *text,
    size_t len, const char *incdir, config_scan_read_fn read, char *err,
    size_t errlen)
{
	struct scan	s = {
		.sc = sc, .incdir = incdir, .read = read, .err = err,
		.errlen = errlen, .depth = 1, .dup_seq = UINT_MAX,
	};
	int		rc;

	memset(sc, 0, sizeof(*sc));
	s.stack[0] = (struct scan_level){ .elem = -1, .index = -1 };
	rc = scan_text(&s, name, text, len, 0);
	if (rc == 0) {
		/* the groups left open, innermost first, then the root */
		s.lost = 0;
		while (s.depth > 1)
			scan_close(&s);
		scan_close_group(&s);
	}
	free(s.names);
	for (size_t i = 0; i < s.nkeep; i++)
		free(s.keep[i]);
	free(s.keep);
	return (rc);
}
