/* Byte- and row-level loops of text normalisation and near-duplicate detection, in C.

Why C: NumPy needs a dozen passes over whole arrays (byte maps, word boundaries, gathers, scatters with
np.minimum.at, padded sorts) for what is one pass over each text here, and Python would loop over rows.
Every function works on whole batches given as contiguous buffers (NumPy arrays, Arrow buffers), writes
into buffers the caller allocated, and releases the GIL while it loops, so batches run in parallel threads.
The Python modules `textnorm`, `shingles`, `minhash` and `jaccard` own the semantics and document them;
this file only implements their loops. Row `r` of a batch is bytes `data[offsets[r]:offsets[r + 1]]`.
*/

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SPACE 0x20
#define MARKED 0xFF
#define EMPTY UINT32_C(0xFFFFFFFF)
#define NO_SHINGLE UINT64_C(0xFFFFFFFFFFFFFFFF)
#define CHUNK_MULTIPLIER UINT64_C(0x9E3779B97F4A7C15)
#define PROBE_ROUNDS 12

/* Odd multipliers weighting each word position of an n-gram (the same as shingles.py documents). */
static const uint64_t POSITION_MULTIPLIERS[8] = {
    UINT64_C(0xBF58476D1CE4E5B9), UINT64_C(0x94D049BB133111EB), UINT64_C(0xC2B2AE3D27D4EB4F),
    UINT64_C(0x165667B19E3779F9), UINT64_C(0x27D4EB2F165667C5), UINT64_C(0x85EBCA77C2B2AE63),
    UINT64_C(0xFF51AFD7ED558CCD), UINT64_C(0xC4CEB9FE1A85EC53),
};

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= UINT64_C(0xBF58476D1CE4E5B9);
    x ^= x >> 27;
    x *= UINT64_C(0x94D049BB133111EB);
    x ^= x >> 31;
    return x;
}

/* ---- argument checks ---------------------------------------------------------------------------------- */

static int check_items(const Py_buffer *buffer, Py_ssize_t itemsize, Py_ssize_t count, const char *name) {
    if (buffer->len != itemsize * count) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd bytes, got %zd bytes", name, count, itemsize,
                     buffer->len);
        return -1;
    }
    return 0;
}

/* Row count of an int64 offsets buffer, after checking that the offsets ascend within `size` bytes. */
static Py_ssize_t check_offsets(const Py_buffer *offsets, Py_ssize_t size, const char *name) {
    if (offsets->len % 8 != 0 || offsets->len < 8) {
        PyErr_Format(PyExc_ValueError, "%s: expected at least one int64 offset", name);
        return -1;
    }
    const int64_t *values = offsets->buf;
    Py_ssize_t rows = offsets->len / 8 - 1;
    if (values[0] < 0 || values[rows] > size) {
        PyErr_Format(PyExc_ValueError, "%s: offsets outside the %zd values", name, size);
        return -1;
    }
    for (Py_ssize_t row = 0; row < rows; row++) {
        if (values[row] > values[row + 1]) {
            PyErr_Format(PyExc_ValueError, "%s: offsets must not decrease", name);
            return -1;
        }
    }
    return rows;
}

static void release_all(Py_buffer *buffers, int count) {
    for (int i = 0; i < count; i++) {
        PyBuffer_Release(&buffers[i]);
    }
}

/* ---- byte classes ------------------------------------------------------------------------------------- */

/* Whether `table` leaves a-z, 0-9 and the space unchanged, as every table the callers pass does (checked,
   not assumed, since it enables the shortcuts of `plain16`). */
static int maps_class_to_itself(const uint8_t *table) {
    for (int c = 0; c < 256; c++) {
        if (((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == SPACE) && table[c] != c) {
            return 0;
        }
    }
    return 1;
}

#if defined(__SSE2__)
/* Whether the 16 bytes at `p` are all a-z, 0-9 or spaces (most blocks of lower-case prose), which such a
   table maps to themselves; `*spaces` gets the bitmask of the spaces. */
static inline int plain16(const uint8_t *p, unsigned *spaces) {
    const __m128i v = _mm_loadu_si128((const __m128i *)p);
    /* Signed compares: bytes >= 0x80 are negative, so never inside these ranges. */
    const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                                         _mm_cmplt_epi8(v, _mm_set1_epi8('z' + 1)));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                        _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    const __m128i space = _mm_cmpeq_epi8(v, _mm_set1_epi8(SPACE));
    *spaces = (unsigned)_mm_movemask_epi8(space);
    return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), space)) == 0xFFFF;
}
#endif

