/* Test-data capture aid, not part of any build: an LD_PRELOAD shim that
 * answers SG_IO on any file descriptor with canned bytes, so the real
 * sg_persist can be run offline (sg_persist 0.67 in sg3_utils 1.46 has no
 * --inhex option). See capture.sh for how the expected outputs here were
 * produced.
 *
 * Environment:
 *   FAKE_INQ      file with the standard INQUIRY response (36 bytes)
 *   FAKE_PRIN     file with the PERSISTENT RESERVE IN response
 *   FAKE_STATUS   SCSI status to return for PR IN/OUT, hex (default 0)
 *   FAKE_SENSE    file with sense bytes returned with FAKE_STATUS=2
 *   FAKE_PROUT    file to which the PR OUT parameter list is written
 *   FAKE_CDB      file to which the PR IN/OUT CDB is written
 *
 * Build: gcc -shared -fPIC -o fake_sgio.so fake_sgio.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <scsi/sg.h>

static size_t slurp(const char *env, unsigned char *buf, size_t max)
{
    const char *fn = getenv(env);
    FILE *fp;
    size_t n;

    if (!fn || !(fp = fopen(fn, "rb")))
        return 0;
    n = fread(buf, 1, max, fp);
    fclose(fp);
    return n;
}

int ioctl(int fd, unsigned long req, ...)
{
    static int (*real)(int, unsigned long, ...);
    va_list ap;
    void *arg;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (req == SG_IO) {
        sg_io_hdr_t *h = arg;
        unsigned char *cdb = h->cmdp;
        unsigned char buf[65536];
        size_t n = 0;
        const char *st = getenv("FAKE_STATUS");
        int status = st ? (int)strtol(st, NULL, 16) : 0;

        h->status = 0;
        h->masked_status = 0;
        h->host_status = 0;
        h->driver_status = 0;
        h->sb_len_wr = 0;
        h->resid = 0;
        h->info = 0;
        h->duration = 1;
        if (cdb[0] == 0x12) {
            n = slurp("FAKE_INQ", buf, sizeof(buf));
        } else if (cdb[0] == 0x5e || cdb[0] == 0x5f) {
            if (getenv("FAKE_CDB")) {
                FILE *fp = fopen(getenv("FAKE_CDB"), "wb");
                if (fp) {
                    fwrite(cdb, 1, h->cmd_len, fp);
                    fclose(fp);
                }
            }
            if (cdb[0] == 0x5e)
                n = slurp("FAKE_PRIN", buf, sizeof(buf));
            else if (getenv("FAKE_PROUT")) {
                FILE *fp = fopen(getenv("FAKE_PROUT"), "wb");
                if (fp) {
                    fwrite(h->dxferp, 1, h->dxfer_len, fp);
                    fclose(fp);
                }
            }
            if (status) {
                h->status = status;
                h->masked_status = (status >> 1) & 0x7f;
                h->info = 1;
                if (status == 2) {
                    unsigned char sb[252];
                    size_t sn = slurp("FAKE_SENSE", sb, sizeof(sb));
                    if (sn > h->mx_sb_len)
                        sn = h->mx_sb_len;
                    memcpy(h->sbp, sb, sn);
                    h->sb_len_wr = sn;
                    h->driver_status = 0x08;
                }
                n = 0;
            }
        }
        if (h->dxfer_direction == SG_DXFER_FROM_DEV) {
            if (n > h->dxfer_len)
                n = h->dxfer_len;
            memcpy(h->dxferp, buf, n);
            h->resid = h->dxfer_len - n;
        }
        return 0;
    }
    if (!real)
        real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
    return real(fd, req, arg);
}
