/* ICU behind cicu.h. ICU renames its functions per version (uspoof_open_72); calling them
 * through ICU's own macros here means Swift needs no version. */
#include "cicu.h"

#include <unicode/utypes.h>
#include <unicode/uspoof.h>

MisdirectSpoofChecker *misdirect_spoof_open(void) {
    UErrorCode status = U_ZERO_ERROR;
    USpoofChecker *checker = uspoof_open(&status);
    if (U_FAILURE(status)) return NULL;
    uspoof_setChecks(checker, USPOOF_CONFUSABLE | USPOOF_RESTRICTION_LEVEL, &status);
    uspoof_setRestrictionLevel(checker, USPOOF_HIGHLY_RESTRICTIVE);
    if (U_FAILURE(status)) { uspoof_close(checker); return NULL; }
    return (MisdirectSpoofChecker *)checker;
}

void misdirect_spoof_close(MisdirectSpoofChecker *checker) { uspoof_close((USpoofChecker *)checker); }

int32_t misdirect_spoof_skeleton(const MisdirectSpoofChecker *checker, const char *text, int32_t length, char *output, int32_t capacity) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t written = uspoof_getSkeletonUTF8((const USpoofChecker *)checker, 0, text, length, output, capacity, &status);
    return U_FAILURE(status) ? -1 : written;
}

int misdirect_spoof_is_mixed_script(const MisdirectSpoofChecker *checker, const char *text, int32_t length) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t result = uspoof_checkUTF8((const USpoofChecker *)checker, text, length, NULL, &status);
    if (U_FAILURE(status)) return 0;
    return (result & USPOOF_RESTRICTION_LEVEL) != 0;
}