/* out[i] = table[text[i]], copying plain 16-byte blocks whole when `identity_class`. */
static inline void map_bytes(const uint8_t *restrict text, int64_t length, const uint8_t *restrict table,
                             int identity_class, uint8_t *restrict out) {
    int64_t i = 0;
#if defined(__SSE2__)
    unsigned spaces;
    for (; identity_class && i + 16 <= length; i += 16) {
        if (plain16(text + i, &spaces)) {
            memcpy(out + i, text + i, 16);
        } else {
            for (int k = 0; k < 16; k++) {
                out[i + k] = table[text[i + k]];
            }
        }
    }
#else
    (void)identity_class;
#endif
    for (; i < length; i++) {
        out[i] = table[text[i]];
    }
}

/* ---- normalisation ------------------------------------------------------------------------------------ */

/* One mapped byte of `normalize`: stored at `at`, which advances unless it is a space after a space. */
static inline int64_t normalize_byte(uint8_t mapped, uint8_t *out, int64_t at, unsigned *previous_space,
                                     unsigned *marked) {
    const unsigned space = mapped == SPACE;
    out[at] = mapped;
    at += !(space & *previous_space);
    *previous_space = space;
    *marked |= mapped == MARKED;
    return at;
}

PyDoc_STRVAR(normalize_doc,
"normalize(data, offsets, table, out_data, out_offsets, out_general) -> int\n\n"
"Map every byte through `table`; bytes mapped to 0x20 separate words, written joined by single spaces\n"
"without leading or trailing ones. A row with a byte mapped to 0xFF is left empty and flagged 1 in\n"
"`out_general`. Returns the number of flagged rows.");

static PyObject *normalize(PyObject *self, PyObject *args) {
    Py_buffer b[6] = {{0}};
    if (!PyArg_ParseTuple(args, "y*y*y*w*w*w*", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5])) {
        return NULL;
    }
    Py_ssize_t rows = check_offsets(&b[1], b[0].len, "offsets");
    if (rows < 0 || check_items(&b[2], 1, 256, "table") < 0 || check_items(&b[3], 1, b[0].len, "out_data") < 0 ||
        check_items(&b[4], 8, rows + 1, "out_offsets") < 0 || check_items(&b[5], 1, rows, "out_general") < 0) {
        release_all(b, 6);
        return NULL;
    }
    const uint8_t *restrict data = b[0].buf, *restrict table = b[2].buf;
    const int64_t *restrict offsets = b[1].buf;
    uint8_t *restrict out = b[3].buf, *restrict general = b[5].buf;
    int64_t *restrict out_offsets = b[4].buf;
    Py_ssize_t flagged = 0;
    Py_BEGIN_ALLOW_THREADS
    /* Branch-free: every mapped byte is stored, and the write position advances unless the byte is a
       space after a space (or at the start); a trailing space is dropped at the end of the row. A plain
       16-byte block without a space after a space is stored as it is. */
    const int identity_class = maps_class_to_itself(table);
    int64_t at = 0;
    out_offsets[0] = 0;
    for (Py_ssize_t row = 0; row < rows; row++) {
        const int64_t start = at, stop = offsets[row + 1];
        unsigned previous_space = 1, marked = 0;
        int64_t i = offsets[row];
#if defined(__SSE2__)
        unsigned spaces;
        for (; identity_class && i + 16 <= stop; i += 16) {
            if (plain16(data + i, &spaces) && !(spaces & ((spaces << 1) | previous_space))) {
                memcpy(out + at, data + i, 16);
                at += 16;
                previous_space = spaces >> 15;
                continue;
            }
            for (int64_t k = i; k < i + 16; k++) {
                at = normalize_byte(table[data[k]], out, at, &previous_space, &marked);
            }
        }
#endif
        for (; i < stop; i++) {
            at = normalize_byte(table[data[i]], out, at, &previous_space, &marked);
        }
        at -= at > start && out[at - 1] == SPACE;
        general[row] = (uint8_t)marked;
        if (marked) {
            flagged++;
            at = start;
        }
        out_offsets[row + 1] = at;
    }
    Py_END_ALLOW_THREADS
    release_all(b, 6);
    return PyLong_FromSsize_t(flagged);
}

