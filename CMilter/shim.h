/* The C surface of libmilter that Swift sees. Only the Milter target imports it.
 *
 * Do not include <stdbool.h> before mfapi.h: the header would then declare `bool` as
 * `_Bool`, while Debian's libmilter was built with `int`. */
#ifndef MISDIRECT_CMILTER_SHIM_H
#define MISDIRECT_CMILTER_SHIM_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <libmilter/mfapi.h>

/* smfi_setmlreply is variadic, which Swift cannot call. Up to eight lines are passed;
 * unused ones are NULL and end the list, as libmilter expects. */
static inline int cmilter_setmlreply(SMFICTX *ctx, const char *rcode, const char *xcode,
                                     const char *l1, const char *l2, const char *l3,
                                     const char *l4, const char *l5, const char *l6,
                                     const char *l7, const char *l8) {
    return smfi_setmlreply(ctx, rcode, xcode, l1, l2, l3, l4, l5, l6, l7, l8, (char *)NULL);
}

#endif
