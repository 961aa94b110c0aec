/* search/config_keys.h: internal: the key table behind k2_config (one row per INI key). */
#ifndef K2_CONFIG_KEYS_H
#define K2_CONFIG_KEYS_H

#include <stddef.h>

#include "search/k2_config.h"

enum k2_ckind { K2_CK_DOUBLE, K2_CK_U32, K2_CK_U64, K2_CK_I32, K2_CK_BOOL, K2_CK_STR,
		K2_CK_OBJECTIVE, K2_CK_REGS };

struct k2_config_key {
	const char *section;
	const char *name;
	enum k2_ckind kind;
	size_t off;          /* offset in struct k2_config */
	double min, max;     /* numeric range, inclusive */
	const char *dflt;    /* default, in INI spelling */
	size_t size;         /* K2_CK_STR: buffer size */
	const char *help;
};

extern const struct k2_config_key k2_config_keys[];

#endif