/* ---- shingles ----------------------------------------------------------------------------------------- */

/* Turn the `words` word hashes at `hashes` into the row's n-gram hashes, in place; returns their count. */
/* hashes[i] = mix64(sum over p < span of hashes[i + p] * POSITION_MULTIPLIERS[p % 8], ^ seed_mix) for the
   first `count` slots. Always inlined, so that a constant `span` unrolls the inner loop. */
static inline __attribute__((always_inline)) void combine(uint64_t *hashes, int64_t count, const int span,
                                                          uint64_t seed_mix) {
    for (int64_t i = 0; i < count; i++) {
        uint64_t combined = 0;
        for (int p = 0; p < span; p++) {
            combined += hashes[i + p] * POSITION_MULTIPLIERS[p % 8];
        }
        hashes[i] = mix64(combined ^ seed_mix);
    }
}

/* Turn the `words` word hashes at `hashes` into the row's n-gram hashes, in place; returns their count. */
static int64_t ngrams_in_place(uint64_t *hashes, int64_t words, int ngram, uint64_t seed_mix) {
    if (words == 0) {
        return 0;
    }
    const int64_t count = words >= ngram ? words - ngram + 1 : 1;
    const int span = words >= ngram ? ngram : (int)words;
    switch (span) { /* the usual shingle sizes get unrolled loops */
    case 1: combine(hashes, count, 1, seed_mix); break;
    case 2: combine(hashes, count, 2, seed_mix); break;
    case 3: combine(hashes, count, 3, seed_mix); break;
    case 4: combine(hashes, count, 4, seed_mix); break;
    case 5: combine(hashes, count, 5, seed_mix); break;
    default: combine(hashes, count, span, seed_mix);
    }
    return count;
}

/* Bits k set when byte k of the 64 at `p` is a space (returned) and when it is MARKED (`*marked`). */
static inline uint64_t space_mask64(const uint8_t *p, uint64_t *marked) {
    uint64_t spaces = 0, marks = 0;
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(SPACE), mark = _mm_set1_epi8((char)MARKED);
    for (int k = 0; k < 4; k++) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        spaces |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)) << (16 * k);
        marks |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, mark)) << (16 * k);
    }
#else
    for (int k = 0; k < 64; k++) {
        spaces |= (uint64_t)(p[k] == SPACE) << k;
        marks |= (uint64_t)(p[k] == MARKED) << k;
    }
#endif
    *marked = marks;
    return spaces;
}

/* Masks keeping the first k bytes of a little-endian uint64, k = 0..8. */
static const uint64_t LOW_BYTES[9] = {
    0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF, UINT64_C(0xFFFFFFFFFF), UINT64_C(0xFFFFFFFFFFFF),
    UINT64_C(0xFFFFFFFFFFFFFF), UINT64_C(0xFFFFFFFFFFFFFFFF),
};

