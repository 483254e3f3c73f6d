// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/bootclock.h"

#include <string.h>

void ksm_boot_clock_init(struct ksm_boot_clock *c, uint64_t boot_ns, uint64_t error_ns)
{
	memset(c, 0, sizeof(*c));
	c->epochs[0].boot_ns = boot_ns;
	c->n = 1;
	c->error_ns = error_ns;
}

/* Room for one more epoch: past the limit, the second oldest is merged
 * into the first. */
static void make_room(struct ksm_boot_clock *c)
{
	if (c->n < KSM_BOOT_EPOCHS)
		return;
	memmove(&c->epochs[1], &c->epochs[2], (c->n - 2) * sizeof(c->epochs[0]));
	c->n--;
}

void ksm_boot_clock_add(struct ksm_boot_clock *c, uint64_t from, uint64_t boot_ns)
{
	if (c->n && c->epochs[c->n - 1].from == from && c->epochs[c->n - 1].boot_ns == boot_ns)
		return; /* the last epoch recorded again */
	if (!from || !c->n) {
		ksm_boot_clock_init(c, boot_ns, 0);
		c->changes++;
		return;
	}
	while (c->n > 1 && c->epochs[c->n - 1].from >= from)
		c->n--;
	struct ksm_boot_epoch *last = &c->epochs[c->n - 1];
	if (last->boot_ns == boot_ns)
		return; /* already so (the same epochs recorded again) */
	make_room(c);
	c->epochs[c->n++] = (struct ksm_boot_epoch){ from, boot_ns };
	c->changes++;
}

static uint64_t distance(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

bool ksm_boot_clock_update(struct ksm_boot_clock *c, const struct ksm_boot_reading *r)
{
	if (!c->n) {
		ksm_boot_clock_init(c, r->boot_ns, r->error_ns);
		c->changes++;
		return true;
	}
	/* both values are within their errors of the kernel's: further apart
	 * than that, the kernel's moved */
	const struct ksm_boot_epoch *last = &c->epochs[c->n - 1];
	if (distance(r->boot_ns, last->boot_ns) <= r->error_ns + c->error_ns)
		return false;
	/* CLOCK_BOOTTIME never goes back; epochs stay in order whatever */
	uint64_t from = r->at > last->from ? r->at : last->from + 1;
	make_room(c);
	c->epochs[c->n++] = (struct ksm_boot_epoch){ from, r->boot_ns };
	c->error_ns = r->error_ns;
	c->changes++;
	return true;
}
