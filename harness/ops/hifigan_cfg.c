/* hifigan_cfg.c — vocoder.hifigan's dims from its params, the weights file's path, the
 * tensors a config needs (SpeechT5HifiGan's names), the random weights' writer and the
 * check of a given file (every tensor present, its shape, a float dtype). */
#include <math.h>
#include <stdlib.h>

#include "hifigan.h"
#include "st64.h"
#include "st_write.h"

const int sono_hg_rates[SONO_HG_STAGES] = {8, 8, 2, 2};
const int sono_hg_ukernels[SONO_HG_STAGES] = {16, 16, 4, 4};
const int sono_hg_rkernels[SONO_HG_KERNELS] = {3, 7, 11};
const int sono_hg_dilations[3] = {1, 3, 5};

int sono_hg_dims_get(const sono_params *p, sono_hg_dims *d, sono_error *err)
{
    const char *c = sono_param_str(p, "config", "v1");
    *d = (sono_hg_dims){.config = c};
    if (strcmp(c, "v1") == 0)
        d->ch = 512;
    else if (strcmp(c, "v2") == 0)
        d->ch = 128;
    else if (strcmp(c, "custom") == 0)
        d->ch = (int)sono_param_int(p, "channels", 32);
    else
        return sono_fail(err, SONO_EINVAL, "vocoder.hifigan: config=%s; expected v1, v2 or "
                         "custom", c);
    if (d->ch < 16 || d->ch % 16)
        return sono_fail(err, SONO_EINVAL, "vocoder.hifigan: channels=%d must be a multiple "
                         "of 16 (four stages halve it)", d->ch);
    d->frames = sono_param_int(p, "frames", 862);
    d->samples = d->frames * SONO_HG_HOP;
    return 0;
}

int sono_hg_weights_path(const sono_params *p, const sono_hg_dims *d, char *path, size_t n,
                         sono_error *err)
{
    const char *w = sono_param_str(p, "weights", "random");
    if (strcmp(w, "random") != 0) {
        snprintf(path, n, "%s", w);
        return 0;
    }
    char name[160];
    snprintf(name, sizeof name, "hifigan-ch%d-random-v1-seed%lld.safetensors", d->ch,
             sono_param_int(p, "seed", 1));
    return sono_st_cache_path(name, path, n, err);
}

long long sono_hg_lookahead(void)
{
    long long f = SONO_HG_HOP, la = 3 * f; /* conv_pre's pad, in output samples */
    int rmax = 0;
    for (int j = 0; j < SONO_HG_KERNELS; j++) {
        int k = sono_hg_rkernels[j], r = 0;
        for (int m = 0; m < 3; m++)
            r += sono_hg_dilations[m] * (k - 1) / 2 + (k - 1) / 2;
        rmax = r > rmax ? r : rmax;
    }
    for (int i = 0; i < SONO_HG_STAGES; i++) {
        f /= sono_hg_rates[i];
        la += ((sono_hg_ukernels[i] - sono_hg_rates[i]) / 2 + rmax) * f;
    }
    return la + 3; /* conv_post */
}