static inline uint64_t load_le(const uint8_t *p) {
    uint64_t value;
    memcpy(&value, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    value = __builtin_bswap64(value);
#endif
    return value;
}

/* The word at `p` of `length` >= 1 bytes (8 more may be read): see shingle_hashes_doc. */
static inline uint64_t word_hash(const uint8_t *p, int64_t length) {
    uint64_t hash = load_le(p);
    if (length <= 8) { /* most words */
        return hash & LOW_BYTES[length];
    }
    for (int64_t at = 8; at < length; at += 8) {
        hash = hash * CHUNK_MULTIPLIER + (load_le(p + at) & LOW_BYTES[length - at < 8 ? length - at : 8]);
    }
    return hash;
}

PyDoc_STRVAR(shingle_hashes_doc,
"shingle_hashes(data, offsets, table, detect, ngram, seed, out_hashes, out_offsets, out_general) -> int\n\n"
"Each row's bytes are mapped through `table`; words are maximal runs of mapped bytes other than 0x20. A\n"
"word of up to 8 bytes hashes to its bytes read as a little-endian uint64; each further 8-byte chunk is\n"
"folded in as h * 0x9E3779B97F4A7C15 + chunk. Row r's n-gram hashes go to\n"
"out_hashes[out_offsets[r]:out_offsets[r + 1]]; `out_hashes` needs room for every word (at most\n"
"(len(data) + rows) // 2). If `detect`, a row with a byte mapped to 0xFF gets no n-grams and is flagged 1\n"
"in `out_general`. Returns the number of n-grams written.");

static PyObject *shingle_hashes(PyObject *self, PyObject *args) {
    Py_buffer b[6] = {{0}};
    int parsed_detect, parsed_ngram;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "y*y*y*piKw*w*w*", &b[0], &b[1], &b[2], &parsed_detect, &parsed_ngram, &seed, &b[3],
                          &b[4], &b[5])) {
        return NULL;
    }
    const int detect = parsed_detect, ngram = parsed_ngram;
    Py_ssize_t rows = check_offsets(&b[1], b[0].len, "offsets");
    if (rows < 0 || check_items(&b[2], 1, 256, "table") < 0 || check_items(&b[4], 8, rows + 1, "out_offsets") < 0 ||
        check_items(&b[5], 1, rows, "out_general") < 0) {
        release_all(b, 6);
        return NULL;
    }
    const int64_t *restrict offsets = b[1].buf;
    if (ngram < 1 || b[3].len % 8 != 0 || b[3].len / 8 < (offsets[rows] - offsets[0] + rows) / 2) {
        PyErr_SetString(PyExc_ValueError, "ngram must be at least 1 and out_hashes must hold every word");
        release_all(b, 6);
        return NULL;
    }
    int64_t longest = 0;
    for (Py_ssize_t row = 0; row < rows; row++) {
        longest = offsets[row + 1] - offsets[row] > longest ? offsets[row + 1] - offsets[row] : longest;
    }
    /* One row's mapped bytes, followed by 64 bytes of padding so that 8- and 64-byte reads never leave it. */
    uint8_t *scratch = malloc((size_t)longest + 64);
    if (scratch == NULL) {
        release_all(b, 6);
        return PyErr_NoMemory();
    }
    memset(scratch, 0, (size_t)longest + 64);
    const uint8_t *restrict data = b[0].buf, *restrict table = b[2].buf;
    uint64_t *restrict out = b[3].buf;
    int64_t *restrict out_offsets = b[4].buf;
    uint8_t *restrict general = b[5].buf;
    const uint64_t seed_mix = (uint64_t)seed * CHUNK_MULTIPLIER;
    const int identity_class = maps_class_to_itself(table);
    int64_t at = 0;
    Py_BEGIN_ALLOW_THREADS
    out_offsets[0] = 0;
    for (Py_ssize_t row = 0; row < rows; row++) {
        const int64_t length = offsets[row + 1] - offsets[row];
        const uint8_t *restrict text = data + offsets[row];
        map_bytes(text, length, table, identity_class, scratch);
        uint64_t *row_out = out + at;
        uint64_t marked = 0;
        int64_t words = 0, previous = -1; /* the last space seen */
        /* Spaces 64 bytes at a time, as bits; each set bit ends the word (if any) since the last one. The
           row's end counts as a space; bytes past it (padding, or a longer earlier row) are masked off. */
        for (int64_t block = 0; block < length; block += 64) {
            uint64_t marks, mask = space_mask64(scratch + block, &marks);
            if (length - block < 64) {
                const uint64_t inside = (UINT64_C(1) << (length - block)) - 1;
                mask = (mask & inside) | (inside + 1);
                marks &= inside;
            }
            marked |= marks;
            while (mask) {
                const int64_t position = block + __builtin_ctzll(mask);
                mask &= mask - 1;
                if (position - previous > 1) {
                    row_out[words++] = word_hash(scratch + previous + 1, position - previous - 1);
                }
                previous = position;
            }
        }
        if (previous < length - 1) { /* a row whose length is a multiple of 64 ends in a word */
            row_out[words++] = word_hash(scratch + previous + 1, length - previous - 1);
        }
        general[row] = detect && marked;
        if (general[row]) {
            words = 0;
        }
        at += ngrams_in_place(row_out, words, ngram, seed_mix);
        out_offsets[row + 1] = at;
    }
    Py_END_ALLOW_THREADS
    free(scratch);
    release_all(b, 6);
    return PyLong_FromLongLong(at);
}

/* ---- MinHash signatures ------------------------------------------------------------------------------- */

