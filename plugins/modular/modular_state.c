/* SPDX-License-Identifier: MIT */
/* Checkpoint state beyond the parameters: what a resumed run needs to continue training
 * exactly as an uninterrupted one. EM: the stored choice a* of every training example seen
 * (and the seed that initialises the ones not yet seen); both: the step count that places
 * the E-step batches; REINFORCE: the moving-average baseline. Layout: a fixed header, then
 * store_ids * rows * K int32 choices, native byte order (checkpoints are not portable
 * across endianness anyway: safetensors tensors are little-endian floats). */
#include <string.h>

#include "modular.h"

enum { STATE_VERSION = 1 };
static const char magic[4] = {'M', 'O', 'D', 'S'};

typedef struct state_head {
    char magic[4];
    uint32_t version;
    int32_t M, K, rows, mode;
    int64_t store_ids, steps;
    uint64_t store_seed;
    double baseline;
    int32_t baseline_set, reserved;
} state_head;

static size_t store_bytes(const modular *L, int64_t ids)
{
    return (size_t)ids * (size_t)L->rows * (size_t)L->K * sizeof(int32_t);
}

static const char *mode_name(int mode)
{
    return mode == MOD_EM ? "em" : mode == MOD_REINFORCE ? "reinforce" : "noisy_topk";
}

int mod_save(void *self, void *buf, size_t cap, size_t *len, ml_err *err)
{
    modular *L = self;
    state_head hd;
    size_t need = sizeof hd + store_bytes(L, L->store_ids);
    *len = need;
    if (!buf)
        return ML_OK;
    if (cap < need)
        return L->h->error(err, ML_ERR_INTERNAL, "modular: save got %zu bytes of room for "
                           "%zu bytes of state", cap, need);
    memset(&hd, 0, sizeof hd);
    memcpy(hd.magic, magic, sizeof magic);
    hd.version = STATE_VERSION;
    hd.M = L->M;
    hd.K = L->K;
    hd.rows = L->rows;
    hd.mode = L->mode;
    hd.store_ids = L->store_ids;
    hd.steps = L->steps;
    hd.store_seed = L->store_seed;
    hd.baseline = L->baseline;
    hd.baseline_set = L->baseline_set;
    memcpy(buf, &hd, sizeof hd);
    if (L->store_ids)
        memcpy((char *)buf + sizeof hd, L->store, store_bytes(L, L->store_ids));
    return ML_OK;
}

int mod_load(void *self, const void *buf, size_t len, const char *saved_version,
             ml_err *err)
{
    modular *L = self;
    const ml_host *h = L->h;
    state_head hd;
    if (len < sizeof hd)
        return h->error(err, ML_ERR_FORMAT, "modular: the saved state is %zu bytes, less "
                        "than its %zu-byte header (saved by version %s): the checkpoint is "
                        "truncated or not from this layer; re-save it with this build", len,
                        sizeof hd, saved_version ? saved_version : "?");
    memcpy(&hd, buf, sizeof hd);
    if (memcmp(hd.magic, magic, sizeof magic) != 0)
        return h->error(err, ML_ERR_FORMAT, "modular: the saved state does not start with "
                        "the layer's magic 'MODS': the checkpoint is corrupt or not from this "
                        "layer");
    if (hd.version != STATE_VERSION)
        return h->error(err, ML_ERR_UNSUPPORTED, "modular: the saved state has format "
                        "version %u but this build reads version %d: load it with the build "
                        "that saved it", hd.version, STATE_VERSION);
    if (hd.M != L->M || hd.K != L->K || hd.rows != L->rows || hd.mode != L->mode)
        return h->error(err, ML_ERR_SHAPE, "modular: the state was saved for modules=%d "
                        "select=%d rows=%d train=%s, but this layer has modules=%d select=%d "
                        "rows=%d train=%s: build the layer as it was saved", hd.M, hd.K,
                        hd.rows, hd.mode >= 0 && hd.mode <= 2 ? mode_name(hd.mode) : "?",
                        L->M, L->K, L->rows, mode_name(L->mode));
    if (hd.store_ids < 0 || hd.store_ids > (int64_t)(len / sizeof(int32_t)) ||
        len != sizeof hd + store_bytes(L, hd.store_ids))
        return h->error(err, ML_ERR_FORMAT, "modular: the saved state is %zu bytes but its "
                        "header promises %lld examples' selections (%zu bytes in all): the "
                        "checkpoint is truncated or corrupt", len, (long long)hd.store_ids,
                        sizeof hd + store_bytes(L, hd.store_ids > 0 ? hd.store_ids : 0));
    const int32_t *sel = (const int32_t *)(const void *)((const char *)buf + sizeof hd);
    size_t n = (size_t)hd.store_ids * (size_t)L->rows * (size_t)L->K;
    int32_t *store = NULL;
    if (n && !(store = h->alloc(n * sizeof(int32_t))))
        return h->error(err, ML_ERR_NOMEM, "modular: out of memory for %lld examples' "
                        "stored selections", (long long)hd.store_ids);
    if (n)
        memcpy(store, sel, n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++)
        if (store[i] < 0 || store[i] >= L->M) {
            h->free(store);
            return h->error(err, ML_ERR_FORMAT, "modular: the saved state selects module %d "
                            "of %d (entry %zu): the checkpoint is corrupt", store[i], L->M, i);
        }
    h->free(L->store);
    L->store = store;
    L->store_ids = hd.store_ids;
    L->store_seed = hd.store_seed;
    L->steps = hd.steps;
    L->baseline = hd.baseline;
    L->baseline_set = hd.baseline_set != 0;
    L->nids = 0;
    L->ncand = 0;
    L->have_reward = 0;
    L->candidate = ML_ESTEP_TRAIN;
    return ML_OK;
}
