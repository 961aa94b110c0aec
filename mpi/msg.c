/* mpi/msg.c: message bytes (little endian), non-blocking sends with an outbox, receives. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/cluster_int.h"

void k2_buf_free(struct k2_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void k2_buf_put(struct k2_buf *b, const void *src, size_t n)
{
	if (b->bad)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->bad = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

void k2_buf_u8(struct k2_buf *b, uint8_t v)
{
	k2_buf_put(b, &v, 1);
}

void k2_buf_u32(struct k2_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	k2_buf_put(b, x, 4);
}

void k2_buf_u64(struct k2_buf *b, uint64_t v)
{
	k2_buf_u32(b, (uint32_t)v);
	k2_buf_u32(b, (uint32_t)(v >> 32));
}

void k2_buf_f64(struct k2_buf *b, double v)
{
	uint64_t u;

	memcpy(&u, &v, 8);
	k2_buf_u64(b, u);
}

void k2_buf_str(struct k2_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	k2_buf_u32(b, (uint32_t)n);
	k2_buf_put(b, s, n);
}

/* Instructions field by field, so the bytes do not depend on the host's bitfield order. */
void k2_buf_insns(struct k2_buf *b, const struct bpf_insn *insns, uint32_t n)
{
	k2_buf_u32(b, n);
	for (uint32_t i = 0; i < n; i++) {
		k2_buf_u8(b, insns[i].code);
		k2_buf_u8(b, (uint8_t)(insns[i].dst_reg | insns[i].src_reg << 4));
		k2_buf_u32(b, (uint32_t)(uint16_t)insns[i].off);
		k2_buf_u32(b, (uint32_t)insns[i].imm);
	}
}

bool k2_buf_get(struct k2_buf *b, void *dst, size_t n)
{
	if (b->bad || n > b->len - b->at) {
		b->bad = true;
		if (dst && n)
			memset(dst, 0, n);
		return false;
	}
	if (n)
		memcpy(dst, b->p + b->at, n);
	b->at += n;
	return true;
}

const uint8_t *k2_buf_view(struct k2_buf *b, size_t n)
{
	const uint8_t *p;

	if (b->bad || n > b->len - b->at) {
		b->bad = true;
		return NULL;
	}
	p = b->p + b->at;
	b->at += n;
	return p;
}

uint8_t k2_buf_get_u8(struct k2_buf *b)
{
	uint8_t v;

	k2_buf_get(b, &v, 1);
	return v;
}