PyDoc_STRVAR(signatures_doc,
"signatures(hashes, offsets, num_perm, probes, out)\n\n"
"One-permutation MinHash of each row's uint64 hashes into `out` (rows x num_perm uint32): bin by the high\n"
"bits, keep the smallest low 32 bits, then fill each empty bin from the first non-empty one among its 12\n"
"probe bins (`probes`, int64, 12 x num_perm), else from the next non-empty bin to the right (wrapping).\n"
"NO_SHINGLE hashes are skipped; a row without hashes stays all 0xFFFFFFFF.");

static PyObject *signatures(PyObject *self, PyObject *args) {
    Py_buffer b[4] = {{0}};
    int parsed_num_perm;
    if (!PyArg_ParseTuple(args, "y*y*iy*w*", &b[0], &b[1], &parsed_num_perm, &b[2], &b[3])) {
        return NULL;
    }
    const int num_perm = parsed_num_perm; /* a copy whose address was never taken stays in a register */
    if (num_perm < 1 || b[0].len % 8 != 0) {
        PyErr_SetString(PyExc_ValueError, "num_perm must be positive and hashes uint64");
        release_all(b, 4);
        return NULL;
    }
    Py_ssize_t rows = check_offsets(&b[1], b[0].len / 8, "offsets");
    if (rows < 0 || check_items(&b[2], 8, (Py_ssize_t)PROBE_ROUNDS * num_perm, "probes") < 0 ||
        check_items(&b[3], 4, rows * num_perm, "out") < 0) {
        release_all(b, 4);
        return NULL;
    }
    const int64_t *probes = b[2].buf;
    for (Py_ssize_t i = 0; i < (Py_ssize_t)PROBE_ROUNDS * num_perm; i++) {
        if (probes[i] < 0 || probes[i] >= num_perm) {
            PyErr_SetString(PyExc_ValueError, "probes must be bins below num_perm");
            release_all(b, 4);
            return NULL;
        }
    }
    int *holes = malloc(sizeof(int) * (size_t)num_perm);
    uint32_t *values = malloc(sizeof(uint32_t) * (size_t)num_perm);
    if (holes == NULL || values == NULL) {
        free(holes);
        free(values);
        release_all(b, 4);
        return PyErr_NoMemory();
    }
    const uint64_t *restrict hashes = b[0].buf;
    const int64_t *restrict offsets = b[1].buf;
    uint32_t *restrict out = b[3].buf;
    const int power_of_two = (num_perm & (num_perm - 1)) == 0;
    int shift = 0;
    while ((1 << shift) < num_perm) {
        shift++;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < rows; row++) {
        uint32_t *restrict signature = out + row * num_perm;
        for (int j = 0; j < num_perm; j++) {
            signature[j] = EMPTY;
        }
        /* Branch-free minimum; a NO_SHINGLE placeholder's low bits are EMPTY, so it changes nothing. */
        for (int64_t i = offsets[row]; i < offsets[row + 1]; i++) {
            const uint64_t hash = hashes[i];
            const uint64_t bin = power_of_two ? (shift ? hash >> (64 - shift) : 0)
                                              : ((hash >> 32) * (uint64_t)num_perm) >> 32;
            const uint32_t value = (uint32_t)hash, current = signature[bin];
            signature[bin] = value < current ? value : current;
        }
        int count = 0;
        for (int j = 0; j < num_perm; j++) {
            holes[count] = j;
            count += signature[j] == EMPTY;
        }
        if (count == num_perm) {
            continue; /* no shingles: the row stays EMPTY */
        }
        /* Every hole reads its first four probes without branching (all probes read the bins before any
           filling); the ~1% still empty then take the rest of the sequence. */
        for (int h = 0; h < count; h++) {
            const int j = holes[h];
            uint32_t value = signature[probes[j]];
            for (int k = 1; k < 4 && k < PROBE_ROUNDS; k++) {
                const uint32_t probe = signature[probes[k * num_perm + j]];
                const uint32_t empty = -(uint32_t)(value == EMPTY);
                value = (probe & empty) | (value & ~empty);
            }
            values[h] = value;
        }
        for (int h = 0; h < count; h++) {
            if (values[h] != EMPTY) {
                continue;
            }
            const int j = holes[h];
            for (int k = 4; k < PROBE_ROUNDS && values[h] == EMPTY; k++) {
                values[h] = signature[probes[k * num_perm + j]];
            }
            /* The next non-empty bin to the right, wrapping round to the first one. */
            for (int step = 1; step < num_perm && values[h] == EMPTY; step++) {
                values[h] = signature[(j + step) % num_perm];
            }
        }
        for (int h = 0; h < count; h++) {
            signature[holes[h]] = values[h];
        }
    }
    Py_END_ALLOW_THREADS
    free(holes);
    free(values);
    release_all(b, 4);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(band_hashes_doc,
"band_hashes(signature, num_perm, bands, rows, out)\n\n"
"For each signature (uint32, num_perm per row) and band b, out[row, b] (uint64) = mix64 of the band's\n"
"`rows` slots s folded as h = h * 0x9E3779B97F4A7C15 + s, starting from 0.");

static PyObject *band_hashes(PyObject *self, PyObject *args) {
    Py_buffer b[2] = {{0}};
    int parsed[3];
    if (!PyArg_ParseTuple(args, "y*iiiw*", &b[0], &parsed[0], &parsed[1], &parsed[2], &b[1])) {
        return NULL;
    }
    const int num_perm = parsed[0], bands = parsed[1], rows_per_band = parsed[2];
    if (num_perm < 1 || bands < 1 || rows_per_band < 1 || (int64_t)bands * rows_per_band > num_perm ||
        b[0].len % (4 * (Py_ssize_t)num_perm) != 0) {
        PyErr_SetString(PyExc_ValueError, "band_hashes: bands * rows must fit in num_perm uint32 slots per row");
        release_all(b, 2);
        return NULL;
    }
    const Py_ssize_t rows = b[0].len / (4 * (Py_ssize_t)num_perm);
    if (check_items(&b[1], 8, rows * bands, "out") < 0) {
        release_all(b, 2);
        return NULL;
    }
    const uint32_t *restrict signature = b[0].buf;
    uint64_t *restrict out = b[1].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < rows; row++) {
        const uint32_t *slots = signature + row * num_perm;
        for (int band = 0; band < bands; band++) {
            uint64_t combined = 0;
            for (int r = 0; r < rows_per_band; r++) {
                combined = combined * CHUNK_MULTIPLIER + slots[band * rows_per_band + r];
            }
            out[row * bands + band] = mix64(combined);
        }
    }
    Py_END_ALLOW_THREADS
    release_all(b, 2);
    Py_RETURN_NONE;
}

