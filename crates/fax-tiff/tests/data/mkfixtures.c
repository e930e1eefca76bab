/*
 * Writes the libtiff-made fixtures in this directory from the CCITT chart PBMs, covering
 * what testdata/ccitt does not: CCITT RLE (compression 2), strips, big-endian files,
 * PackBits, BlackIsZero and centimetre resolutions.
 *
 * Build against libtiff (declared here so that only the shared library is needed):
 *   cc -O2 -o mkfixtures mkfixtures.c -ltiff
 *   ./mkfixtures ../../../../testdata/ccitt .
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

typedef struct tiff TIFF;
extern TIFF *TIFFOpen(const char *, const char *);
extern int TIFFSetField(TIFF *, uint32_t, ...);
extern int TIFFWriteScanline(TIFF *, void *, uint32_t, uint16_t);
extern int TIFFWriteDirectory(TIFF *);
extern void TIFFClose(TIFF *);

enum {
    TAG_SUBFILETYPE = 254, TAG_WIDTH = 256, TAG_LENGTH = 257, TAG_BPS = 258,
    TAG_COMPRESSION = 259, TAG_PHOTOMETRIC = 262, TAG_FILLORDER = 266, TAG_SPP = 277,
    TAG_ROWSPERSTRIP = 278, TAG_XRES = 282, TAG_YRES = 283, TAG_PLANAR = 284,
    TAG_T4OPTIONS = 292, TAG_RESUNIT = 296, TAG_PAGENUMBER = 297, TAG_SOFTWARE = 305,
};

#define W 1728
#define H 2376
#define STRIDE (W / 8)

static unsigned char *read_pbm(const char *dir, int chart) {
    char path[4096];
    snprintf(path, sizeof path, "%s/ccitt%d.pbm", dir, chart);
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    const char *header = "P4\n1728 2376\n";
    char got[14] = {0};
    if (fread(got, 1, 13, f) != 13 || memcmp(got, header, 13) != 0) {
        fprintf(stderr, "%s: unexpected header\n", path); exit(1);
    }
    unsigned char *pixels = malloc(STRIDE * H);
    if (fread(pixels, 1, STRIDE * H, f) != STRIDE * H) { fprintf(stderr, "%s: short\n", path); exit(1); }
    fclose(f);
    return pixels;
}

struct spec {
    const char *name, *mode;
    int chart, compression, fillorder, photometric, rows_per_strip, t4options, unit;
    double xres, yres;
};

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: mkfixtures CCITT_DIR OUT_DIR\n"); return 2; }
    static const struct spec specs[] = {
        /* name, mode, chart, compression, fillorder, photometric, rows/strip, t4, unit, x, y */
        {"ccitt2_rle_be.tif", "wb", 2, 2, 1, 0, H, 0, 2, 204, 196},
        {"ccitt6_mr_fill_strips_be.tif", "wb", 6, 3, 1, 0, 256, 5, 2, 204, 196},
        {"ccitt8_mh_strips_lsb.tif", "wl", 8, 3, 2, 0, 1000, 0, 2, 204, 98},
        {"ccitt2_mmr_strips_lsb_cm.tif", "wl", 2, 4, 2, 0, 500, 0, 3, 80, 77},
        {"ccitt2_packbits_blackiszero_lsb.tif", "wl", 2, 32773, 2, 1, 128, 0, 2, 204, 196},
    };
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        const struct spec *sp = &specs[s];
        unsigned char *pixels = read_pbm(argv[1], sp->chart);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[2], sp->name);
        TIFF *tif = TIFFOpen(path, sp->mode);
        if (!tif) { fprintf(stderr, "cannot create %s\n", path); return 1; }
        TIFFSetField(tif, TAG_SUBFILETYPE, (uint32_t)2);
        TIFFSetField(tif, TAG_WIDTH, (uint32_t)W);
        TIFFSetField(tif, TAG_LENGTH, (uint32_t)H);
        TIFFSetField(tif, TAG_BPS, 1);
        TIFFSetField(tif, TAG_SPP, 1);
        TIFFSetField(tif, TAG_PLANAR, 1);
        TIFFSetField(tif, TAG_COMPRESSION, sp->compression);
        TIFFSetField(tif, TAG_PHOTOMETRIC, sp->photometric);
        TIFFSetField(tif, TAG_FILLORDER, sp->fillorder);
        TIFFSetField(tif, TAG_ROWSPERSTRIP, (uint32_t)sp->rows_per_strip);
        TIFFSetField(tif, TAG_XRES, sp->xres);
        TIFFSetField(tif, TAG_YRES, sp->yres);
        TIFFSetField(tif, TAG_RESUNIT, sp->unit);
        TIFFSetField(tif, TAG_PAGENUMBER, 0, 1);
        TIFFSetField(tif, TAG_SOFTWARE, "libtiff (mkfixtures.c)");
        if (sp->compression == 3) TIFFSetField(tif, TAG_T4OPTIONS, (uint32_t)sp->t4options);
        unsigned char row[STRIDE];
        for (int y = 0; y < H; y++) {
            memcpy(row, pixels + (size_t)y * STRIDE, STRIDE);
            if (sp->photometric == 1)
                for (int i = 0; i < STRIDE; i++) row[i] = (unsigned char)~row[i];
            if (TIFFWriteScanline(tif, row, (uint32_t)y, 0) < 0) { fprintf(stderr, "%s: write failed\n", path); return 1; }
        }
        TIFFClose(tif);
        free(pixels);
    }
    return 0;
}
