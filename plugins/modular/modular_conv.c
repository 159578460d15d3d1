/* SPDX-License-Identifier: MIT */
/* Conv modules: an example's patch rows (one row of c*k*k inputs per output position, so a
 * module's GEMM over its examples is [rows x c*k*k] x [c*k*k x out]) and the move between
 * the GEMM's position-major output and the layer's channel-major {out, oh, ow}. */
#include "modular.h"

void mod_im2row(const mod_conv *cv, const float *x, float *rows)
{
    int32_t k = cv->k;
    for (int32_t oy = 0; oy < cv->oh; oy++)
        for (int32_t ox = 0; ox < cv->ow; ox++) {
            float *r = rows + ((size_t)oy * cv->ow + ox) * (size_t)(cv->c * k * k);
            for (int32_t ci = 0; ci < cv->c; ci++) {
                const float *plane = x + (size_t)ci * cv->h * cv->w;
                for (int32_t ky = 0; ky < k; ky++) {
                    int32_t iy = oy * cv->s - cv->p + ky;
                    for (int32_t kx = 0; kx < k; kx++) {
                        int32_t ix = ox * cv->s - cv->p + kx;
                        *r++ = iy >= 0 && iy < cv->h && ix >= 0 && ix < cv->w
                                   ? plane[(size_t)iy * cv->w + ix] : 0.0f;
                    }
                }
            }
        }
}

void mod_row2im_add(const mod_conv *cv, const float *rows, float *gx)
{
    int32_t k = cv->k;
    for (int32_t oy = 0; oy < cv->oh; oy++)
        for (int32_t ox = 0; ox < cv->ow; ox++) {
            const float *r = rows + ((size_t)oy * cv->ow + ox) * (size_t)(cv->c * k * k);
            for (int32_t ci = 0; ci < cv->c; ci++) {
                float *plane = gx + (size_t)ci * cv->h * cv->w;
                for (int32_t ky = 0; ky < k; ky++) {
                    int32_t iy = oy * cv->s - cv->p + ky;
                    for (int32_t kx = 0; kx < k; kx++, r++) {
                        int32_t ix = ox * cv->s - cv->p + kx;
                        if (iy >= 0 && iy < cv->h && ix >= 0 && ix < cv->w)
                            plane[(size_t)iy * cv->w + ix] += *r;
                    }
                }
            }
        }
}

void mod_conv_scatter(const modular *L, float g, const float *yj, const float *bias,
                      float *y, int overwrite)
{
    int32_t n = L->mrows, mo = L->mout;
    for (int32_t o = 0; o < mo; o++) {
        float b = bias ? bias[o] : 0.0f, *plane = y + (size_t)o * n;
        if (overwrite)
            for (int32_t r = 0; r < n; r++)
                plane[r] = g * (yj[(size_t)r * mo + o] + b);
        else
            for (int32_t r = 0; r < n; r++)
                plane[r] += g * (yj[(size_t)r * mo + o] + b);
    }
}

double mod_conv_gather_grad(const modular *L, float g, const float *gy, const float *yj,
                            float *d)
{
    int32_t n = L->mrows, mo = L->mout;
    double dot = 0.0;
    for (int32_t o = 0; o < mo; o++) {
        const float *plane = gy + (size_t)o * n;
        for (int32_t r = 0; r < n; r++) {
            d[(size_t)r * mo + o] = g * plane[r];
            if (L->mode == MOD_NOISY_TOPK)
                dot += (double)plane[r] * yj[(size_t)r * mo + o];
        }
    }
    return dot;
}