/* ---- exact Jaccard ------------------------------------------------------------------------------------ */

/* One open-addressing hash set per pair: a slot belongs to the current pair when its stamp is the pair's,
   so nothing is cleared between pairs. `sides` has bit 1 for the left row, bit 2 for the right one. */
typedef struct {
    uint64_t key;
    uint32_t stamp;
    uint32_t sides;
} Slot;

static int64_t next_power_of_two(int64_t value) {
    int64_t power = 1;
    while (power < value) {
        power <<= 1;
    }
    return power;
}

PyDoc_STRVAR(pair_jaccard_doc,
"pair_jaccard(hashes, offsets, left, right, out)\n\n"
"out[k] = |A & B| / |A | B| for the sets A, B of rows left[k] and right[k] (NO_SHINGLE ignored; two\n"
"empty sets give 1.0). `left`, `right` int64, `out` float64.");

static PyObject *pair_jaccard(PyObject *self, PyObject *args) {
    Py_buffer b[5] = {{0}};
    if (!PyArg_ParseTuple(args, "y*y*y*y*w*", &b[0], &b[1], &b[2], &b[3], &b[4])) {
        return NULL;
    }
    Py_ssize_t rows = b[0].len % 8 == 0 ? check_offsets(&b[1], b[0].len / 8, "offsets") : -1;
    Py_ssize_t pairs = b[2].len / 8;
    if (rows < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "hashes must be uint64");
        }
        release_all(b, 5);
        return NULL;
    }
    if (check_items(&b[2], 8, pairs, "left") < 0 || check_items(&b[3], 8, pairs, "right") < 0 ||
        check_items(&b[4], 8, pairs, "out") < 0) {
        release_all(b, 5);
        return NULL;
    }
    const uint64_t *restrict hashes = b[0].buf;
    const int64_t *restrict offsets = b[1].buf, *restrict left = b[2].buf, *restrict right = b[3].buf;
    double *restrict out = b[4].buf;
    int64_t widest = 0;
    for (Py_ssize_t k = 0; k < pairs; k++) {
        if (left[k] < 0 || left[k] >= rows || right[k] < 0 || right[k] >= rows) {
            PyErr_SetString(PyExc_IndexError, "pair_jaccard: row out of range");
            release_all(b, 5);
            return NULL;
        }
        int64_t both = offsets[left[k] + 1] - offsets[left[k]] + offsets[right[k] + 1] - offsets[right[k]];
        widest = both > widest ? both : widest;
    }
    const int64_t capacity = next_power_of_two(2 * widest + 2);
    Slot *table = calloc((size_t)capacity, sizeof(Slot));
    if (table == NULL) {
        release_all(b, 5);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    uint32_t stamp = 0;
    for (Py_ssize_t k = 0; k < pairs; k++) {
        if (++stamp == 0) { /* wrapped after 2^32 pairs: clear once and go on */
            memset(table, 0, sizeof(Slot) * (size_t)capacity);
            stamp = 1;
        }
        const int64_t rows_of[2] = {left[k], right[k]};
        const int64_t size = next_power_of_two(2 * (offsets[left[k] + 1] - offsets[left[k]] +
                                                    offsets[right[k] + 1] - offsets[right[k]]) + 2);
        int shift = 64;
        for (int64_t power = size; power > 1; power >>= 1) {
            shift--;
        }
        int64_t distinct = 0, shared = 0;
        for (int side = 0; side < 2; side++) {
            for (int64_t i = offsets[rows_of[side]]; i < offsets[rows_of[side] + 1]; i++) {
                const uint64_t key = hashes[i];
                if (key == NO_SHINGLE) {
                    continue;
                }
                int64_t slot = shift < 64 ? (int64_t)((key * CHUNK_MULTIPLIER) >> shift) : 0;
                while (table[slot].stamp == stamp && table[slot].key != key) {
                    slot = (slot + 1) & (size - 1);
                }
                if (table[slot].stamp != stamp) {
                    table[slot].stamp = stamp;
                    table[slot].key = key;
                    table[slot].sides = 1u << side;
                    distinct++;
                } else if (side == 1 && table[slot].sides == 1u) {
                    table[slot].sides = 3u;
                    shared++;
                }
            }
        }
        out[k] = distinct ? (double)shared / (double)distinct : 1.0;
    }
    Py_END_ALLOW_THREADS
    free(table);
    release_all(b, 5);
    Py_RETURN_NONE;
}

