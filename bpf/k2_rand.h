/* bpf/k2_rand.h: a small seeded PRNG (xoshiro256**) so every run is reproducible from --seed. */
#ifndef K2_RAND_H
#define K2_RAND_H

#include <stdint.h>

/* Caller-owned generator state; never global. */
struct k2_rng {
	uint64_t s[4];
};

static inline uint64_t k2_rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Seeds from one 64-bit value; different seeds give independent streams. */
static inline void k2_rng_seed(struct k2_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = k2_rng_splitmix(&seed);
}

static inline uint64_t k2_rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t k2_rng_next(struct k2_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = k2_rng_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = k2_rng_rotl(s[3], 45);
	return out;
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-32 for small n). */
static inline uint64_t k2_rng_below(struct k2_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)k2_rng_next(r) * n) >> 64);
}

/* Uniform double in [0, 1). */
static inline double k2_rng_unit(struct k2_rng *r)
{
	return (double)(k2_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