/* The tensors of dims d in the random file's order. */
static int tensors(const sono_hg_dims *d, sono_st_list *l)
{
    char n[112];
    long long ch = d->ch;
    double b = 0.02;
    int rc = sono_st_push(l, "conv_pre.weight", 3, ch, SONO_HG_MELS, 7,
                          sqrt(3.0 / (7.0 * SONO_HG_MELS)), 0) ||
             sono_st_push(l, "conv_pre.bias", 1, ch, 0, 0, b, 0);
    for (int i = 0; !rc && i < SONO_HG_STAGES; i++) {
        long long ci = ch >> i, co = ch >> (i + 1), K = sono_hg_ukernels[i];
        double a = sqrt(3.0 / ((double)ci * K / sono_hg_rates[i]));
        snprintf(n, sizeof n, "upsampler.%d.weight", i);
        rc = sono_st_push(l, n, 3, ci, co, K, a, 0);
        snprintf(n, sizeof n, "upsampler.%d.bias", i);
        rc = rc || sono_st_push(l, n, 1, co, 0, 0, b, 0);
    }
    for (int i = 0; !rc && i < SONO_HG_STAGES; i++)
        for (int j = 0; !rc && j < SONO_HG_KERNELS; j++) {
            long long C = ch >> (i + 1), k = sono_hg_rkernels[j];
            for (int s = 1; !rc && s <= 2; s++)
                for (int m = 0; !rc && m < 3; m++) {
                    snprintf(n, sizeof n, "resblocks.%d.convs%d.%d.weight", 3 * i + j, s, m);
                    rc = sono_st_push(l, n, 3, C, C, k, sqrt(3.0 / ((double)C * k)), 0);
                    snprintf(n, sizeof n, "resblocks.%d.convs%d.%d.bias", 3 * i + j, s, m);
                    rc = rc || sono_st_push(l, n, 1, C, 0, 0, b, 0);
                }
        }
    long long c3 = ch >> SONO_HG_STAGES;
    rc = rc || sono_st_push(l, "conv_post.weight", 3, 1, c3, 7, sqrt(3.0 / (7.0 * c3)) / 5, 0) ||
         sono_st_push(l, "conv_post.bias", 1, 1, 0, 0, b, 0) ||
         sono_st_push(l, "mean", 1, SONO_HG_MELS, 0, 0, 1.0, 0) ||
         sono_st_push(l, "scale", 1, SONO_HG_MELS, 0, 0, 0, 4.0);
    return rc ? SONO_ENOMEM : 0;
}

/* Every tensor of d in the file with its shape (st64 checks the header, dtypes and
 * offsets at open; reading each tensor checks its shape). */
static int check_file(const char *path, const sono_hg_dims *d, sono_error *err)
{
    sono_st *st = NULL;
    int rc = sono_st_open(path, &st, err);
    if (rc)
        return rc == SONO_ENOTFOUND || rc == SONO_EIO ? SONO_EINVAL : rc;
    sono_st_list l = {0};
    rc = tensors(d, &l) ? sono_fail(err, SONO_ENOMEM, "%s: out of memory", path) : 0;
    for (int i = 0; !rc && i < l.n; i++) {
        const sono_st_tensor *t = &l.t[i];
        if (!sono_st_has(st, t->name)) {
            rc = sono_fail(err, SONO_EINVAL, "%s: tensor '%s' is missing (config=%s, "
                           "channels %d)", path, t->name, d->config, d->ch);
            break;
        }
        int ok = 1;
        for (int j = 0; j < 4 && ok; j++) {
            long long v = -1;
            int has = sono_st_dim(st, t->name, j, &v) == 0;
            ok = j < t->ndim ? has && v == t->shape[j] : !has;
        }
        if (!ok) {
            char got[80] = "", want[80] = "";
            for (int j = 0; j < 4; j++) {
                long long v;
                if (sono_st_dim(st, t->name, j, &v) == 0)
                    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld",
                             j ? ", " : "", v);
                if (j < t->ndim)
                    snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld",
                             j ? ", " : "", t->shape[j]);
            }
            rc = sono_fail(err, SONO_EINVAL, "%s: tensor '%s' has shape [%s], config=%s "
                           "(channels %d) expects [%s]", path, t->name, got, d->config,
                           d->ch, want);
        }
    }
    free(l.t);
    sono_st_close(st);
    return rc;
}

int sono_hg_weights_ready(const sono_params *p, const sono_hg_dims *d, sono_error *err)
{
    char path[4096];
    int rc = sono_hg_weights_path(p, d, path, sizeof path, err);
    if (rc)
        return rc;
    if (strcmp(sono_param_str(p, "weights", "random"), "random") != 0)
        return check_file(path, d, err);
    sono_st_list l = {0};
    if (tensors(d, &l))
        rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory listing tensors", path);
    else
        rc = sono_st_ensure_random(path, &l, NULL,
                                   (unsigned long long)sono_param_int(p, "seed", 1), err);
    free(l.t);
    return rc;
}
