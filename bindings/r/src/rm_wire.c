/*
 * rm_wire.c: the byte layout of the readmitd wire protocol (little-endian integers and
 * float64, no padding). Byte-wise access keeps it correct on any host and alignment.
 */
#include <string.h>

#include "rm_internal.h"

void rm_put_u16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

void rm_put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

void rm_put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

uint16_t rm_get_u16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

uint32_t rm_get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

int32_t rm_get_i32(const unsigned char *p) {
    uint32_t u = rm_get_u32(p);
    int32_t v;
    memcpy(&v, &u, sizeof v); /* two's complement reinterpretation without UB */
    return v;
}

uint64_t rm_get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

int rm_host_is_little_endian(void) {
    const double one = 1.0; /* IEEE-754: 0x3FF0000000000000, the 0x3F byte is last when LE */
    unsigned char b[sizeof one];
    memcpy(b, &one, sizeof one);
    return b[7] == 0x3F;
}

void rm_copy_f64_le(void *dst, const void *src, size_t n) {
    if (n == 0) return;
    if (rm_host_is_little_endian()) {
        memcpy(dst, src, n * 8);
        return;
    }
    const unsigned char *s = src;
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 8; j++) d[i * 8 + (size_t)j] = s[i * 8 + (size_t)(7 - j)];
}

void rm_copy_i32_le(int32_t *dst, const void *src, size_t n) {
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) dst[i] = rm_get_i32(s + 4 * i);
}

void rm_build_request_header(unsigned char out[RM_REQ_HEADER_SIZE], uint8_t op, uint16_t flags,
                             uint64_t request_id) {
    out[0] = 'R';
    out[1] = 'D';
    out[2] = 'M';
    out[3] = 'T';
    out[4] = READMIT_PROTOCOL_VERSION;
    out[5] = op;
    rm_put_u16(out + 6, flags);
    rm_put_u64(out + 8, request_id);
}
