#ifndef PAYFLEET_CZLIB_SHIM_H
#define PAYFLEET_CZLIB_SHIM_H

#include <zlib.h>

/// inflateInit2 is a macro, which Swift cannot call: raw deflate with windowBits -15 (ZIP entries),
/// gzip with 15 + 16 (WeChat Pay's tar_type=GZIP bills).
static inline int payfleet_zlib_inflate_init(z_streamp stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}

/// deflateInit2 is a macro too: raw deflate (windowBits -15), memory level 8, default strategy.
static inline int payfleet_zlib_deflate_init(z_streamp stream, int level, int window_bits) {
    return deflateInit2(stream, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
}

#endif
