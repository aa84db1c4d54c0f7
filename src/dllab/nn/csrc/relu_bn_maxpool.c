/* One training stage of a Keras-style CNN, (conv bias) -> ReLU -> BatchNorm2d -> MaxPool2d, in
 * one pass over the input forward and one backward (the maths and the PyTorch side:
 * dllab/nn/fused.py).
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
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Channels go in blocks of BLOCK = 16, one AVX-512 register: with a constant trip count the
 * inner loops compile to straight vector code. */
#define BLOCK 16

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
    float best[BLOCK], at_best[BLOCK];
    int32_t where[BLOCK];
    for (int64_t di = 0; di < k; di++)
        for (int64_t dj = 0; dj < k; dj++) {
            const float *restrict row = corner + (di * W + dj) * C;
            int32_t pos = (int32_t)(di * k + dj);
#pragma omp simd
            for (int64_t c = 0; c < BLOCK; c++) {
                float v = relu(row[c] + lead[c]), m = sign[c] * v;
                int better = pos == 0 || !(m <= best[c]);
                best[c] = better ? m : best[c];
                at_best[c] = better ? v : at_best[c];
                where[c] = better ? pos : where[c];
                sum[c] += v;
                sumsq[c] += v * v;
            }
        }
#pragma omp simd
    for (int64_t c = 0; c < BLOCK; c++) {
        xmax[c] = at_best[c];
        argmax[c] = (uint8_t)where[c];
    }
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
 * batch mean and 1 / sqrt(var + eps) per channel. The running statistics (unless NULL) move
 * towards the batch's by `momentum`, with the unbiased variance, as BatchNorm2d's do. */
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
        if (running_mean != NULL) {
            running_mean[c] += (float)(momentum * (m - running_mean[c]));
            running_var[c] += (float)(momentum * (v * count / (count - 1.0) - running_var[c]));
        }
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
    if (g == NULL) {
#pragma omp simd
        for (int64_t c = 0; c < BLOCK; c++) {
            float v = in[c] + coef.lead[c];
            float d = v > 0.0f ? coef.offset[c] + coef.slope[c] * v : 0.0f;
            out[c] = d;
            dlead[c] += d;
        }
        return;
    }
#pragma omp simd
    for (int64_t c = 0; c < BLOCK; c++) {
        float v = in[c] + coef.lead[c];
        float hit = where[c] == pos ? coef.a[c] * g[c] : 0.0f;
        float d = v > 0.0f ? coef.offset[c] + coef.slope[c] * v + hit : 0.0f;
        out[c] = d;
        dlead[c] += d;
    }
}

/* One image row h of sample b: dx for each pixel, its sum added to dlead. */
static void grad_row(const float *x, float *dx, int64_t b, int64_t h, int64_t H, int64_t W,
                     int64_t C, int64_t k, Coefficients coef, const float *dpooled,
                     const uint8_t *argmax, float *dlead) {
    int64_t ph = H / k, pw = W / k, i = h / k, w = 0;
    const float *in = x + (b * H + h) * W * C;
    float *out = dx + (b * H + h) * W * C;
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

/* Training backward. With a = gamma * invstd and M = B*H*W, batch norm's input gradient is
 * a * (g - sum(g)/M - xhat * sum(g * xhat)/M), where g, the pooling's input gradient, is
 * dpooled at each window's maximum and 0 elsewhere: so both sums run over the pooled
 * positions, and the gradient is an affine function of v plus a * g, masked by the ReLU. The
 * bias gradient dlead is the sum of dx over the batch and the image. */
void relu_bn_maxpool_backward(const float *x, int64_t B, int64_t H, int64_t W, int64_t C,
                              const float *lead, const float *weight, const float *mean,
                              const float *invstd, int64_t k, const float *dpooled,
                              const uint8_t *argmax, const float *xmax, int threads, float *dx,
                              float *dlead, float *dweight, float *dbias) {
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
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; t++) {
        float *row_sum = malloc((size_t)C * sizeof(float));
        for (int64_t r = B * H * t / threads; r < B * H * (t + 1) / threads; r++) {
            for (int64_t c = 0; c < C; c++) row_sum[c] = 0.0f;
            grad_row(x, dx, r / H, r % H, H, W, C, k, coef, dpooled, argmax, row_sum);
            for (int64_t c = 0; c < C; c++) partial[t * C + c] += row_sum[c];
        }
        free(row_sum);
    }
    for (int64_t c = 0; c < C; c++) {
        double total = 0.0;
        for (int t = 0; t < threads; t++) total += partial[t * C + c];
        dlead[c] = (float)total;
    }
    free(sums);
    free(partial);
    free(a);
}
