/*
 * chunked.c — a strict, incremental decoder of the chunked transfer
 * coding (RFC 9112 7.1); chunked.h says what it takes and why it exists.
 * Framing bytes go through a state machine one at a time; chunk data is
 * handed on in runs, as large as each buffer holds.
 */
#include "autoconf.h"

#include <string.h>

#include "chunked.h"

enum chunked_state {
	CH_SIZE0,	/* a chunk-size line: its first digit */
	CH_SIZE,	/* more digits */
	CH_BWS,		/* whitespace, before ";" */
	CH_NAME0,	/* after ";": whitespace, then a name */
	CH_NAME,	/* an extension's name */
	CH_NAME_BWS,	/* whitespace after it: "=" or ";" must follow */
	CH_VALUE0,	/* after "=": whitespace, then a value */
	CH_TOKEN,	/* a token value */
	CH_QUOTED,	/* a quoted-string value */
	CH_QPAIR,	/* the byte after a backslash in it */
	CH_QEND,	/* after its closing quote */
	CH_SIZE_LF,	/* the LF ending a chunk-size line */
	CH_DATA,
	CH_DATA_CR,	/* the CRLF after chunk data */
	CH_DATA_LF,
	CH_FIELD0,	/* a trailer line, or the empty line ending the body */
	CH_FIELD_NAME,
	CH_FIELD_OWS,	/* after the colon */
	CH_FIELD_VALUE,
	CH_FIELD_LF,
	CH_END_LF,	/* the last LF of the body */
	CH_DONE,
	CH_FAILED,
};

/* tchar (RFC 9110 5.6.2): a byte of a token. */
static const uint8_t	chunked_tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

static bool
is_ws(unsigned char c)
{
	return (c == ' ' || c == '\t');
}

