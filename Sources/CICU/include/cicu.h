/* The C surface of ICU used by misdirect-milter: confusable skeletons and mixed-script checks
 * (uspoof, UTS #39).
 *
 * This header names no ICU type on purpose: ICU's headers stay inside cicu.c. Foundation on
 * Linux carries its own copy of ICU's headers (module _FoundationICU); a module that exposed
 * the system's ICU headers next to it made clang stop, now and then, on fresh builds, with
 * "'UProperty' has different definitions in different modules". */
#ifndef MISDIRECT_CICU_H
#define MISDIRECT_CICU_H

#include <stdint.h>

/// ICU's USpoofChecker, opaque.
typedef struct MisdirectSpoofChecker MisdirectSpoofChecker;

/// A spoof checker for confusable skeletons and mixed-script detection, or NULL.
MisdirectSpoofChecker *misdirect_spoof_open(void);

void misdirect_spoof_close(MisdirectSpoofChecker *checker);

/// The UTS #39 skeleton of UTF-8 `text` into `output`; returns its length in bytes, or -1.
int32_t misdirect_spoof_skeleton(const MisdirectSpoofChecker *checker, const char *text, int32_t length, char *output, int32_t capacity);

/// True when UTF-8 `text` fails ICU's "highly restrictive" rule: it mixes scripts that are
/// not normally written together (Latin with Cyrillic or Greek, for example).
int misdirect_spoof_is_mixed_script(const MisdirectSpoofChecker *checker, const char *text, int32_t length);

#endif