/* ---- LSH buckets -------------------------------------------------------------------------------------- */

typedef struct {
    uint64_t key;
    int64_t first;
    int64_t last;
    int64_t band; /* the band this bucket belongs to; -1: free */
} Bucket;

/* Distinct pairs, kept in order of discovery: an open-addressing set of keys i * rows + j beside the list. */
typedef struct {
    uint64_t *slots; /* UINT64_MAX: free */
    int64_t capacity, count;
    int64_t *pairs; /* 2 * count values, room for `capacity`: the set is kept at most half full */
} PairSet;

static int pair_set_grow(PairSet *set) {
    int64_t capacity = set->capacity * 2;
    uint64_t *slots = malloc(sizeof(uint64_t) * (size_t)capacity);
    int64_t *pairs = realloc(set->pairs, sizeof(int64_t) * (size_t)capacity);
    if (slots == NULL || pairs == NULL) {
        free(slots);
        if (pairs != NULL) {
            set->pairs = pairs;
        }
        return -1;
    }
    memset(slots, 0xFF, sizeof(uint64_t) * (size_t)capacity);
    for (int64_t i = 0; i < set->capacity; i++) {
        uint64_t key = set->slots[i];
        if (key != UINT64_MAX) {
            int64_t slot = (int64_t)(mix64(key) & (uint64_t)(capacity - 1));
            while (slots[slot] != UINT64_MAX) {
                slot = (slot + 1) & (capacity - 1);
            }
            slots[slot] = key;
        }
    }
    free(set->slots);
    set->slots = slots;
    set->pairs = pairs;
    set->capacity = capacity;
    return 0;
}

static int pair_set_add(PairSet *set, int64_t i, int64_t j, int64_t rows) {
    const uint64_t key = (uint64_t)i * (uint64_t)rows + (uint64_t)j;
    int64_t slot = (int64_t)(mix64(key) & (uint64_t)(set->capacity - 1));
    while (set->slots[slot] != UINT64_MAX) {
        if (set->slots[slot] == key) {
            return 0;
        }
        slot = (slot + 1) & (set->capacity - 1);
    }
    set->slots[slot] = key;
    set->pairs[2 * set->count] = i;
    set->pairs[2 * set->count + 1] = j;
    set->count++;
    return 2 * (set->count + 1) > set->capacity ? pair_set_grow(set) : 0;
}

