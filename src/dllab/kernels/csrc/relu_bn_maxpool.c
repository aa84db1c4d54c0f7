/* One training stage of a Keras-style CNN, (conv bias) -> ReLU -> BatchNorm2d -> MaxPool2d, in
 * one pass over the input forward and one backward (the maths and the PyTorch operator:
 * dllab/kernels/relu_bn_maxpool.py).
 *
 * Layout: every 4-D tensor is channels-last (NHWC) float32, contiguous. x and dx are
 * (B, H, W, C): x is the convolution's output without its bias, which is added here (`lead`,
 * per channel; zeros when there is none), and the ReLU is applied on the fly: neither is ever
 * stored. pooled, dpooled, argmax and xmax are (B, H/k, W/k, C), floor division: rows and
 * columns no window covers count in the statistics but get no pooled gradient, as in torch.
 * argmax is the position of the maximum inside its k x k window, row-major, in [0, k*k); xmax
 * is relu(x + lead) there.
 *
 * Batch norm's output y = alpha v + beta, v = relu(x + lead), alpha = gamma / sqrt(var + eps),
 * has the sign of gamma, so its window maximum sits where sign(gamma) v is largest: the pass
 * that sums v and v^2 for the statistics also finds each window's maximum, before the
 * statistics are known. Ties keep the first position and a NaN wins, as in max_pool2d.
 *
 * The statistics sum k image rows at a time in float and those partial sums in double, so the
 * variance E[v^2] - E[v]^2 keeps float precision whatever the ratio of mean to spread. OpenMP
 * threads split the batch; each keeps its own partial sums, added in a fixed order, so results
 * do not depend on scheduling. C must be a multiple of BLOCK.
 *
 * When x is a first layer's convolution of `source` (whose gradient nobody needs), the backward
 * pass gives that convolution's weight gradient instead of dx (see Convolution below).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

/* Channels go in blocks of BLOCK = 16, one AVX-512 register: with a constant trip count the
 * inner loops compile to straight vector code. */
#define BLOCK 16

/* BLOCK channels as one vector (GCC and Clang vector extensions), loadable from any float; a
 * comparison of two gives a mask_t of -1 (true) and 0. */
typedef float block_t __attribute__((vector_size(BLOCK * sizeof(float)), aligned(sizeof(float))));
typedef int32_t mask_t __attribute__((vector_size(BLOCK * sizeof(int32_t))));

static inline block_t load(const float *p) { return *(const block_t *)p; }

/* BLOCK bytes widened to int32, and back (GCC 12 converts a vector of bytes one at a time). */
static inline mask_t widen(const uint8_t *p) {
#ifdef __AVX512F__
    return (mask_t)_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
#else
    mask_t wide;
    for (int c = 0; c < BLOCK; c++) wide[c] = p[c];
    return wide;
#endif
}

static inline void narrow(mask_t wide, uint8_t *p) {
#ifdef __AVX512F__
    _mm_storeu_si128((__m128i *)p, _mm512_cvtepi32_epi8((__m512i)wide));
#else
    for (int c = 0; c < BLOCK; c++) p[c] = (uint8_t)wide[c];
#endif
}

/* v where mask is true, 0 elsewhere; and a where mask is true, b elsewhere. */
static inline block_t keep(mask_t mask, block_t v) { return (block_t)(mask & (mask_t)v); }

static inline block_t pick(mask_t mask, block_t a, block_t b) {
    return (block_t)((mask & (mask_t)a) | (~mask & (mask_t)b));
}

static inline float relu(float v) { return v < 0.0f ? 0.0f : v; } /* NaN stays NaN */

/* Adds v and v^2 of `count` positions (C channels each) to s and q. */
static void add_moments(const float *restrict x, const float *restrict lead, int64_t count,
                        int64_t C, double *restrict s, double *restrict q) {
    for (int64_t p = 0; p < count; p++) {
#pragma omp simd
        for (int64_t c = 0; c < C; c++) {
            float v = relu(x[p * C + c] + lead[c]);
            s[c] += v;
            q[c] += (double)v * v;
        }
    }
}

