/* Gzip files for readmit_read_records, read as the CLI reads them (CompressedFile.swift):
 * every member decompressed in turn, bytes after the last member that start no member
 * ignored, and a truncated or corrupt stream an error. R's gzfile() cannot be used: it returns
 * what it could inflate of a truncated file without a word (a cut download read as fewer
 * rows), and memDecompress(type = "gzip") never returns on one (R 4.2). zlib is what R itself
 * links; written here because R offers no checked gunzip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <Rinternals.h>
#include "rreadmit.h"

/* The bytes of `input` (a raw vector starting with the gzip magic), decompressed: a raw
 * vector, or a string saying why not, "corrupt" (invalid or truncated), "too_large" (over
 * `limit` bytes) or "out_of_memory"; the caller raises the classed condition. */
SEXP rreadmit_gunzip(SEXP input, SEXP limit) {
    if (TYPEOF(input) != RAWSXP || TYPEOF(limit) != REALSXP || XLENGTH(limit) != 1)
        Rf_error("rreadmit_gunzip: a raw vector and a number are needed");
    const double most = REAL(limit)[0];
    if (!(most >= 0) || most > 9007199254740992.0) Rf_error("rreadmit_gunzip: bad limit");
    const size_t max_out = (size_t)most;
    const unsigned char *in = RAW(input);
    const size_t n_in = (size_t)XLENGTH(input);
    size_t cap = n_in < ((size_t)1 << 20) ? ((size_t)1 << 20) : 4 * n_in, used = 0;
    if (cap > max_out + 1) cap = max_out + 1;
    unsigned char *out = malloc(cap ? cap : 1);
    if (!out) return Rf_mkString("out_of_memory");
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) { free(out); return Rf_mkString("out_of_memory"); }
    size_t offset = 0;
    const char *why = NULL;
    while (!why && offset + 2 <= n_in && in[offset] == 0x1f && in[offset + 1] == 0x8b) {
        if (inflateReset(&s) != Z_OK) { why = "corrupt"; break; }
        int rc = Z_OK;
        while (!why && rc != Z_STREAM_END) {
            if (used == cap) {
                if (cap > max_out) { why = "too_large"; break; }
                size_t grown = cap > max_out / 2 ? max_out + 1 : 2 * cap;
                unsigned char *bigger = realloc(out, grown);
                if (!bigger) { why = "out_of_memory"; break; }
                out = bigger;
                cap = grown;
            }
            /* zlib counts in uInt: at most 1 GiB of input and output per call. */
            size_t in_left = n_in - offset, out_left = cap - used;
            s.next_in = (Bytef *)(in + offset);
            s.avail_in = (uInt)(in_left < (1u << 30) ? in_left : (1u << 30));
            s.next_out = out + used;
            s.avail_out = (uInt)(out_left < (1u << 30) ? out_left : (1u << 30));
            uInt had_in = s.avail_in, had_out = s.avail_out;
            rc = inflate(&s, Z_NO_FLUSH);
            offset += had_in - s.avail_in;
            used += had_out - s.avail_out;
            if (rc == Z_STREAM_END) break;
            /* Z_BUF_ERROR with input left means the output filled: grow and go on; with none
             * left, the stream ended before its end: truncated. */
            if (rc == Z_OK || (rc == Z_BUF_ERROR && s.avail_out == 0)) {
                if (offset == n_in && s.avail_out != 0) { why = "corrupt"; break; }
                continue;
            }
            why = "corrupt";  /* a data, stream or dictionary error */
            break;
        }
        if (!why && used > max_out) why = "too_large";
    }
    inflateEnd(&s);
    if (why) { free(out); return Rf_mkString(why); }
    SEXP result = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t)used));
    if (used) memcpy(RAW(result), out, used);
    free(out);
    UNPROTECT(1);
    return result;
}
