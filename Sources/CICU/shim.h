// The C surface of ICU used by misdirect-milter: confusable skeletons and mixed-script checks
// (uspoof, UTS #39). ICU renames its functions per version
// (uspoof_open_72); these wrappers call them through ICU's own macros so Swift needs no version.
#ifndef MISDIRECT_CICU_SHIM_H
#define MISDIRECT_CICU_SHIM_H
#include <stdint.h>
#include <unicode/utypes.h>
#include <unicode/uspoof.h>

/// A spoof checker for confusable skeletons and mixed-script detection, or NULL.
static inline USpoofChecker *misdirect_spoof_open(void) {
    UErrorCode status = U_ZERO_ERROR;
    USpoofChecker *checker = uspoof_open(&status);
    if (U_FAILURE(status)) return NULL;
    uspoof_setChecks(checker, USPOOF_CONFUSABLE | USPOOF_RESTRICTION_LEVEL, &status);
    uspoof_setRestrictionLevel(checker, USPOOF_HIGHLY_RESTRICTIVE);
    if (U_FAILURE(status)) { uspoof_close(checker); return NULL; }
    return checker;
}

static inline void misdirect_spoof_close(USpoofChecker *checker) { uspoof_close(checker); }

/// The UTS #39 skeleton of UTF-8 `text` into `output`; returns its length in bytes, or -1.
static inline int32_t misdirect_spoof_skeleton(const USpoofChecker *checker, const char *text, int32_t length, char *output, int32_t capacity) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t written = uspoof_getSkeletonUTF8(checker, 0, text, length, output, capacity, &status);
    return U_FAILURE(status) ? -1 : written;
}

/// True when UTF-8 `text` fails ICU's "highly restrictive" rule: it mixes scripts that are
/// not normally written together (Latin with Cyrillic or Greek, for example).
static inline int misdirect_spoof_is_mixed_script(const USpoofChecker *checker, const char *text, int32_t length) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t result = uspoof_checkUTF8(checker, text, length, NULL, &status);
    if (U_FAILURE(status)) return 0;
    return (result & USPOOF_RESTRICTION_LEVEL) != 0;
}

#endif
