/*
 * The smallest useful libmilter milter: adds one header at end of message and accepts.
 * It is the floor any libmilter milter can reach, measured beside misdirect-milter by run.py.
 * It asks for the same stages as misdirect-milter's hot path (MAIL, RCPT, headers; no body)
 * so the comparison is about what each does per stage, not about the protocol.
 * With a second argument `noreply` it also asks the MTA not to wait for an answer to MAIL and
 * headers (SMFIP_NR_MAIL, SMFIP_NR_HDR), as misdirect-milter does on unix sockets: the floor
 * for a milter that uses that part of the protocol too.
 *
 *   cc -O2 -o floor-milter floor-milter.c -lmilter -lpthread
 *   ./floor-milter unix:/path/floor.sock [noreply]      (or inet:PORT@127.0.0.1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <libmilter/mfapi.h>

static int no_reply; /* SMFIP_NR_MAIL and SMFIP_NR_HDR were asked for */

static sfsistat floor_envfrom(SMFICTX *ctx, char **argv) {
    return no_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}
static sfsistat floor_envrcpt(SMFICTX *ctx, char **argv) { return SMFIS_CONTINUE; }
static sfsistat floor_header(SMFICTX *ctx, char *name, char *value) {
    return no_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat floor_eom(SMFICTX *ctx) {
    smfi_addheader(ctx, "X-Floor", "checked");
    return SMFIS_CONTINUE;
}

static sfsistat floor_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                                unsigned long f2, unsigned long f3, unsigned long *pf0,
                                unsigned long *pf1, unsigned long *pf2, unsigned long *pf3) {
    *pf0 = SMFIF_ADDHDRS & f0;
    unsigned long nr = SMFIP_NR_MAIL | SMFIP_NR_HDR;
    if (no_reply && (f1 & nr) != nr) return SMFIS_REJECT; /* the MTA must offer both */
    *pf1 = (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN |
            SMFIP_NODATA | (no_reply ? nr : 0)) & f1;
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv) {
    struct smfiDesc desc;
    memset(&desc, 0, sizeof desc);
    desc.xxfi_name = "floor";
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_ADDHDRS;
    desc.xxfi_envfrom = floor_envfrom;
    desc.xxfi_envrcpt = floor_envrcpt;
    desc.xxfi_header = floor_header;
    desc.xxfi_eom = floor_eom;
    desc.xxfi_negotiate = floor_negotiate;
    if (argc != 2 && !(argc == 3 && strcmp(argv[2], "noreply") == 0)) {
        fprintf(stderr, "usage: %s SOCKET [noreply]\n", argv[0]);
        return 64;
    }
    no_reply = argc == 3;
    if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(desc) == MI_FAILURE ||
        smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "floor-milter: cannot listen on %s\n", argv[1]);
        return 69;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 70;
}
