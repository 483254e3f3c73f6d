// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "output.h"

#include <errno.h>
#include <unistd.h>

int ksm_output_flush(struct ksm_output *out)
{
	size_t done = 0;

	if (out->error)
		goto out;
	while (done < out->buf.len) {
		ssize_t n = write(out->fd, out->buf.data + done, out->buf.len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			out->error = errno;
			break;
		}
		done += (size_t)n;
	}
out:
	ksm_buf_reset(&out->buf);
	return -out->error;
}

int ksm_output_maybe_flush(struct ksm_output *out)
{
	if (out->buf.len < KSM_OUTPUT_FLUSH_BYTES)
		return -out->error;
	return ksm_output_flush(out);
}