/* Channels [0, BLOCK) of one k x k window at `corner`: adds v and v^2 to the band's float
 * sums, and finds where sign * v is largest. */
static inline void pool_window(const float *restrict corner, int64_t W, int64_t C, int64_t k,
                               const float *restrict lead, const float *restrict sign,
                               float *restrict sum, float *restrict sumsq,
                               float *restrict xmax, uint8_t *restrict argmax) {
    block_t best = {0}, at_best = {0}, total = load(sum), squares = load(sumsq);
    mask_t where = {0};
    for (int64_t di = 0; di < k; di++)
        for (int64_t dj = 0; dj < k; dj++) {
            block_t x = load(corner + (di * W + dj) * C) + load(lead);
            block_t v = keep(~(x < 0.0f), x); /* relu; NaN stays NaN */
            block_t m = load(sign) * v;
            mask_t better = ~(m <= best) | -(di + dj == 0); /* the first, a larger one or NaN */
            int32_t pos = (int32_t)(di * k + dj);
            best = pick(better, m, best);
            at_best = pick(better, v, at_best);
            where = (better & pos) | (~better & where);
            total += v;
            squares += v * v;
        }
    *(block_t *)sum = total;
    *(block_t *)sumsq = squares;
    *(block_t *)xmax = at_best;
    narrow(where, argmax);
}

/* One band of k image rows: its windows, whose maxima go to xmax and argmax. */
static void pool_band(const float *restrict band, int64_t W, int64_t C, int64_t k, int64_t pw,
                      const float *restrict lead, const float *restrict sign,
                      float *restrict sum, float *restrict sumsq, float *restrict xmax,
                      uint8_t *restrict argmax) {
    for (int64_t j = 0; j < pw; j++)
        for (int64_t c = 0; c < C; c += BLOCK)
            if (k == 2) /* the usual case, unrolled by the compiler */
                pool_window(band + j * 2 * C + c, W, C, 2, lead + c, sign + c, sum + c,
                            sumsq + c, xmax + j * C + c, argmax + j * C + c);
            else
                pool_window(band + j * k * C + c, W, C, k, lead + c, sign + c, sum + c,
                            sumsq + c, xmax + j * C + c, argmax + j * C + c);
}

/* Training forward: pooled = maxpool_k(batch_norm(relu(x + lead))), with argmax, xmax, and the
 * batch mean and 1 / sqrt(var + eps) per channel. The running statistics move towards the
 * batch's by `momentum`, with the unbiased variance, as BatchNorm2d's do. */
void relu_bn_maxpool_forward(const float *x, int64_t B, int64_t H, int64_t W, int64_t C,
                             const float *lead, const float *weight, const float *bias,
                             double eps, int64_t k, float *running_mean, float *running_var,
                             double momentum, int threads, float *pooled, uint8_t *argmax,
                             float *xmax, float *mean, float *invstd) {
    int64_t ph = H / k, pw = W / k;
    double *partial = calloc((size_t)(2 * threads * C), sizeof(double));
    float *sign = malloc(3 * (size_t)C * sizeof(float)), *alpha = sign + C, *shift = sign + 2 * C;
    for (int64_t c = 0; c < C; c++) sign[c] = (float)((weight[c] > 0.0f) - (weight[c] < 0.0f));
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; t++) {
        double *s = partial + 2 * t * C, *q = s + C;
        float *sum = malloc(2 * (size_t)C * sizeof(float)), *sumsq = sum + C;
        for (int64_t b = B * t / threads; b < B * (t + 1) / threads; b++) {
            for (int64_t i = 0; i < ph; i++) {
                const float *band = x + (b * H + i * k) * W * C;
                int64_t out = (b * ph + i) * pw * C;
                for (int64_t c = 0; c < 2 * C; c++) sum[c] = 0.0f;
                pool_band(band, W, C, k, pw, lead, sign, sum, sumsq, xmax + out, argmax + out);
                for (int64_t c = 0; c < C; c++) {
                    s[c] += sum[c];
                    q[c] += sumsq[c];
                }
                for (int64_t r = 0; r < k; r++) /* columns right of the last window */
                    add_moments(band + (r * W + pw * k) * C, lead, W - pw * k, C, s, q);
            }
            add_moments(x + (b * H + ph * k) * W * C, lead, (H - ph * k) * W, C, s, q);
        }
        free(sum);
    }
    double count = (double)(B * H * W);
    for (int64_t c = 0; c < C; c++) {
        double sum = 0.0, sumsq = 0.0;
        for (int t = 0; t < threads; t++) {
            sum += partial[2 * t * C + c];
            sumsq += partial[2 * t * C + C + c];
        }
        double m = sum / count, v = sumsq / count - m * m;
        v = v > 0.0 ? v : 0.0;
        mean[c] = (float)m;
        invstd[c] = (float)(1.0 / sqrt(v + eps));
        alpha[c] = invstd[c] * weight[c];
        shift[c] = bias[c] - mean[c] * alpha[c];
        running_mean[c] += (float)(momentum * (m - running_mean[c]));
        running_var[c] += (float)(momentum * (v * count / (count - 1.0) - running_var[c]));
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t p = 0; p < B * ph * pw; p++) {
        const float *restrict at = xmax + p * C;
        float *restrict y = pooled + p * C;
#pragma omp simd
        for (int64_t c = 0; c < C; c++) y[c] = at[c] * alpha[c] + shift[c];
    }
    free(partial);
    free(sign);
}