/* field-vchar: VCHAR or obs-text. */
static bool
is_vchar(unsigned char c)
{
	return ((c > 0x20 && c < 0x7f) || c >= 0x80);
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

void
chunked_init(struct chunked *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->state = CH_SIZE0;
}

static ssize_t
chunked_fail(struct chunked *ch, const char *why)
{
	ch->state = CH_FAILED;
	ch->error = why;
	return (-1);
}

/* One byte of a chunk-size line; NULL, or why it is refused. */
static const char *
chunked_line_byte(struct chunked *ch, unsigned char c)
{
	const char	*bad = "invalid chunk extension";
	int		 d;

	if (++ch->line > CHUNKED_LINE_MAX)
		return ("chunk-size line too long");
	switch (ch->state) {
	case CH_SIZE0:
	case CH_SIZE:
		if ((d = hex_value(c)) >= 0) {
			if (ch->left > UINT64_MAX >> 4)
				return ("chunk size too large");
			ch->left = ch->left << 4 | (uint64_t)d;
			ch->state = CH_SIZE;
			return (NULL);
		}
		if (ch->state == CH_SIZE0)
			return ("invalid chunk size");
		bad = "invalid chunk size";
		break;
	case CH_BWS:
		/* "5 \r\n": whitespace only on the way to ";" */
		if (is_ws(c))
			return (NULL);
		if (c == ';') {
			ch->state = CH_NAME0;
			return (NULL);
		}
		return ("whitespace in a chunk-size line not followed by ;");
	case CH_NAME0:
		if (is_ws(c))
			return (NULL);
		if (chunked_tchar[c]) {
			ch->state = CH_NAME;
			return (NULL);
		}
		return (bad);
	case CH_NAME:
		if (chunked_tchar[c])
			return (NULL);
		break;
	case CH_NAME_BWS:
		if (is_ws(c))
			return (NULL);
		if (c == '=') {
			ch->state = CH_VALUE0;
			return (NULL);
		}
		if (c == ';') {
			ch->state = CH_NAME0;
			return (NULL);
		}
		return (bad);
	case CH_VALUE0:
		if (is_ws(c))
			return (NULL);
		if (c == '"')
			ch->state = CH_QUOTED;
		else if (chunked_tchar[c])
			ch->state = CH_TOKEN;
		else
			return (bad);
		return (NULL);
	case CH_TOKEN:
		if (chunked_tchar[c])
			return (NULL);
		break;
	case CH_QUOTED:
		/* qdtext: HTAB, SP, VCHAR but DQUOTE and "\", obs-text */
		if (c == '"')
			ch->state = CH_QEND;
		else if (c == '\\')
			ch->state = CH_QPAIR;
		else if (c != '\t' && !(c >= 0x20 && c != 0x7f))
			return (bad);
		return (NULL);
	case CH_QPAIR:
		if (c != '\t' && !(c >= 0x20 && c != 0x7f))
			return (bad);
		ch->state = CH_QUOTED;
		return (NULL);
	case CH_QEND:
		break;
	case CH_SIZE_LF:
		if (c != '\n')
			return ("CR not followed by LF in chunk framing");
		ch->line = 0;
		ch->state = ch->left > 0 ? CH_DATA : CH_FIELD0;
		return (NULL);
	}
	/* the end of a size, a name, a value: what may follow each */
	if (c == '\r')
		ch->state = CH_SIZE_LF;
	else if (c == ';')
		ch->state = CH_NAME0;
	else if (is_ws(c))
		ch->state = ch->state == CH_NAME ? CH_NAME_BWS : CH_BWS;
	else if (c == '=' && ch->state == CH_NAME)
		ch->state = CH_VALUE0;
	else
		return (bad);
	return (NULL);
}

/*
 * One byte of the trailer section; NULL, or why it is refused.  *mark is
 * where the name or value piece being read began in this buffer (NULL if
 * none): the piece is handed on when it ends, or at the buffer's end.
 */
static const char *
chunked_trailer_byte(struct chunked *ch, const char *at, const char **mark,
    const struct chunked_ops *ops, void *ctx, bool *op_failed)
{
	unsigned char	c = (unsigned char)*at;

	if (++ch->trailers > CHUNKED_TRAILERS_MAX)
		return ("trailer section too large");
	switch (ch->state) {
	case CH_FIELD0:
		if (c == '\r') {
			ch->state = CH_END_LF;
			return (NULL);
		}
		if (is_ws(c))
			return ("whitespace at the start of a trailer line "
			    "(obsolete line folding)");
		if (!chunked_tchar[c])
			return (c == '\n' ? "LF without CR in trailer fields" :
			    "invalid trailer field name");
		ch->state = CH_FIELD_NAME;
		*mark = at;
		return (NULL);
	case CH_FIELD_NAME:
		if (chunked_tchar[c])
			return (NULL);
		if (c != ':')
			return (is_ws(c) ? "whitespace in a trailer field "
			    "name" : "invalid trailer field name");
		ch->state = CH_FIELD_OWS;
		if (*mark != NULL && at > *mark && ops->field(ctx, *mark,
		    (size_t)(at - *mark), false) == -1)
			*op_failed = true;
		*mark = NULL;
		return (NULL);
	case CH_FIELD_OWS:
		if (is_ws(c))
			return (NULL);
		if (c == '\r') {
			ch->state = CH_FIELD_LF;
			return (NULL);
		}
		if (!is_vchar(c))
			break;
		ch->state = CH_FIELD_VALUE;
		*mark = at;
		return (NULL);
	case CH_FIELD_VALUE:
		if (is_vchar(c) || is_ws(c))
			return (NULL);
		if (c != '\r')
			break;
		ch->state = CH_FIELD_LF;
		if (*mark != NULL && at > *mark && ops->field(ctx, *mark,
		    (size_t)(at - *mark), true) == -1)
			*op_failed = true;
		*mark = NULL;
		return (NULL);
	case CH_FIELD_LF:
		if (c != '\n')
			return ("CR not followed by LF in trailer fields");
		ch->state = CH_FIELD0;
		if (ops->field_end(ctx) == -1)
			*op_failed = true;
		return (NULL);
	case CH_END_LF:
		if (c != '\n')
			return ("CR not followed by LF at the end of a chunked "
			    "body");
		ch->state = CH_DONE;
		ch->done = true;
		return (NULL);
	}
	return (c == '\n' ? "LF without CR in trailer fields" :
	    "control character in a trailer field value");
}

ssize_t
chunked_execute(struct chunked *ch, const struct chunked_ops *ops,
    void *ctx, const char *p, size_t len)
{
	const char	*at = p, *end = p + len, *mark = NULL, *why;
	bool		 op_failed = false;
	size_t		 n;

	if (ch->state == CH_FAILED)
		return (-1);
	if (ch->state == CH_FIELD_NAME || ch->state == CH_FIELD_VALUE)
		mark = at;	/* the piece goes on in this buffer */
	while (at < end && ch->state != CH_DONE) {
		switch (ch->state) {
		case CH_DATA:
			n = (size_t)(end - at);
			if (n > ch->left)
				n = (size_t)ch->left;
			if (ops->data(ctx, at, n) == -1)
				return (chunked_fail(ch, NULL));
			at += n;
			if ((ch->left -= n) == 0)
				ch->state = CH_DATA_CR;
			continue;
		case CH_DATA_CR:
			if (*at != '\r')
				return (chunked_fail(ch, "chunk data not "
				    "followed by CRLF"));
			ch->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (*at != '\n')
				return (chunked_fail(ch, "CR not followed by LF "
				    "in chunk framing"));
			ch->state = CH_SIZE0;
			break;
		case CH_FIELD0:
		case CH_FIELD_NAME:
		case CH_FIELD_OWS:
		case CH_FIELD_VALUE:
		case CH_FIELD_LF:
		case CH_END_LF:
			if ((why = chunked_trailer_byte(ch, at, &mark, ops, ctx,
			    &op_failed)) != NULL)
				return (chunked_fail(ch, why));
			if (op_failed)
				return (chunked_fail(ch, NULL));
			break;
		default:
			if ((why = chunked_line_byte(ch,
			    (unsigned char)*at)) != NULL)
				return (chunked_fail(ch, why));
			break;
		}
		at++;
	}
	/* a name or value going on in the next buffer: this piece now */
	if (mark != NULL && at > mark && ops->field(ctx, mark,
	    (size_t)(at - mark), ch->state == CH_FIELD_VALUE) == -1)
		return (chunked_fail(ch, NULL));
	return (at - p);
}
