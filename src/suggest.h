/*
 * suggest.h — "did you mean": the closest of a list of names to a word
 * that matched none of them, for the error messages of the configuration,
 * the admin commands and cutoverctl.
 *
 * A leaf (L0): pure functions, no state.
 */
#ifndef CUTOVER_SUGGEST_H
#define CUTOVER_SUGGEST_H

#include <stddef.h>

/*
 * The name among the n in names that is closest to word, by edit distance
 * (insertions, deletions, substitutions and swaps of two neighbours, case
 * ignored), when it is close enough to be what was meant: at most 1 edit
 * for words of up to 4 characters, 2 up to 8, 3 beyond.  NULL when none
 * is (or word is empty).  Ties go to the first in names.
 */
const char	*suggest(const char *word, const char *const *names, size_t n);

/*
 * Appends " (did you mean 'NAME'?)" to the string in buf (size len) when
 * suggest() finds a name, truncating as snprintf does; returns buf.
 */
char		*suggest_append(char *buf, size_t len, const char *word,
		    const char *const *names, size_t n);

#endif
