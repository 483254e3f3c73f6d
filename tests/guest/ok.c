// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A program that does nothing, for exec tests in a guest. */
int main(void)
{
	return 0;
}
