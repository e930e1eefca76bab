/*
 * Times libtiff's CCITT codec on the same work as crates/fax-t4/examples/codec_bench.rs,
 * for scripts/bench-vs-libtiff.
 *
 *   libtiff_codec_bench [--iters N] [--reps R] PAGE.pbm...
 *
 * Each page is written as a one-strip TIFF in memory (TIFFClientOpen over a growable
 * buffer, so no disk I/O is timed) with
 *   mh:  Compression 3, Group3Options 0 (1-D, EOL before every row, no fill)
 *   mr:  Compression 3, Group3Options 1 (2-D; YResolution 196 makes libtiff use K = 4)
 *   mmr: Compression 4, Group4Options 0 (EOFB)
 * FillOrder 1 (no bit reversal) and FAXMODE_CLASSF (no RTC). Only TIFFWriteEncodedStrip
 * and TIFFReadEncodedStrip are timed; opening and tagging are not.
 *
 * Prints one tab-separated line per page and scheme:
 *   page scheme coded_bytes fnv1a64_of_coded encode_ns decode_ns
 * with per-page times, the best of R repetitions of N runs each.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tiffio.h>

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("libtiff_codec_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- a TIFF file in memory ---- */

struct membuf {
    uint8_t *data;
    toff_t size;
    toff_t cap;
    toff_t pos;
};

static tmsize_t mem_read(thandle_t h, void *buf, tmsize_t n)
{
    struct membuf *m = (struct membuf *)h;
    if (n < 0)
        return -1;
    toff_t left = m->pos < m->size ? m->size - m->pos : 0;
    if ((toff_t)n > left)
        n = (tmsize_t)left;
    memcpy(buf, m->data + m->pos, (size_t)n);
    m->pos += (toff_t)n;
    return n;
}

static tmsize_t mem_write(thandle_t h, void *buf, tmsize_t n)
{
    struct membuf *m = (struct membuf *)h;
    if (n < 0)
        return -1;
    toff_t end = m->pos + (toff_t)n;
    if (end > m->cap) {
        toff_t cap = m->cap ? m->cap : 65536;
        while (cap < end)
            cap *= 2;
        uint8_t *p = realloc(m->data, (size_t)cap);
        if (!p)
            return -1;
        m->data = p;
        m->cap = cap;
    }
    if (m->pos > m->size) /* a seek past the end leaves a hole of zeros */
        memset(m->data + m->size, 0, (size_t)(m->pos - m->size));
    memcpy(m->data + m->pos, buf, (size_t)n);
    m->pos = end;
    if (end > m->size)
        m->size = end;
    return n;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    struct membuf *m = (struct membuf *)h;
    switch (whence) {
    case SEEK_SET: m->pos = off; break;
    case SEEK_CUR: m->pos += off; break;
    case SEEK_END: m->pos = m->size + off; break;
    default: return (toff_t)-1;
    }
    return m->pos;
}

static int mem_close(thandle_t h) { (void)h; return 0; }

static toff_t mem_size(thandle_t h) { return ((struct membuf *)h)->size; }

static int mem_map(thandle_t h, void **base, toff_t *size)
{
    struct membuf *m = (struct membuf *)h;
    *base = m->data;
    *size = m->size;
    return 1;
}

static void mem_unmap(thandle_t h, void *base, toff_t size) { (void)h; (void)base; (void)size; }

static TIFF *mem_open(struct membuf *m, const char *mode)
{
    m->pos = 0;
    if (mode[0] == 'w')
        m->size = 0;
    TIFF *tif = TIFFClientOpen("memory", mode, (thandle_t)m, mem_read, mem_write, mem_seek,
                               mem_close, mem_size, mem_map, mem_unmap);
    if (!tif)
        die("TIFFClientOpen(%s) failed", mode);
    return tif;
}

/* ---- pages ---- */

struct page {
    char name[256];
    uint32_t width, height;
    size_t stride;
    uint8_t *pixels; /* packed rows, 1 = black, MSB = leftmost */
};

static const uint8_t *skip_space(const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        if (*p == '#') {
            while (p < end && *p != '\n')
                p++;
        } else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
        } else {
            break;
        }
    }
    return p;
}

static const uint8_t *read_uint(const uint8_t *p, const uint8_t *end, uint32_t *out)
{
    uint64_t v = 0;
    const uint8_t *start = p;
    while (p < end && *p >= '0' && *p <= '9' && v < 1000000)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p == start || v == 0 || v >= 1000000)
        return NULL;
    *out = (uint32_t)v;
    return p;
}

static void load_pbm(const char *path, struct page *pg)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0)
        die("%s: cannot seek", path);
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0)
        die("%s: cannot tell its size", path);
    uint8_t *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
        die("%s: read failed", path);
    fclose(f);

    const uint8_t *p = buf, *end = buf + len;
    if (len < 2 || p[0] != 'P' || p[1] != '4')
        die("%s: not a raw (P4) PBM", path);
    p = read_uint(skip_space(p + 2, end), end, &pg->width);
    if (p)
        p = read_uint(skip_space(p, end), end, &pg->height);
    if (!p || p >= end)
        die("%s: bad PBM header", path);
    p++; /* the single whitespace byte before the raster */
    pg->stride = (pg->width + 7) / 8;
    size_t raster = pg->stride * pg->height;
    if ((size_t)(end - p) < raster)
        die("%s: raster is short", path);
    pg->pixels = malloc(raster);
    if (!pg->pixels)
        die("out of memory");
    memcpy(pg->pixels, p, raster);
    free(buf);

    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(pg->name, sizeof pg->name, "%s", base);
    char *dot = strrchr(pg->name, '.');
    if (dot)
        *dot = '\0';
}

