/*
 * fake_cutover.c — the root context's admin operations, faked for the
 * admin tests and the admin fuzzer (fake_cutover.h says how).
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "fake_cutover.h"

struct cutover;

/*
 * The wrapped functions, one line each: renaming one (status_report to
 * another name, say) is its line here and its line of ADMIN_WRAP in
 * Makefile.am.
 */
#define FAKE_SWITCH	__wrap_cutover_switch
#define FAKE_SWITCH_GEN	__wrap_cutover_switch_gen
#define FAKE_CANCEL	__wrap_cutover_cancel
#define FAKE_ROLLBACK	__wrap_cutover_rollback
#define FAKE_SHIFT	__wrap_cutover_shift
#define FAKE_RELOAD	__wrap_cutover_reload
#define FAKE_MEMBER	__wrap_cutover_member
#define FAKE_HEALTHY	__wrap_cutover_healthy
#define FAKE_DRAINED	__wrap_cutover_drained
#define FAKE_STATUS	__wrap_status_report
#define FAKE_METRICS	__wrap_status_metrics

int	FAKE_SWITCH(struct cutover *, const char *, bool, const char *,
	    char *, size_t);
int	FAKE_SWITCH_GEN(struct cutover *, const char *, bool, long long,
	    uint64_t, int, const char *, char *, size_t);
int	FAKE_CANCEL(struct cutover *, const char *, char *, size_t);
int	FAKE_ROLLBACK(struct cutover *, bool, const char *, char *, size_t);
int	FAKE_SHIFT(struct cutover *, const char *, unsigned, bool,
	    const char *, char *, size_t);
int	FAKE_RELOAD(struct cutover *, char *, size_t);
int	FAKE_MEMBER(struct cutover *, const char *, const char *,
	    const char *, bool, char *, size_t);
int	FAKE_HEALTHY(struct cutover *, const char *, char *, size_t);
int	FAKE_DRAINED(struct cutover *, const char *, char *, size_t);
void	FAKE_STATUS(struct cutover *, struct evbuffer *, bool);
void	FAKE_METRICS(struct cutover *, struct evbuffer *);

struct fake_cutover	fake;

void
fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
}

void
fake_answer(struct fake_op *op, int rc, const char *msg)
{
	fake_script(op, 1, &rc, &msg);
}

void
fake_script(struct fake_op *op, int n, const int *rc,
    const char *const *msg)
{
	if (n > FAKE_ANSWERS)
		n = FAKE_ANSWERS;
	op->n = n;
	op->from = op->calls;
	for (int i = 0; i < n; i++) {
		op->rc[i] = rc[i];
		op->msg[i] = msg[i];
	}
}

int
fake_changes(void)
{
	return (fake.sw.calls + fake.sw_gen.calls + fake.cancel.calls +
	    fake.rollback.calls + fake.shift.calls + fake.reload.calls +
	    fake.member.calls);
}

/* Counts a call of op (named name) and writes its scripted answer. */
static int
fake_call(struct fake_op *op, const char *name, char *msg, size_t msglen)
{
	int	i = op->calls - op->from;

	op->calls++;
	if (op->n == 0) {
		if (fake.unexpected != NULL)
			fake.unexpected(name);
		snprintf(msg, msglen, "fake: no answer scripted for %s", name);
		return (-1);
	}
	if (i >= op->n)
		i = op->n - 1;
	snprintf(msg, msglen, "%s", op->msg[i] != NULL ? op->msg[i] : "");
	return (op->rc[i]);
}

static void
fake_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "(null)");
}

int
FAKE_SWITCH(struct cutover *cx, const char *pool, bool force, const char *by,
    char *msg, size_t msglen)
{
	fake_copy(fake.sw.pool, sizeof(fake.sw.pool), pool);
	fake_copy(fake.sw.by, sizeof(fake.sw.by), by);
	fake.sw.force = force;
	return (fake_call(&fake.sw, "switch", msg, msglen));
}

int
FAKE_SWITCH_GEN(struct cutover *cx, const char *pool, bool force,
    long long at_ms, uint64_t gen, int guard, const char *by, char *msg,
    size_t msglen)
{
	fake_copy(fake.sw_gen.pool, sizeof(fake.sw_gen.pool), pool);
	fake_copy(fake.sw_gen.by, sizeof(fake.sw_gen.by), by);
	fake.sw_gen.force = force;
	fake.sw_gen.at_ms = at_ms;
	fake.sw_gen.gen = gen;
	fake.sw_gen.guard = guard;
	return (fake_call(&fake.sw_gen, "switch_gen", msg, msglen));
}

int
FAKE_CANCEL(struct cutover *cx, const char *by, char *msg, size_t msglen)
{
	fake_copy(fake.cancel.by, sizeof(fake.cancel.by), by);
	return (fake_call(&fake.cancel, "cancel", msg, msglen));
}

int
FAKE_ROLLBACK(struct cutover *cx, bool force, const char *by, char *msg,
    size_t msglen)
{
	fake_copy(fake.rollback.by, sizeof(fake.rollback.by), by);
	fake.rollback.force = force;
	return (fake_call(&fake.rollback, "rollback", msg, msglen));
}

int
FAKE_SHIFT(struct cutover *cx, const char *pool, unsigned percent, bool force,
    const char *by, char *msg, size_t msglen)
{
	fake_copy(fake.shift.pool, sizeof(fake.shift.pool), pool);
	fake_copy(fake.shift.by, sizeof(fake.shift.by), by);
	fake.shift.percent = percent;
	fake.shift.force = force;
	return (fake_call(&fake.shift, "shift", msg, msglen));
}

int
FAKE_RELOAD(struct cutover *cx, char *msg, size_t msglen)
{
	return (fake_call(&fake.reload, "reload", msg, msglen));
}

int
FAKE_MEMBER(struct cutover *cx, const char *pool, const char *addr,
    const char *state, bool force, char *msg, size_t msglen)
{
	fake.member.force = force;
	fake_copy(fake.member.pool, sizeof(fake.member.pool), pool);
	fake_copy(fake.member.addr, sizeof(fake.member.addr), addr);
	fake_copy(fake.member.state, sizeof(fake.member.state), state);
	return (fake_call(&fake.member, "member", msg, msglen));
}

int
FAKE_HEALTHY(struct cutover *cx, const char *pool, char *msg, size_t msglen)
{
	fake_copy(fake.healthy.pool, sizeof(fake.healthy.pool), pool);
	return (fake_call(&fake.healthy, "healthy", msg, msglen));
}

int
FAKE_DRAINED(struct cutover *cx, const char *pool, char *msg, size_t msglen)
{
	fake_copy(fake.drained.pool, sizeof(fake.drained.pool), pool);
	return (fake_call(&fake.drained, "drained", msg, msglen));
}

void
FAKE_STATUS(struct cutover *cx, struct evbuffer *out, bool json)
{
	const char	*text = json ? fake.status_json : fake.status_text;

	fake.status.json = json;
	fake.status.calls++;
	if (text == NULL) {
		if (fake.unexpected != NULL)
			fake.unexpected(json ? "status json" : "status");
		return;
	}
	evbuffer_add(out, text, strlen(text));
}

void
FAKE_METRICS(struct cutover *cx, struct evbuffer *out)
{
	fake.metrics.calls++;
	if (fake.metrics_text == NULL) {
		if (fake.unexpected != NULL)
			fake.unexpected("metrics");
		return;
	}
	evbuffer_add(out, fake.metrics_text, strlen(fake.metrics_text));
}