uint32_t k2_buf_get_u32(struct k2_buf *b)
{
	uint8_t x[4];

	k2_buf_get(b, x, 4);
	return x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

uint64_t k2_buf_get_u64(struct k2_buf *b)
{
	uint64_t lo = k2_buf_get_u32(b);

	return lo | (uint64_t)k2_buf_get_u32(b) << 32;
}

double k2_buf_get_f64(struct k2_buf *b)
{
	uint64_t u = k2_buf_get_u64(b);
	double v;

	memcpy(&v, &u, 8);
	return v;
}

void k2_buf_get_str(struct k2_buf *b, char *dst, size_t cap)
{
	uint32_t n = k2_buf_get_u32(b);
	const uint8_t *p = k2_buf_view(b, n);
	size_t k = n < cap - 1 ? n : cap - 1;

	if (!p)
		k = 0;
	if (k)
		memcpy(dst, p, k);
	dst[k] = 0;
}

struct bpf_insn *k2_buf_get_insns(struct k2_buf *b, uint32_t *n, uint32_t max)
{
	uint32_t m = k2_buf_get_u32(b);
	struct bpf_insn *in;

	*n = 0;
	if (b->bad || m > max || (size_t)m * 10 > b->len - b->at) {
		b->bad = true;
		return NULL;
	}
	in = calloc(m + 1, sizeof(*in));
	if (!in) {
		b->bad = true;
		return NULL;
	}
	for (uint32_t i = 0; i < m; i++) {
		uint8_t regs;

		in[i].code = k2_buf_get_u8(b);
		regs = k2_buf_get_u8(b);
		in[i].dst_reg = regs & 0xf;
		in[i].src_reg = regs >> 4;
		in[i].off = (int16_t)k2_buf_get_u32(b);
		in[i].imm = (int32_t)k2_buf_get_u32(b);
	}
	*n = m;
	return in;
}

uint64_t k2_hash64(const void *p, size_t n, uint64_t h)
{
	const uint8_t *c = p;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---- outbox ------------------------------------------------------------------------------ */

int k2_send(struct k2_outbox *o, MPI_Comm comm, int dest, int tag, struct k2_buf *b)
{
	struct k2_out *x;
	int rc;

	if (b->bad) {
		k2_buf_free(b);
		return -ENOMEM;
	}
	if (o->n == o->cap) {
		uint32_t cap = o->cap ? 2 * o->cap : 64;
		struct k2_out *e = realloc(o->e, cap * sizeof(*e));
		MPI_Request *r = e ? realloc(o->req, cap * sizeof(*r)) : NULL;
		int *d = r ? realloc(o->done, cap * sizeof(*d)) : NULL;

		if (e)
			o->e = e;
		if (r)
			o->req = r;
		if (!d) {
			k2_buf_free(b);
			return -ENOMEM;
		}
		o->done = d;
		o->cap = cap;
	}
	x = &o->e[o->n];
	x->buf = b->p ? b->p : malloc(1);
	x->dest = dest;
	rc = MPI_Isend(x->buf, (int)b->len, MPI_BYTE, dest, tag, comm, &o->req[o->n]);
	o->sent++;
	o->bytes += b->len;
	memset(b, 0, sizeof(*b));
	if (rc != MPI_SUCCESS) {
		free(x->buf);
		return -EIO;
	}
	o->n++;
	return 0;
}

static void remove_at(struct k2_outbox *o, uint32_t i)
{
	o->n--;
	o->e[i] = o->e[o->n];
	o->req[i] = o->req[o->n];
}

void k2_outbox_poll(struct k2_outbox *o)
{
	int nd = 0;

	if (!o->n)
		return;
	/* One call for all of them: an unfinished MPI_Test may yield the CPU (Open MPI when
	 * oversubscribed), and sends to a rank that stopped reading pile up; one test each
	 * made rank 0's loop take seconds on a loaded machine. */
	if (MPI_Testsome((int)o->n, o->req, &nd, o->done, MPI_STATUSES_IGNORE) != MPI_SUCCESS) {
		/* which one failed is in statuses not kept: test each (an error completes it) */
		for (uint32_t i = 0; i < o->n; i++) {
			int done = 0;

			if (o->req[i] != MPI_REQUEST_NULL &&
			    MPI_Test(&o->req[i], &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
				o->req[i] = MPI_REQUEST_NULL;
		}
	}
	for (uint32_t i = 0; i < o->n;) {
		if (o->req[i] == MPI_REQUEST_NULL) {
			free(o->e[i].buf);
			remove_at(o, i);
		} else {
			i++;
		}
	}
}

void k2_outbox_forget(struct k2_outbox *o, int dest)
{
	for (uint32_t i = 0; i < o->n;) {
		if (o->e[i].dest == dest) {
			/* The request may never complete; MPI may still read the buffer. */
			MPI_Request_free(&o->req[i]);
			remove_at(o, i);
		} else {
			i++;
		}
	}
}

void k2_outbox_drain(struct k2_outbox *o, double seconds)
{
	double end = MPI_Wtime() + seconds;

	k2_outbox_poll(o);
	while (o->n && MPI_Wtime() < end) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
		k2_outbox_poll(o);
	}
	while (o->n) {
		MPI_Request_free(&o->req[o->n - 1]);
		o->n--;
	}
}

void k2_outbox_free(struct k2_outbox *o)
{
	k2_outbox_poll(o);
	free(o->req);
	free(o->done);
	free(o->e);
	memset(o, 0, sizeof(*o));
}

int k2_recv(MPI_Comm comm, int *src, int *tag, struct k2_buf *b)
{
	MPI_Message m;
	MPI_Status st;
	int flag = 0, count;

	if (MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &m, &st) != MPI_SUCCESS)
		return -EIO;
	if (!flag)
		return 0;
	MPI_Get_count(&st, MPI_BYTE, &count);
	b->len = b->at = 0;
	b->bad = false;
	if ((size_t)count > b->cap) {
		uint8_t *p = realloc(b->p, (size_t)count);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = (size_t)count;
	}
	if (MPI_Mrecv(b->p, count, MPI_BYTE, &m, &st) != MPI_SUCCESS)
		return -EIO;
	b->len = (size_t)count;
	*src = st.MPI_SOURCE;
	*tag = st.MPI_TAG;
	return 1;
}