PyDoc_STRVAR(band_pairs_doc,
"band_pairs(matrix, bands) -> bytes\n\n"
"`matrix` holds uint64 band hashes, `bands` per row. In every band, each bucket of rows sharing a value\n"
"yields its star (first member, row) and chain (previous member, row) pairs. Returns the distinct pairs\n"
"(i < j) over all bands as int64 values i, j, i, j, ... in order of discovery.");

static PyObject *band_pairs(PyObject *self, PyObject *args) {
    Py_buffer b[1] = {{0}};
    int parsed_bands;
    if (!PyArg_ParseTuple(args, "y*i", &b[0], &parsed_bands)) {
        return NULL;
    }
    const int bands = parsed_bands;
    if (bands < 1 || b[0].len % (8 * (Py_ssize_t)bands) != 0) {
        PyErr_SetString(PyExc_ValueError, "band_pairs: matrix must hold `bands` uint64 values per row");
        release_all(b, 1);
        return NULL;
    }
    const int64_t rows = b[0].len / (8 * (Py_ssize_t)bands);
    const int64_t size = next_power_of_two(2 * rows + 2);
    Bucket *table = malloc(sizeof(Bucket) * (size_t)size);
    PairSet set = {malloc(sizeof(uint64_t) * 1024), 1024, 0, malloc(sizeof(int64_t) * 1024)};
    if (table == NULL || set.slots == NULL || set.pairs == NULL) {
        free(table);
        free(set.slots);
        free(set.pairs);
        release_all(b, 1);
        return PyErr_NoMemory();
    }
    memset(set.slots, 0xFF, sizeof(uint64_t) * 1024);
    const uint64_t *restrict matrix = b[0].buf;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    int shift = 64;
    for (int64_t power = size; power > 1; power >>= 1) {
        shift--;
    }
    for (int64_t slot = 0; slot < size; slot++) {
        table[slot].band = -1;
    }
    for (int band = 0; band < bands && !failed; band++) {
        for (int64_t row = 0; row < rows && !failed; row++) {
            const uint64_t key = matrix[row * bands + band];
            int64_t slot = (int64_t)((key * CHUNK_MULTIPLIER) >> shift);
            while (table[slot].band == band && table[slot].key != key) {
                slot = (slot + 1) & (size - 1);
            }
            Bucket *bucket = &table[slot];
            if (bucket->band != band) {
                bucket->key = key;
                bucket->band = band;
                bucket->first = bucket->last = row;
                continue;
            }
            failed = pair_set_add(&set, bucket->last, row, rows) < 0 ||
                     (bucket->first != bucket->last && pair_set_add(&set, bucket->first, row, rows) < 0);
            bucket->last = row;
        }
    }
    Py_END_ALLOW_THREADS
    PyObject *result = failed ? PyErr_NoMemory()
                              : PyBytes_FromStringAndSize((const char *)set.pairs, (Py_ssize_t)(16 * set.count));
    free(table);
    free(set.slots);
    free(set.pairs);
    release_all(b, 1);
    return result;
}

/* ---- module ------------------------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"normalize", normalize, METH_VARARGS, normalize_doc},
    {"shingle_hashes", shingle_hashes, METH_VARARGS, shingle_hashes_doc},
    {"signatures", signatures, METH_VARARGS, signatures_doc},
    {"pair_jaccard", pair_jaccard, METH_VARARGS, pair_jaccard_doc},
    {"band_hashes", band_hashes, METH_VARARGS, band_hashes_doc},
    {"band_pairs", band_pairs, METH_VARARGS, band_pairs_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels", "C loops of text normalisation and near-duplicate detection.", -1, methods,
    NULL, NULL, NULL, NULL,
};

/* Raised with every change of a function's arguments or results, so that a stale build is caught on import
   (`kernels.py`) instead of failing with a confusing argument error. */
#define KERNELS_VERSION 1

PyMODINIT_FUNC PyInit__kernels(void) {
    PyObject *created = PyModule_Create(&module);
    if (created != NULL && PyModule_AddIntConstant(created, "VERSION", KERNELS_VERSION) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
