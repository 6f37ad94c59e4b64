// The C surface of GNU libidn2 (IDNA2008): decoding punycode (xn--) labels.
#ifndef MISDIRECT_CIDN2_SHIM_H
#define MISDIRECT_CIDN2_SHIM_H
#include <stdlib.h>
#include <idn2.h>

/// Converts a domain (A-labels and/or U-labels, UTF-8) to its Unicode form; returns IDN2_OK
/// and a string to release with misdirect_idn2_free, or an idn2 error code.
static inline int misdirect_idn2_to_unicode(const char *input, char **output) {
    return idn2_to_unicode_8z8z(input, output, 0);
}

static inline void misdirect_idn2_free(char *pointer) { idn2_free(pointer); }
#endif