/* The per-channel coefficients of the backward pass, packed so one pointer carries them. */
typedef struct {
    const float *lead, *a, *slope, *offset;
} Coefficients;

/* One pixel's BLOCK channels of dx = relu'(v) (offset + slope v + a g [pos is the window's
 * argmax]), g = NULL for pixels outside every window; adds dx to dlead, the bias gradient. */
static inline void grad_block(const float *restrict in, float *restrict out, Coefficients coef,
                              const float *restrict g, const uint8_t *restrict where, int pos,
                              float *restrict dlead) {
    block_t v = load(in) + load(coef.lead);
    block_t d = load(coef.offset) + load(coef.slope) * v;
    if (g != NULL) {
        d += keep(widen(where) == pos, load(coef.a) * load(g));
    }
    d = keep(v > 0.0f, d); /* NaN gives 0, as relu's gradient does */
    *(block_t *)out = d;
    *(block_t *)dlead += d;
}

/* One image row h of sample b: dx for each pixel into `out` (W x C), its sum added to dlead. */
static void grad_row(const float *x, float *out, int64_t b, int64_t h, int64_t H, int64_t W,
                     int64_t C, int64_t k, Coefficients coef, const float *dpooled,
                     const uint8_t *argmax, float *dlead) {
    int64_t ph = H / k, pw = W / k, i = h / k, w = 0;
    const float *in = x + (b * H + h) * W * C;
    for (int64_t j = 0; i < ph && j < pw; j++) {
        int64_t window = ((b * ph + i) * pw + j) * C;
        for (int64_t dj = 0; dj < k; dj++, w++)
            for (int64_t c = 0; c < C; c += BLOCK) {
                Coefficients at = {coef.lead + c, coef.a + c, coef.slope + c, coef.offset + c};
                grad_block(in + w * C + c, out + w * C + c, at, dpooled + window + c,
                           argmax + window + c, (int)((h - i * k) * k + dj), dlead + c);
            }
    }
    for (; w < W; w++) /* outside every window */
        for (int64_t c = 0; c < C; c += BLOCK) {
            Coefficients at = {coef.lead + c, coef.a + c, coef.slope + c, coef.offset + c};
            grad_block(in + w * C + c, out + w * C + c, at, NULL, NULL, 0, dlead + c);
        }
}

/* The convolution that made x, when its input needs no gradient: a KH x KW kernel over `source`
 * (B, H + KH - 1, W + KW - 1, Cin), stride 1, no padding. Its weight gradient, (C, KH, KW, Cin),
 * is the sum over pixels of dx times the input patch under the kernel, which the backward pass
 * adds up one row of dx at a time: dx itself is never stored. */
