/* dataset.c — `harness dataset corpus|pack|shard`: write the generated corpus, pack a
 * folder of audio files into one .sbd file, or write it as WebDataset tar shards. Needs
 * no plugins. Bad usage or a bad input file: exit 2 with a message naming it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "corpus.h"
#include "pack.h"
#include "sbd.h"

static const char USAGE[] =
    "usage: harness dataset corpus -o DIR [--clips N] [--seed S] "
    "[--formats wav,flac,vorbis,opus]\n"
    "       harness dataset pack DIR -o FILE.sbd [--encoding pcm16|f32|flac] [--rate R] "
    "[--ext EXT]\n"
    "       harness dataset shard DIR -o OUTDIR [--per-shard N] [--ext EXT]\n"
    "       harness dataset check FILE.sbd\n";

static int usage(const char *msg)
{
    fprintf(stderr, "harness dataset: %s\n%s", msg, USAGE);
    return SONO_EXIT_USAGE;
}

static int to_int(const char *s, long long lo, long long hi, long long *v)
{
    char *end;
    *v = strtoll(s, &end, 10);
    return *s && !*end && *v >= lo && *v <= hi ? 0 : -1;
}

static int done(int rc, const sono_error *err)
{
    if (!rc)
        return SONO_EXIT_OK;
    fprintf(stderr, "harness dataset: %s\n", err->msg);
    return SONO_EXIT_USAGE;
}

/* `dataset corpus -o DIR` writes DIR/wav, DIR/flac, ...: pack and shard given DIR itself
 * take one of those folders (the one --ext names; for --encoding flac, flac; else the
 * first there), and say which. A folder with audio of its own is used as it is. */
static const char *corpus_sub(const char *in, const char *ext, int encoding, char *buf,
                              size_t n)
{
    char *text;
    int count;
    sono_error e = {0};
    if (sono_corpus_manifest(in, ext, 1, &text, &count, &e) == 0) {
        free(text);
        return in;
    }
    const char *pick = NULL;
    for (int i = 0; sono_corpus_formats[i] && !pick; i++) {
        const char *f = sono_corpus_formats[i];
        struct stat st;
        snprintf(buf, n, "%s/%s", in, f);
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (ext ? strcmp(ext, sono_corpus_ext(f)) == 0
                : encoding != SONO_SBD_FLAC || strcmp(f, "flac") == 0)
            pick = f;
    }
    if (!pick)
        return in; /* the manifest's own message says what is missing */
    snprintf(buf, n, "%s/%s", in, pick);
    fprintf(stderr, "harness dataset: %s is a corpus folder: using %s (--ext picks another "
                    "format's folder)\n", in, buf);
    return buf;
}

int sono_cmd_dataset(int argc, char **argv)
{
    if (argc < 2)
        return usage("which one: corpus, pack, shard or check?");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(USAGE, stdout);
        return SONO_EXIT_OK;
    }
    const char *sub = argv[1], *in = NULL, *out = NULL, *formats = NULL, *ext = NULL;
    long long clips = 200, seed = 1, rate = 0, per_shard = 64;
    int encoding = SONO_SBD_PCM16;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = a[0] == '-';
        if (takes && !v)
            return usage("an option is missing its value");
        if (!takes) {
            if (in)
                return usage("one input folder only");
            in = a;
            continue;
        }
        i++;
        if (strcmp(a, "-o") == 0)
            out = v;
        else if (strcmp(a, "--clips") == 0 && !to_int(v, 1, 100000, &clips)) {
        } else if (strcmp(a, "--seed") == 0 && !to_int(v, 0, 1LL << 53, &seed)) {
        } else if (strcmp(a, "--rate") == 0 && !to_int(v, 1000, 384000, &rate)) {
        } else if (strcmp(a, "--per-shard") == 0 && !to_int(v, 1, 1000000, &per_shard)) {
        } else if (strcmp(a, "--formats") == 0)
            formats = v;
        else if (strcmp(a, "--ext") == 0)
            ext = v;
        else if (strcmp(a, "--encoding") == 0) {
            if ((encoding = sono_sbd_encoding(v)) < 0)
                return usage("--encoding: expected pcm16, f32 or flac");
        } else {
            fprintf(stderr, "harness dataset %s: bad option or value: %s %s\n", sub, a, v);
            return SONO_EXIT_USAGE;
        }
    }
    sono_error err = {0};
    if (strcmp(sub, "check") == 0) {
        if (!in)
            return usage("check: which .sbd file?");
        sono_sbd s;
        int rc = sono_sbd_open(in, 1, &s, &err);
        if (!rc) {
            printf("%s: %lld clips, %zu bytes, all checksums match\n", in, s.count, s.size);
            sono_sbd_close(&s);
        }
        return done(rc, &err);
    }
    if (!out)
        return usage("-o is required");
    if (strcmp(sub, "corpus") == 0)
        return done(sono_corpus_write(out, (int)clips, (unsigned long long)seed, formats, &err),
                    &err);
    if (!in)
        return usage("which folder?");
    char corpus[4200];
    in = corpus_sub(in, ext, encoding, corpus, sizeof corpus);
    if (strcmp(sub, "pack") == 0)
        return done(sono_pack_dir(in, ext, 1 << 30, encoding, (int)rate, out, &err), &err);
    if (strcmp(sub, "shard") == 0)
        return done(sono_shard_dir(in, ext, 1 << 30, (int)per_shard, out, NULL, &err), &err);
    return usage("unknown subcommand");
}