/* ---- coding ---- */

enum scheme { MH, MR, MMR };
static const char *const scheme_names[] = {"mh", "mr", "mmr"};

static void set_tags(TIFF *tif, const struct page *pg, enum scheme s)
{
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, pg->width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, pg->height);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, pg->height);
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, 204.0);
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, 196.0);
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    if (s == MMR) {
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        TIFFSetField(tif, TIFFTAG_GROUP4OPTIONS, 0);
    } else {
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
        TIFFSetField(tif, TIFFTAG_GROUP3OPTIONS, s == MR ? GROUP3OPT_2DENCODING : 0);
    }
    TIFFSetField(tif, TIFFTAG_FAXMODE, FAXMODE_CLASSF);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Writes the page as a TIFF into m; returns the time TIFFWriteEncodedStrip took. */
static uint64_t encode_page(struct membuf *m, const struct page *pg, enum scheme s)
{
    TIFF *tif = mem_open(m, "w");
    set_tags(tif, pg, s);
    tmsize_t raster = (tmsize_t)(pg->stride * pg->height);
    uint64_t t0 = now_ns();
    if (TIFFWriteEncodedStrip(tif, 0, pg->pixels, raster) != raster)
        die("%s %s: TIFFWriteEncodedStrip failed", pg->name, scheme_names[s]);
    uint64_t t1 = now_ns();
    TIFFClose(tif);
    return t1 - t0;
}

/* Reads the TIFF in m back into out; returns the time TIFFReadEncodedStrip took. */
static uint64_t decode_page(struct membuf *m, const struct page *pg, enum scheme s, uint8_t *out)
{
    TIFF *tif = mem_open(m, "r");
    tmsize_t raster = (tmsize_t)(pg->stride * pg->height);
    uint64_t t0 = now_ns();
    if (TIFFReadEncodedStrip(tif, 0, out, raster) != raster)
        die("%s %s: TIFFReadEncodedStrip failed", pg->name, scheme_names[s]);
    uint64_t t1 = now_ns();
    TIFFClose(tif);
    return t1 - t0;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x00000100000001b3u;
    return h;
}

int main(int argc, char **argv)
{
    long iters = 10, reps = 5;
    int first_file = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
            iters = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = strtol(argv[++i], NULL, 10);
        } else {
            first_file = i;
            break;
        }
    }
    if (first_file >= argc || iters <= 0 || reps <= 0)
        die("usage: libtiff_codec_bench [--iters N] [--reps R] PAGE.pbm...");
    TIFFSetWarningHandler(NULL);

    struct membuf file = {0}, scratch = {0};
    for (int f = first_file; f < argc; f++) {
        struct page pg;
        load_pbm(argv[f], &pg);
        uint8_t *decoded = malloc(pg.stride * pg.height);
        if (!decoded)
            die("out of memory");
        for (enum scheme s = MH; s <= MMR; s++) {
            /* The reference file: its strip is what we report and decode. */
            encode_page(&file, &pg, s);
            TIFF *tif = mem_open(&file, "r");
            uint64_t *offsets, *counts;
            if (!TIFFGetField(tif, TIFFTAG_STRIPOFFSETS, &offsets) ||
                !TIFFGetField(tif, TIFFTAG_STRIPBYTECOUNTS, &counts) ||
                offsets[0] + counts[0] > file.size)
                die("%s %s: no strip in the file written", pg.name, scheme_names[s]);
            uint64_t coded = counts[0];
            uint64_t hash = fnv1a64(file.data + offsets[0], (size_t)coded);
            TIFFClose(tif);

            decode_page(&file, &pg, s, decoded);
            if (memcmp(decoded, pg.pixels, pg.stride * pg.height) != 0)
                die("%s %s: libtiff round trip changed the page", pg.name, scheme_names[s]);

            uint64_t best_enc = UINT64_MAX, best_dec = UINT64_MAX;
            for (long r = 0; r < reps; r++) {
                uint64_t enc = 0, dec = 0;
                for (long i = 0; i < iters; i++)
                    enc += encode_page(&scratch, &pg, s);
                for (long i = 0; i < iters; i++)
                    dec += decode_page(&file, &pg, s, decoded);
                if (enc / (uint64_t)iters < best_enc)
                    best_enc = enc / (uint64_t)iters;
                if (dec / (uint64_t)iters < best_dec)
                    best_dec = dec / (uint64_t)iters;
            }
            printf("%s\t%s\t%" PRIu64 "\t%016" PRIx64 "\t%" PRIu64 "\t%" PRIu64 "\n", pg.name,
                   scheme_names[s], coded, hash, best_enc, best_dec);
            fflush(stdout);
        }
        free(decoded);
        free(pg.pixels);
    }
    free(file.data);
    free(scratch.data);
    return 0;
}