typedef struct {
    const float *source;
    int64_t Cin, KH, KW;
} Convolution;

/* At most TAPS taps (kernel positions x input channels) at a time: their BLOCK-channel
 * accumulators and a pixel's gradient stay in the 32 AVX-512 registers. */
#define TAPS 12

/* sum[t] += the sum over the W pixels of a row of d[w] * patch[w][t], for taps t in [0, n):
 * d[w] is BLOCK channels of dx (pixel stride C), patch[w][t] = at[w * Cin + offset[t]]. */
static inline __attribute__((always_inline)) void
add_taps(const float *restrict d, int64_t W, int64_t C, const float *at, int64_t Cin,
         const int64_t *offset, int64_t n, block_t *restrict sum) {
    block_t acc[TAPS] = {0};
    for (int64_t w = 0; w < W; w++) {
        block_t dw = *(const block_t *)(d + w * C);
        const float *patch = at + w * Cin;
        for (int64_t t = 0; t < n; t++) acc[t] += dw * patch[offset[t]];
    }
    for (int64_t t = 0; t < n; t++) sum[t] += acc[t];
}

/* add_taps with a constant n, one case for each n in [1, TAPS], so acc stays in registers. */
#define ADD_TAPS(N)                                                                            \
    case N:                                                                                    \
        add_taps(d, W, C, at, Cin, offset, N, sum);                                            \
        return;

static void add_taps_by_count(const float *d, int64_t W, int64_t C, const float *at, int64_t Cin,
                              const int64_t *offset, int64_t n, block_t *sum) {
    switch (n) {
        ADD_TAPS(1) ADD_TAPS(2) ADD_TAPS(3) ADD_TAPS(4) ADD_TAPS(5) ADD_TAPS(6)
        ADD_TAPS(7) ADD_TAPS(8) ADD_TAPS(9) ADD_TAPS(10) ADD_TAPS(11) ADD_TAPS(12)
    }
}

/* Adds row (b, h)'s share of the weight gradient to sum, (C / BLOCK, P, BLOCK) for P taps: d
 * (W x C) is that row of dx. The taps go in equal chunks of at most TAPS (27 = 3 x 9 for a
 * 3 x 3 kernel over RGB). */
static void add_weight_grad(const float *d, int64_t b, int64_t h, int64_t H, int64_t W,
                            int64_t C, Convolution conv, const int64_t *offset, block_t *sum) {
    int64_t Hin = H + conv.KH - 1, Win = W + conv.KW - 1, P = conv.KH * conv.KW * conv.Cin;
    int64_t chunks = (P + TAPS - 1) / TAPS, n = (P + chunks - 1) / chunks;
    const float *at = conv.source + (b * Hin + h) * Win * conv.Cin;
    for (int64_t c = 0; c < C; c += BLOCK)
        for (int64_t t = 0; t < P; t += n)
            add_taps_by_count(d + c, W, C, at, conv.Cin, offset + t, P - t < n ? P - t : n,
                              sum + c / BLOCK * P + t);
}

/* Moves sum, (C / BLOCK, P, BLOCK) floats, into total, (C, P) doubles, and zeroes it. */
static void flush_weight_grad(block_t *sum, int64_t C, int64_t P, double *total) {
    for (int64_t c = 0; c < C; c++)
        for (int64_t t = 0; t < P; t++) {
            total[c * P + t] += sum[c / BLOCK * P + t][c % BLOCK];
            sum[c / BLOCK * P + t][c % BLOCK] = 0.0f;
        }
}

/* total[i] = the sum over threads t of partial[t * n + i], in a fixed order. */
static void add_threads(const double *partial, int threads, int64_t n, float *total) {
    for (int64_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int t = 0; t < threads; t++) sum += partial[t * n + i];
        total[i] = (float)sum;
    }
}

