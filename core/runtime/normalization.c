/* SPDX-License-Identifier: MIT */
/* The model's input normalisation, (x - mean) / std per channel (the first dim of {C,H,W}
 * examples, else one for all values): part of the model, so it is saved in the checkpoint
 * ("modlab.normalization") and a reloaded model scores as the run did. Forward writes the
 * normalised batch into a buffer made when the statistics are set; nothing allocates in a
 * step. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "formats/json.h"
#include "formats/safetensors.h"
#include "runtime/checkpoint.h"
#include "runtime/model.h"

int32_t mli_model_input_channels(const ml_model *m)
{
    return m->in.ndim == 3 ? m->in.dim[0] : 1;   /* as ml_dataset_channels */
}

int ml_model_set_normalization(ml_model *m, const double *mean, const double *std,
                               int32_t nch, ml_err *err)
{
    if (!m->built)
        return mli_error(err, ML_ERR_INVALID, "normalisation: build the model first");
    if (nch == 0) {
        m->norm_ch = 0;
        return ML_OK;
    }
    if (nch != mli_model_input_channels(m))
        return mli_error(err, ML_ERR_SHAPE, "normalisation: %d channels given, the model's "
                         "input has %d", nch, mli_model_input_channels(m));
    for (int32_t c = 0; c < nch; c++)
        if (!isfinite(mean[c]) || !isfinite(std[c]) || std[c] < 0)
            return mli_error(err, ML_ERR_INVALID, "normalisation: channel %d has mean %g and "
                             "std %g; both must be finite, std >= 0", c, mean[c], std[c]);
    if (!m->xnorm &&
        !(m->xnorm = mli_alloc_big((size_t)m->max_batch * (size_t)m->in_numel * sizeof(float))))
        return mli_error(err, ML_ERR_NOMEM, "normalisation: out of memory for the input buffer");
    double *mv = mli_alloc((size_t)nch * sizeof *mv), *sv = mli_alloc((size_t)nch * sizeof *sv);
    if (!mv || !sv) {
        mli_free(mv);
        mli_free(sv);
        return mli_error(err, ML_ERR_NOMEM, "normalisation: out of memory");
    }
    memcpy(mv, mean, (size_t)nch * sizeof *mv);
    memcpy(sv, std, (size_t)nch * sizeof *sv);
    mli_free(m->norm_mean);
    mli_free(m->norm_std);
    m->norm_mean = mv;
    m->norm_std = sv;
    m->norm_ch = nch;
    return ML_OK;
}

int32_t ml_model_normalization(const ml_model *m, const double **mean, const double **std)
{
    if (mean)
        *mean = m->norm_ch ? m->norm_mean : NULL;
    if (std)
        *std = m->norm_ch ? m->norm_std : NULL;
    return m->norm_ch;
}

void mli_model_norm_coeffs(const ml_model *m, int32_t c, float *scale, float *shift)
{
    double s = m->norm_std[c] > 1e-12 ? m->norm_std[c] : 1.0;
    *scale = (float)(1.0 / s);
    *shift = (float)(-m->norm_mean[c] / s);
}

/* x itself, or its normalised copy: a scale and a shift in float per channel. */
const float *mli_model_input(ml_model *m, const float *x, int32_t batch)
{
    if (!m->norm_ch)
        return x;
    int64_t per = m->in_numel / m->norm_ch;
    for (int32_t c = 0; c < m->norm_ch; c++) {
        float scale, shift;
        mli_model_norm_coeffs(m, c, &scale, &shift);
        for (int32_t b = 0; b < batch; b++) {
            const float *src = x + (int64_t)b * m->in_numel + c * per;
            float *dst = m->xnorm + (int64_t)b * m->in_numel + c * per;
            for (int64_t i = 0; i < per; i++)
                dst[i] = src[i] * scale + shift;
        }
    }
    return m->xnorm;
}

/* ---- in checkpoints: {"mean":[...],"std":[...]} ------------------------------------------ */

int mli_norm_save(const ml_model *m, ml_st_writer *w, const char *path, ml_err *err)
{
    ml_jbuf b;
    char num[40];
    int rc;
    if (!m->norm_ch)
        return ML_OK;
    mli_jbuf_init(&b);
    for (int k = 0; k < 2; k++) {
        const double *v = k ? m->norm_std : m->norm_mean;
        mli_jbuf_puts(&b, k ? "],\"std\":[" : "{\"mean\":[");
        for (int32_t c = 0; c < m->norm_ch; c++) {
            ml_format_double(num, sizeof num, v[c]);
            mli_jbuf_puts(&b, c ? "," : "");
            mli_jbuf_puts(&b, num);
        }
    }
    mli_jbuf_puts(&b, "]}");
    rc = mli_jbuf_finish(&b, path, err);
    if (!rc)
        rc = mli_st_writer_meta(w, ML_CKPT_NORMALIZATION, b.data, err);
    mli_jbuf_free(&b);
    return rc;
}

/* The file's statistics into mean/std (room for the model's channels); *nch 0 when the
 * file has none. Checked against the model before anything is applied. */
int mli_norm_parse(const ml_model *m, const ml_st_file *f, const char *path, int32_t *nch,
                   double *mean, double *std, ml_err *err)
{
    const char *text = mli_st_meta_get(f, ML_CKPT_NORMALIZATION);
    ml_json_doc *doc;
    int rc = ML_OK;
    *nch = 0;
    if (!text)
        return ML_OK;
    if (!(doc = mli_json_parse(text, strlen(text), NULL, NULL, err)))
        return mli_error_prefix(err, "%s: metadata %s", path, ML_CKPT_NORMALIZATION);
    const ml_json *root = mli_json_root(doc);
    for (int k = 0; k < 2 && !rc; k++) {
        const ml_json *arr = root->type == ML_JSON_OBJECT
                                 ? mli_json_get(root, k ? "std" : "mean") : NULL;
        int32_t c = 0;
        if (!arr || arr->type != ML_JSON_ARRAY || arr->count != (size_t)mli_model_input_channels(m)) {
            rc = mli_error(err, ML_ERR_FORMAT, "%s: metadata %s needs \"mean\" and \"std\" "
                           "arrays of %d numbers (the model's input channels)", path,
                           ML_CKPT_NORMALIZATION, mli_model_input_channels(m));
            break;
        }
        for (const ml_json *e = arr->first; e && !rc; e = e->next, c++) {
            double v = e->type == ML_JSON_NUMBER ? e->num : NAN;
            if (!isfinite(v) || (k && v < 0))
                rc = mli_error(err, ML_ERR_FORMAT, "%s: metadata %s: %s[%d] is not a finite "
                               "number%s", path, ML_CKPT_NORMALIZATION, k ? "std" : "mean", c,
                               k ? " >= 0" : "");
            (k ? std : mean)[c] = v;
        }
    }
    if (!rc)
        *nch = mli_model_input_channels(m);
    mli_json_free(doc);
    return rc;
}
