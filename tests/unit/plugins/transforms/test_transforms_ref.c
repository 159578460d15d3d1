/* SPDX-License-Identifier: MIT */
/* random_affine with rotations and gaussian_noise against numpy (tf_ref.py): the test
 * hands over the example and the raw 64-bit values of its stream; the script interprets
 * them as the plugin documents its draws and computes the output its own way (a forward
 * matrix inverted by numpy; Box-Muller). Skips without /usr/bin/python3 and numpy. */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "tf_test.h"

enum { CASES = 12, RAW = 64 };

static void put_raw(FILE *f, uint64_t seed, uint64_t stream, int n)
{
    ml_rng r;
    mli_rng_init(&r, seed, stream);
    for (int i = 0; i < n; i++)
        fprintf(f, " %llu", (unsigned long long)mli_rng_next(&r));
}

/* Run tf_ref.py IN OUT; its exit status (77: no numpy), or -1. */
static int run_ref(const char *in, const char *out)
{
    const char *src = getenv("top_srcdir");
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/unit/plugins/transforms/tf_ref.py",
             src ? src : ".");
    pid_t pid = fork();
    if (pid == 0) {
        execl("/usr/bin/python3", "python3", script, in, out, (char *)NULL);
        _exit(77);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
    ml_err err;
    char in[4096], out[4096];
    reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, ML_ABS_BUILDDIR "/build-plugins", &err)) {
        printf("not ok 1 - transforms.so loads (%s)\n1..1\n", err.msg);
        return 1;
    }
    mkdir(ML_ABS_BUILDDIR "/tests/out", 0777);
    mkdir(ML_ABS_BUILDDIR "/tests/out/transforms", 0777);
    snprintf(in, sizeof in, "%s/tests/out/transforms/ref_in.txt", ML_ABS_BUILDDIR);
    snprintf(out, sizeof out, "%s/tests/out/transforms/ref_out.txt", ML_ABS_BUILDDIR);

    /* Odd and even sizes: the centre on a pixel and between pixels. */
    const int C = 2, H[2] = {9, 8}, W[2] = {7, 10}, N = 31;
    tfx aff[2], nz;
    int made = !tfx_new(&aff[0], "random_affine", "degrees=40 shift=0.2 fill=7",
                        shape3(C, H[0], W[0]), ML_DTYPE_U8, &err) &&
               !tfx_new(&aff[1], "random_affine", "degrees=180 shift=0.1 fill=0",
                        shape3(C, H[1], W[1]), ML_DTYPE_U8, &err);
    ml_shape ns = {1, {N}};
    made = made && !tfx_new(&nz, "gaussian_noise", "std=0.7", ns, ML_DTYPE_F32, &err);
    if (!made) {
        printf("not ok 1 - create: %s\n1..1\n", err.msg);
        return 1;
    }
    unsigned char *ax[2 * CASES];
    float *nx[CASES];
    FILE *f = fopen(in, "w");
    for (int k = 0; k < 2 * CASES; k++) {
        int s = k & 1, n = C * H[s] * W[s];
        unsigned char *x = example(ML_DTYPE_U8, n, (unsigned)k);
        ax[k] = dup_bytes(x, (size_t)n);
        tfx_apply(&aff[s], ax[k], 17, (uint64_t)k, &err);
        fprintf(f, "affine %d %d %d %s ", C, H[s], W[s], s ? "180 0.1" : "40 0.2");
        fprintf(f, "%d", s ? 0 : 7);
        put_raw(f, 17, (uint64_t)k, 3);
        fprintf(f, "\n");
        for (int i = 0; i < n; i++)
            fprintf(f, "%d ", x[i]);
        fprintf(f, "\n");
        free(x);
    }
    for (int k = 0; k < CASES; k++) {
        float *x = example(ML_DTYPE_F32, N, (unsigned)k + 100);
        nx[k] = dup_bytes(x, sizeof(float) * N);
        tfx_apply(&nz, nx[k], 23, (uint64_t)k, &err);
        fprintf(f, "noise %d 0.7", N);
        put_raw(f, 23, (uint64_t)k, N + 1);
        fprintf(f, "\n");
        for (int i = 0; i < N; i++)
            fprintf(f, "%.9g ", x[i]);
        fprintf(f, "\n");
        free(x);
    }
    fclose(f);
    int rc = run_ref(in, out);
    if (rc == 77) {
        printf("ok 1 # SKIP /usr/bin/python3 with numpy is not available\n1..1\n");
        return 0;
    }
    ok(rc == 0, "tf_ref.py ran (exit %d)", rc);
    f = fopen(out, "r");
    int amatch = 1, turned = 0, ties = 0, nmatch = 1;
    for (int k = 0; f && k < 2 * CASES; k++) {
        int s = k & 1, n = C * H[s] * W[s], moved = 0;
        unsigned char *x = example(ML_DTYPE_U8, n, (unsigned)k);
        for (int i = 0; i < n; i++) {
            char tok[32];
            if (fscanf(f, "%31s", tok) != 1) {
                amatch = 0;
                break;
            }
            if (tok[0] == '*') {
                ties++;
                continue;
            }
            amatch &= atoi(tok) == ax[k][i];
            moved |= x[i] != ax[k][i];
        }
        turned += moved;
        free(x);
    }
    for (int k = 0; f && k < CASES; k++)
        for (int i = 0; i < N; i++) {
            float v;
            if (fscanf(f, "%f", &v) != 1 || v != nx[k][i])
                nmatch = 0;
        }
    if (f)
        fclose(f);
    ok(amatch && turned == 2 * CASES, "random_affine (rotation and shift, uint8, odd and even "
       "sizes) equals numpy's inverse-matrix resampling on %d examples (%d near-half "
       "coordinates left out)", 2 * CASES, ties);
    ok(nmatch, "gaussian_noise equals numpy's Box-Muller from the same stream, bit for bit, "
       "on %d examples", CASES);
    for (int k = 0; k < 2 * CASES; k++)
        free(ax[k]);
    for (int k = 0; k < CASES; k++)
        free(nx[k]);
    tfx_free(&aff[0]);
    tfx_free(&aff[1]);
    tfx_free(&nz);
    ml_registry_free(reg);
    return done_testing();
}
