// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cheapest program to exec: statically linked, no dynamic loader, it
 * exits 0 at once. The "exec-fast" storm of bench/bench.py runs it to reach
 * exec rates that /bin/true (dynamically linked) cannot on a small machine.
 */
int main(void)
{
	return 0;
}
