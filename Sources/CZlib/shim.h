/* zlib's C surface for Swift. Only the executable's gzip reader imports it.
 *
 * inflateInit2 is a macro over inflateInit2_ (it passes the header's version and the stream
 * size so the library can check them), which Swift cannot call: a static inline wrapper does. */
#ifndef MISDIRECT_CZLIB_SHIM_H
#define MISDIRECT_CZLIB_SHIM_H

#include <zlib.h>

static inline int czlib_inflate_init_gzip(z_stream *stream) {
    /* 15 + 32: the largest window, and detect a gzip (or zlib) header automatically. */
    return inflateInit2(stream, 15 + 32);
}

#endif