/* Training backward. With a = gamma * invstd and M = B*H*W, batch norm's input gradient is
 * a * (g - sum(g)/M - xhat * sum(g * xhat)/M), where g, the pooling's input gradient, is
 * dpooled at each window's maximum and 0 elsewhere: so both sums run over the pooled
 * positions, and the gradient is an affine function of v plus a * g, masked by the ReLU. The
 * bias gradient dlead is the sum of dx over the batch and the image. With a `source` (else
 * NULL), dx (then NULL) is not written: dconv, (C, KH, KW, Cin), gets the weight gradient of
 * the convolution that made x from it. */
void relu_bn_maxpool_backward(const float *x, int64_t B, int64_t H, int64_t W, int64_t C,
                              const float *lead, const float *weight, const float *mean,
                              const float *invstd, int64_t k, const float *dpooled,
                              const uint8_t *argmax, const float *xmax, int threads, float *dx,
                              float *dlead, float *dweight, float *dbias,
                              const float *source, int64_t Cin, int64_t KH, int64_t KW,
                              float *dconv) {
    int64_t ph = H / k, pw = W / k;
    double *sums = calloc(2 * (size_t)C, sizeof(double)), *sum_g = sums, *sum_g_xhat = sums + C;
    double *partial = calloc((size_t)(threads * C), sizeof(double));
    float *a = malloc(3 * (size_t)C * sizeof(float)), *slope = a + C, *offset = a + 2 * C;
    for (int64_t p = 0; p < B * ph * pw; p++) {
#pragma omp simd
        for (int64_t c = 0; c < C; c++) {
            float g = dpooled[p * C + c];
            sum_g[c] += g;
            sum_g_xhat[c] += g * ((xmax[p * C + c] - mean[c]) * invstd[c]);
        }
    }
    double count = (double)(B * H * W);
    for (int64_t c = 0; c < C; c++) {
        dweight[c] = (float)sum_g_xhat[c];
        dbias[c] = (float)sum_g[c];
        a[c] = weight[c] * invstd[c];
        slope[c] = (float)(-a[c] * invstd[c] * (sum_g_xhat[c] / count));
        offset[c] = (float)(-a[c] * (sum_g[c] / count) - slope[c] * mean[c]);
    }
    Coefficients coef = {lead, a, slope, offset};
    Convolution conv = {source, Cin, KH, KW};
    int64_t P = source ? KH * KW * Cin : 0, *tap_offset = NULL;
    double *partial_conv = NULL;
    if (source) {
        tap_offset = malloc((size_t)P * sizeof(int64_t));
        for (int64_t t = 0; t < P; t++) /* tap (i, j, ci) -> its offset from the patch's corner */
            tap_offset[t] = ((t / (KW * Cin)) * (W + KW - 1) + (t / Cin) % KW) * Cin + t % Cin;
        partial_conv = calloc((size_t)(threads * C * P), sizeof(double));
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; t++) {
        int64_t first = B * H * t / threads, end = B * H * (t + 1) / threads;
        float *row_sum = malloc((size_t)C * (1 + (source ? W : 0)) * sizeof(float));
        float *row = source ? row_sum + C : NULL;
        block_t *image_sum = source ? calloc((size_t)(C / BLOCK * P), sizeof(block_t)) : NULL;
        for (int64_t r = first; r < end; r++) {
            for (int64_t c = 0; c < C; c++) row_sum[c] = 0.0f;
            grad_row(x, source ? row : dx + r * W * C, r / H, r % H, H, W, C, k, coef, dpooled,
                     argmax, row_sum);
            for (int64_t c = 0; c < C; c++) partial[t * C + c] += row_sum[c];
            if (source == NULL) continue;
            add_weight_grad(row, r / H, r % H, H, W, C, conv, tap_offset, image_sum);
            if (r % H == H - 1 || r == end - 1) /* each image's sum in float, the total in double */
                flush_weight_grad(image_sum, C, P, partial_conv + t * C * P);
        }
        free(row_sum);
        free(image_sum);
    }
    add_threads(partial, threads, C, dlead);
    if (source) add_threads(partial_conv, threads, C * P, dconv);
    free(tap_offset);
    free(partial_conv);
    free(sums);
    free(partial);
    free(a);
}
