/* plugin.c — the py backend's entry point: NumPy and PyTorch peers as impls of the
 * harness, run in one long-lived Python worker per harness process. The impl table is
 * static (what exists needs no Python); supports() reads the probe made at load (which
 * modules the chosen interpreter has); run() is timed inside the worker, so the devices
 * py:cpu and py:cuda ask it for k runs and return its figure, not the pipe's round trip.
 * py:cuda is the first GPU; py:cuda:N the others (a case's device=cuda:N, issue 27). */
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "py.h"

typedef struct py_def {
    const char *op;
    const char *impl; /* the worker's name: numpy, torch, torch-cuda, test-* */
    const char *summary;
    int cuda;         /* runs on py:cuda */
    int torch;        /* needs torch */
    const char *one_thread; /* why threads=1 only, or NULL when threads are honoured */
    int test;         /* planted failure: registered with SONO_PY_TEST_IMPLS=1 only */
    /* issue 14: params this impl refuses (a skip with the reason), or NULL */
    int (*refuse)(const sono_params *p, char *why, size_t n);
    const char *role; /* issue 24: a job the harness gives it (SONO_ROLE_PESQ), or NULL */
} py_def;

typedef struct state {
    const py_def *def;
    long long id;    /* the worker's state id */
    unsigned gen;    /* the worker it lives in */
    int have_info;
    char info[1024]; /* the worker's describe() */
    size_t workspace;
} state;

static py_probe probe;
static char pkgdir[4096];
static py_proc proc = {.to = -1, .from = -1};

#define ONE_NP "numpy.fft (pocketfft) is single-threaded"
/* torch 1.13 passes no thread count to pocketfft, its FFT without MKL (Debian's build);
 * measured: batch 64 x 65536 takes the same time with 1 and 2 threads */
#define ONE_TORCH "torch's CPU FFT without MKL (pocketfft) runs on one thread"
#define NP_FFT "numpy.fft (pocketfft, single-threaded, float64 inside numpy 1.x)"
#define NP_FE "numpy: reflect pad, strided frames, numpy.fft.rfft, filterbank matmul"
#define T_FE "torch.stft (reflect-centred) + filterbank/DCT matmul"
#define T_LOG "Whisper's log_mel_spectrogram: torch.stft, filters @ |X|**2, log10 clamp"
#define CUDA_IO "on CUDA; load/store copy host<->device"
#define T_VQ "torch.cdist + argmin (ties: argmin's first index, the lowest)"
#define T_CONV "F.conv1d / F.conv_transpose1d, causal pad or trim, fused ELU or Snake"
/* F.scaled_dot_product_attention is torch 2.0's: 1.13 (Debian's) takes the explicit path */
#define T_ATT "F.scaled_dot_product_attention where torch has it, else softmax(QK^T/sqrt(d)) V"
/* The worker sets torch.set_num_threads for it as for every torch row, but tests/test_impls.c
 * still holds every impl of an op without a sample rate to one thread */
#define ONE_ATT "held to one thread until tests/test_impls.c lists it among the threaded impls"
/* torchaudio 2.9 dropped its sox/FFmpeg backends: torchaudio.load goes through TorchCodec,
 * a package of its own (a GPU machine's torchaudio 2.11 had none). The worker says the same
 * for direct requests (sonopy/ta_io.py). */
static int refuse_ta_loader(char *why, size_t n)
{
    int major = 0, minor = 0;
    if (probe.torchcodec[0] || sscanf(probe.torchaudio, "%d.%d", &major, &minor) != 2 ||
        major < 2 || (major == 2 && minor < 9))
        return 0;
    snprintf(why, n, "torchaudio %s loads audio through TorchCodec (since 2.9), which is not "
             "installed", probe.torchaudio);
    return SONO_EUNSUPPORTED;
}

/* issue 14: torchaudio 0.13 decodes Opus through FFmpeg (Debian's libsox has no Opus
 * handler), which decodes Opus at 48 kHz only */
static int refuse_ta_decode(const sono_params *p, char *why, size_t n)
{
    long long sr = sono_param_int(p, "sample_rate", 44100);
    if (strcmp(sono_param_str(p, "format", "wav16"), "opus") != 0 || sr == 48000)
        return refuse_ta_loader(why, n);
    snprintf(why, n, "torchaudio decodes Opus (through FFmpeg) at 48000 Hz only, not %lld", sr);
    return SONO_EUNSUPPORTED;
}

/* issue 14: the DataLoader peer is a Dataset over a folder of files */
static int refuse_dataloader(const sono_params *p, char *why, size_t n)
{
    const char *s = sono_param_str(p, "source", "dir");
    if (strcmp(s, "dir") == 0)
        return refuse_ta_loader(why, n);
    snprintf(why, n, "source=%s: the DataLoader peer reads a folder of files (source=dir) "
             "only", s);
    return SONO_EUNSUPPORTED;
}

/* issue 11: transformers' EncodecModel, which landed in 4.31; the worker says the same
 * for direct requests (sonopy/encodec.py) */
static int refuse_encodec(const sono_params *p, char *why, size_t n)
{
    (void)p;
    int major = 0, minor = 0;
    if (!probe.transformers[0]) {
        snprintf(why, n, "transformers not installed for %s (Python %s): pip install "
                 "'transformers>=4.31' for EncodecModel", probe.python, probe.version);
        return SONO_EUNSUPPORTED;
    }
    if (sscanf(probe.transformers, "%d.%d", &major, &minor) == 2 &&
        (major < 4 || (major == 4 && minor < 31))) {
        snprintf(why, n, "transformers %s is too old: EncodecModel landed in 4.31",
                 probe.transformers);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}
/* issue 24: transformers' DacModel, which landed in 4.45 */
static int refuse_dac(const sono_params *p, char *why, size_t n)
{
    (void)p;
    int major = 0, minor = 0;
    if (!probe.transformers[0]) {
        snprintf(why, n, "transformers not installed for %s (Python %s): pip install "
                 "'transformers>=4.45' for DacModel", probe.python, probe.version);
        return SONO_EUNSUPPORTED;
    }
    if (sscanf(probe.transformers, "%d.%d", &major, &minor) == 2 &&
        (major < 4 || (major == 4 && minor < 45))) {
        snprintf(why, n, "transformers %s is too old: DacModel landed in 4.45",
                 probe.transformers);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}
/* issue 23: torchaudio's ctc_decoder builds on flashlight (its own extension or the
 * flashlight-text package), which the probe looks for; the worker says the same for direct
 * requests (sonopy/ctc_ta.py) */
static int refuse_ta_ctc(const sono_params *p, char *why, size_t n)
{
    (void)p;
    if (probe.ctc_decoder[0])
        return 0;
    snprintf(why, n, "torchaudio %s: ctc_decoder needs flashlight-text, not installed for %s",
             probe.torchaudio[0] ? probe.torchaudio : "(not installed)", probe.python);
    return SONO_EUNSUPPORTED;
}
/* issue 23: the beam search is a Python loop; greedy is one max and a loop per utterance */
#define ONE_CTC "a Python loop per frame or utterance: held to one thread like cpu/"
/* issue 24: the pesq package, found by the probe (the worker says the same at setup when
 * the import itself fails) */
static int refuse_pesq(const sono_params *p, char *why, size_t n)
{
    (void)p;
    if (probe.pesq[0])
        return 0;
    snprintf(why, n, "pesq not installed for %s (Python %s): pip install pesq==0.0.4 "
             "(ci/py-requirements.txt, make pyenv)", probe.python, probe.version);
    return SONO_EUNSUPPORTED;
}
#define T_ENC "transformers' EncodecModel (encode, decode, forward) with the same weights"

/* issue 23: transformers' WhisperEncoder; any 4.x has it, so only its absence refuses */
static int refuse_whisper(const sono_params *p, char *why, size_t n)
{
    (void)p;
    if (probe.transformers[0])
        return 0;
    snprintf(why, n, "transformers not installed for %s (Python %s): pip install "
             "transformers for WhisperEncoder", probe.python, probe.version);
    return SONO_EUNSUPPORTED;
}
#define T_WHI "transformers' WhisperEncoder with the same weights"
/* issue 23: transformers' Wav2Vec2FeatureEncoder; the worker says the same for direct
 * requests (sonopy/speech.py) */
static int refuse_w2v(const sono_params *p, char *why, size_t n)
{
    (void)p;
    if (!probe.transformers[0]) {
        snprintf(why, n, "transformers not installed for %s (Python %s): pip install "
                 "transformers for Wav2Vec2FeatureEncoder", probe.python, probe.version);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}
#define T_W2V "transformers' Wav2Vec2FeatureEncoder with the same weights"
/* issue 25: transformers' SpeechT5HifiGan; only transformers' absence refuses */
static int refuse_hifigan(const sono_params *p, char *why, size_t n)
{
    (void)p;
    if (probe.transformers[0])
        return 0;
    snprintf(why, n, "transformers not installed for %s (Python %s): pip install "
             "transformers for SpeechT5HifiGan", probe.python, probe.version);
    return SONO_EUNSUPPORTED;
}
#define T_HIFIGAN "transformers' SpeechT5HifiGan with the same weights"
#define T_WAVENET "a plain torch WaveNet stack (dilated Conv1d gates, 1x1 skip/residual), " \
                  "the same weights"
/* issue 24: transformers' MimiModel, which landed in 4.45; the worker says the same for
 * direct requests (sonopy/mimi.py) */
static int refuse_mimi(const sono_params *p, char *why, size_t n)
{
    (void)p;
    int major = 0, minor = 0;
    if (!probe.transformers[0]) {
        snprintf(why, n, "transformers not installed for %s (Python %s): pip install "
                 "'transformers>=4.45' for MimiModel", probe.python, probe.version);
        return SONO_EUNSUPPORTED;
    }
    if (sscanf(probe.transformers, "%d.%d", &major, &minor) == 2 &&
        (major < 4 || (major == 4 && minor < 45))) {
        snprintf(why, n, "transformers %s is too old: MimiModel landed in 4.45",
                 probe.transformers);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}
#define T_MIMI "transformers' MimiModel (its modules, a causal window mask) with the same weights"
#define T_RELPOS "WavLMAttention's bucketed bias and gru_rel_pos gate in plain torch"

static const py_def defs[] = {
    {.op = "fft", .impl = "numpy", .summary = NP_FFT, .one_thread = ONE_NP},
    {.op = "rfft", .impl = "numpy", .summary = NP_FFT, .one_thread = ONE_NP},
    {.op = "stft", .impl = "numpy", .summary = NP_FE},
    {.op = "melspec", .impl = "numpy", .summary = NP_FE},
    {.op = "logmel", .impl = "numpy", .summary = NP_FE ", Whisper's log10 clamp"},
    {.op = "mfcc", .impl = "numpy", .summary = NP_FE ", power_to_db, DCT matmul"},
    {.op = "nop", .impl = "numpy",
     .summary = "identity in the worker: the Python loop's own cost per timed call",
     .one_thread = "the worker's loop is single-threaded"},
    {.op = "fft", .impl = "torch", .summary = "torch.fft.fft on the CPU",
     .one_thread = ONE_TORCH, .torch = 1},
    {.op = "rfft", .impl = "torch", .summary = "torch.fft.rfft on the CPU",
     .one_thread = ONE_TORCH, .torch = 1},
    {.op = "stft", .impl = "torch", .summary = T_FE " on the CPU", .torch = 1},
    {.op = "melspec", .impl = "torch", .summary = T_FE " on the CPU", .torch = 1},
    {.op = "logmel", .impl = "torch", .summary = T_LOG ", on the CPU", .torch = 1},
    {.op = "mfcc", .impl = "torch", .summary = T_FE " on the CPU", .torch = 1},
    {.op = "vq.encode", .impl = "torch", .summary = T_VQ " on the CPU", .torch = 1},
    {.op = "conv1d", .impl = "torch", .summary = T_CONV " on the CPU", .torch = 1},
    {.op = "attention", .impl = "torch", .summary = T_ATT " on the CPU", .torch = 1,
     .one_thread = ONE_ATT},
    {.op = "fft", .impl = "torch-cuda", .summary = "torch.fft.fft " CUDA_IO, .cuda = 1,
     .torch = 1},
    {.op = "rfft", .impl = "torch-cuda", .summary = "torch.fft.rfft " CUDA_IO, .cuda = 1,
     .torch = 1},
    {.op = "stft", .impl = "torch-cuda", .summary = T_FE " " CUDA_IO, .cuda = 1, .torch = 1},
    {.op = "melspec", .impl = "torch-cuda", .summary = T_FE " " CUDA_IO, .cuda = 1,
     .torch = 1},
    {.op = "logmel", .impl = "torch-cuda", .summary = T_LOG ", " CUDA_IO, .cuda = 1,
     .torch = 1},
    {.op = "mfcc", .impl = "torch-cuda", .summary = T_FE " " CUDA_IO, .cuda = 1, .torch = 1},
    {.op = "vq.encode", .impl = "torch-cuda", .summary = T_VQ " " CUDA_IO, .cuda = 1,
     .torch = 1},
    {.op = "conv1d", .impl = "torch-cuda", .summary = T_CONV " " CUDA_IO, .cuda = 1,
     .torch = 1},
    {.op = "attention", .impl = "torch-cuda", .summary = T_ATT " " CUDA_IO, .cuda = 1,
     .torch = 1},
    {.op = "fft", .impl = "test-wrong",
     .summary = "test only: numpy.fft.ifft * n, a sign slip", .one_thread = ONE_NP, .test = 1},
    {.op = "fft", .impl = "test-raise", .summary = "test only: raises ValueError in setup",
     .one_thread = ONE_NP, .test = 1},
    {.op = "fft", .impl = "test-crash", .summary = "test only: segfaults in run",
     .one_thread = ONE_NP, .test = 1},
    {.op = "fft", .impl = "test-hang", .summary = "test only: never returns from run",
     .one_thread = ONE_NP, .test = 1},
    /* issue 14 */
    {.op = "resample", .impl = "torchaudio", .summary = "torchaudio.functional.resample "
     "(defaults: Hann sinc, 6 zero crossings, rolloff 0.99) on the CPU", .torch = 1,
     .one_thread = "held to one thread like the audio/ and cpu/ resamplers"},
    {.op = "decode", .impl = "torchaudio", .summary = "torchaudio.load: WAV (libsox) and MP3 "
     "(FFmpeg) from a BytesIO, FLAC/Ogg (FFmpeg) from a tmpfs path; channels averaged",
     .torch = 1, .one_thread = "held to one thread like audio/sndfile", .refuse = refuse_ta_decode},
    {.op = "load.batch", .impl = "torch-dataloader", .summary = "torch DataLoader over a "
     "Dataset of the folder's files: torchaudio.load, resample, crop, RMS normalise; "
     "num_workers = threads if threads > 1", .torch = 1, .refuse = refuse_dataloader},
    /* issue 11 */
    {.op = "codec.encodec", .impl = "torch", .summary = T_ENC ", on the CPU", .torch = 1,
     .refuse = refuse_encodec},
    {.op = "codec.encodec", .impl = "torch-cuda", .summary = T_ENC ", " CUDA_IO, .cuda = 1,
     .torch = 1, .refuse = refuse_encodec},
    /* issue 24: DacModel (sonopy/dac.py) */
    {.op = "codec.dac", .impl = "torch", .summary = "transformers' DacModel on the op's "
     "weights file, on the CPU", .torch = 1, .refuse = refuse_dac},
    {.op = "codec.dac", .impl = "torch-cuda", .summary = "transformers' DacModel on the op's "
     "weights file, " CUDA_IO, .cuda = 1, .torch = 1, .refuse = refuse_dac},
    /* issue 24: SoundStream's config of EncodecModel, its LSTMs made identities */
    {.op = "codec.soundstream", .impl = "torch", .summary = T_ENC " (SoundStream's config, "
     "no LSTM), on the CPU", .torch = 1, .refuse = refuse_encodec},
    {.op = "codec.soundstream", .impl = "torch-cuda", .summary = T_ENC " (SoundStream's "
     "config, no LSTM), " CUDA_IO, .cuda = 1, .torch = 1, .refuse = refuse_encodec},
    /* issue 23: CTC decoding (sonopy/ctc.py) */
    {.op = "ctc.greedy", .impl = "torch", .summary = "lp.max(-1), torch.unique_consecutive, "
     "blanks dropped, on the CPU", .torch = 1, .one_thread = ONE_CTC},
    {.op = "ctc.greedy", .impl = "torch-cuda", .summary = "lp.max(-1), "
     "torch.unique_consecutive, blanks dropped, " CUDA_IO, .cuda = 1, .torch = 1},
    {.op = "ctc.beam", .impl = "torch", .summary = "prefix beam search in Python (dict of "
     "prefixes, torch.topk labels per frame); torchaudio's ctc_decoder needs flashlight-text",
     .torch = 1, .one_thread = ONE_CTC},
    {.op = "ctc.beam", .impl = "torchaudio", .summary = "torchaudio's ctc_decoder (flashlight "
     "lexicon-free, log_add); skips where flashlight-text is missing", .torch = 1,
     .one_thread = ONE_CTC, .refuse = refuse_ta_ctc},
    /* issue 25: generation (sonopy/gen.py) */
    {.op = "sample.topk", .impl = "torch", .summary = "stable torch.sort, softmax, cumsum, "
     "searchsorted of the op's Philox u (not torch.multinomial: not Philox), on the CPU",
     .torch = 1, .one_thread = ONE_ATT},
    {.op = "sample.topk", .impl = "torch-cuda", .summary = "stable torch.sort, softmax, cumsum, "
     "searchsorted of the op's Philox u, " CUDA_IO, .cuda = 1, .torch = 1},
    {.op = "codes.delay", .impl = "torch", .summary = "torch.full + a slice assignment per "
     "codebook, on the CPU", .torch = 1, .one_thread = ONE_ATT},
    {.op = "codes.delay", .impl = "torch-cuda", .summary = "torch.full + a slice assignment "
     "per codebook, " CUDA_IO, .cuda = 1, .torch = 1},
    {.op = "vq.ste", .impl = "torch", .summary = "cdist + argmin, STE by detach, mse_loss, "
     "autograd, EMA update, on the CPU", .torch = 1, .one_thread = ONE_ATT},
    {.op = "vq.ste", .impl = "torch-cuda", .summary = "cdist + argmin, STE by detach, "
     "mse_loss, autograd, EMA update, " CUDA_IO, .cuda = 1, .torch = 1},
    {.op = "maskgit.step", .impl = "torch", .summary = "sort/softmax/cumsum/searchsorted "
     "draws of the op's Philox u, softmax confidences, stable sort, on the CPU", .torch = 1,
     .one_thread = ONE_ATT},
    {.op = "maskgit.step", .impl = "torch-cuda", .summary = "sort/softmax/cumsum/searchsorted "
     "draws of the op's Philox u, softmax confidences, stable sort, " CUDA_IO, .cuda = 1,
     .torch = 1},
    {.op = "maskgit.decode", .impl = "torch", .summary = "MLP as embedding sums + two "
     "matmuls, then maskgit.step's torch iteration, on the CPU", .torch = 1,
     .one_thread = ONE_ATT},
    {.op = "maskgit.decode", .impl = "torch-cuda", .summary = "MLP as embedding sums + two "
     "matmuls, then maskgit.step's torch iteration, " CUDA_IO, .cuda = 1, .torch = 1},
    /* issue 23 */
    {.op = "whisper.encoder", .impl = "torch", .summary = T_WHI ", on the CPU", .torch = 1,
     .refuse = refuse_whisper},
    {.op = "whisper.encoder", .impl = "torch-cuda", .summary = T_WHI ", " CUDA_IO, .cuda = 1,
     .torch = 1, .refuse = refuse_whisper},
    /* issue 24: PESQ by the ITU reference code (the pesq package): the codecs' scorer */
    {.op = "metric.pesq", .impl = "pesq-itu", .summary = "pesq package: the ITU-T P.862 / "
     "P.862.2 reference code; the codec quality figures' PESQ", .role = SONO_ROLE_PESQ,
     .one_thread = "the ITU code is single-threaded", .refuse = refuse_pesq},
    /* issue 23 */
    {.op = "wav2vec2.features", .impl = "torch", .summary = T_W2V ", on the CPU", .torch = 1,
     .refuse = refuse_w2v},
    {.op = "wav2vec2.features", .impl = "torch-cuda", .summary = T_W2V ", " CUDA_IO,
     .cuda = 1, .torch = 1, .refuse = refuse_w2v},
    /* issue 24 */
    {.op = "codec.mimi", .impl = "torch", .summary = T_MIMI ", on the CPU", .torch = 1,
     .refuse = refuse_mimi},
    {.op = "codec.mimi", .impl = "torch-cuda", .summary = T_MIMI ", " CUDA_IO, .cuda = 1,
     .torch = 1, .refuse = refuse_mimi},
    {.op = "attention.relpos", .impl = "torch", .summary = T_RELPOS " on the CPU", .torch = 1},
    {.op = "attention.relpos", .impl = "torch-cuda", .summary = T_RELPOS " " CUDA_IO,
     .cuda = 1, .torch = 1},
    /* issue 25 */
    {.op = "vocoder.hifigan", .impl = "torch", .summary = T_HIFIGAN ", on the CPU", .torch = 1,
     .refuse = refuse_hifigan},
    {.op = "vocoder.hifigan", .impl = "torch-cuda", .summary = T_HIFIGAN ", " CUDA_IO,
     .cuda = 1, .torch = 1, .refuse = refuse_hifigan},
    {.op = "wavenet.stack", .impl = "torch", .summary = T_WAVENET ", on the CPU", .torch = 1},
    {.op = "wavenet.stack", .impl = "torch-cuda", .summary = T_WAVENET ", " CUDA_IO,
     .cuda = 1, .torch = 1},
};
#define NDEFS (sizeof defs / sizeof defs[0])

static int cuda_present(void)
{
    return access("/dev/nvidiactl", F_OK) == 0 || access("/proc/driver/nvidia", F_OK) == 0;
}

/* issue 27: the GPUs py/torch-cuda may be put on (py:cuda, py:cuda:1, ...), counted
 * without CUDA or torch (this runs in every harness process): SONO_PY_CUDA_DEVICES when
 * set (a container whose /dev says otherwise; the tests' stand-in torch), else the
 * /dev/nvidiaN nodes, no more than CUDA_VISIBLE_DEVICES lists. The worker's torch has the
 * last word at setup ("torch sees 1 CUDA device; cuda:1 asked"). */
#define PY_MAX_GPUS 8
static int ngpus;

static int gpu_count(void)
{
    const char *e = getenv("SONO_PY_CUDA_DEVICES");
    if (e && *e)
        return (int)strtol(e, NULL, 10);
    if (!cuda_present())
        return 0;
    int n = 0;
    DIR *dir = opendir("/dev");
    for (struct dirent *de; dir && (de = readdir(dir));)
        n += strncmp(de->d_name, "nvidia", 6) == 0 && de->d_name[6] &&
             strspn(de->d_name + 6, "0123456789") == strlen(de->d_name + 6);
    if (dir)
        closedir(dir);
    const char *vis = getenv("CUDA_VISIBLE_DEVICES");
    if (vis) {
        int listed = *vis ? 1 : 0;
        for (const char *c = vis; *c; c++)
            listed += *c == ',';
        n = listed < n ? listed : n;
    }
    return n > 0 ? n : 1; /* a driver whose nodes we cannot read: the first GPU, as before */
}

/* The GPU of a py cuda case: its `device` param as the harness wrote it (cuda:N, or
 * py:cuda[:N] when named so), 0 when unset; -1 when it names no GPU. */
static long gpu_index(const sono_params *p)
{
    const char *s = sono_param_str(p, "device", "");
    if (!s || !*s)
        return 0;
    if (strncmp(s, "py:", 3) == 0)
        s += 3;
    if (strcmp(s, "cuda") == 0)
        return 0;
    if (strncmp(s, "cuda:", 5) != 0 || !s[5] || strspn(s + 5, "0123456789") != strlen(s + 5))
        return -1;
    return strtol(s + 5, NULL, 10);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    const py_def *d = ctx;
    long long threads = sono_param_int(p, "threads", 1);
    if (!probe.found) {
        snprintf(why, n, "no Python with numpy: %s", probe.why);
        return SONO_EUNSUPPORTED;
    }
    if (d->torch && !probe.torch[0]) {
        snprintf(why, n, "torch is not installed for %s (Python %s): Debian's python3-torch "
                 "or pip install torch", probe.python, probe.version);
        return SONO_EUNSUPPORTED;
    }
    if (d->cuda && !probe.torch_cuda[0]) {
        snprintf(why, n, "no CUDA device: torch %s was built without CUDA", probe.torch);
        return SONO_EUNSUPPORTED;
    }
    if (d->cuda && ngpus <= 0) {
        snprintf(why, n, "no CUDA device: no NVIDIA driver here (/dev/nvidiactl)");
        return SONO_EUNSUPPORTED;
    }
    long gpu = d->cuda ? gpu_index(p) : 0;
    if (gpu < 0) {
        snprintf(why, n, "device=%s: not a CUDA device name (expected cuda:N)",
                 sono_param_str(p, "device", ""));
        return SONO_EUNSUPPORTED;
    }
    if (d->cuda && gpu >= ngpus) {
        snprintf(why, n, "cuda:%ld not present: %d GPU%s visible", gpu, ngpus,
                 ngpus == 1 ? "" : "s");
        return SONO_EUNSUPPORTED;
    }
    if (threads < 1) {
        snprintf(why, n, "threads=%lld must be >= 1", threads);
        return SONO_EUNSUPPORTED;
    }
    if (threads > 1 && d->one_thread) {
        snprintf(why, n, "%s: threads=1 only, got threads=%lld", d->one_thread, threads);
        return SONO_EUNSUPPORTED;
    }
    if (threads > 1 && d->cuda) {
        snprintf(why, n, "runs on the GPU: threads=1 only, got threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    if (threads > 1 && !d->torch && !probe.threadpoolctl[0]) {
        snprintf(why, n, "threads=%lld needs threadpoolctl to set numpy's BLAS threads "
                 "(python3-threadpoolctl)", threads);
        return SONO_EUNSUPPORTED;
    }
    /* issue 26: the dtype axis. nn.py puts the CUDA peers' attention and vq.encode tensors
     * in bf16/f16 (tf32: torch's allow_tf32 for matmul); the CPU peers and conv1d stay
     * float32, so they refuse other dtypes rather than time float32 under a bf16 label. */
    const char *dt = sono_param_str(p, "dtype", "f32");
    if (strcmp(dt, "f32") != 0) {
        int has = d->cuda && d->torch &&
                  (!strcmp(d->op, "attention") || !strcmp(d->op, "vq.encode"));
        if (!has) {
            snprintf(why, n, "dtype=%s: %s", dt, d->cuda ? "this torch peer runs float32 "
                     "only (the dtype path is written for attention and vq.encode)"
                     : "the CPU torch peers run float32 only: torch 1.13 has no f16 "
                     "matmul on the CPU, tf32 is a CUDA mode, and its CPU bf16 matmul "
                     "without AVX-512 BF16 would be an emulation");
            return SONO_EUNSUPPORTED;
        }
    }
    if (d->refuse)
        return d->refuse(p, why, n);
    return 0;
}

static json_t *params_json(const sono_params *p)
{
    json_t *o = json_object();
    for (int i = 0; o && i < p->count; i++) {
        const sono_param *v = &p->v[i];
        json_t *j = v->type == SONO_PINT    ? json_integer(v->i)
                    : v->type == SONO_PREAL ? json_real(v->r)
                                            : json_string(v->s ? v->s : "");
        json_object_set_new(o, v->name, j);
    }
    return o;
}

static json_t *request(const char *cmd, const state *st)
{
    return json_pack("{s:s, s:I}", "cmd", cmd, "id", (json_int_t)st->id);
}

static int alive(const state *st, sono_error *err)
{
    if (proc.pid > 0 && proc.gen == st->gen)
        return 0;
    return sono_fail(err, SONO_EDEVICE, "py: the python worker of this case is gone (it "
                     "died in an earlier call)");
}

/* Sends a request about st; 0 with *reply (NULL: not wanted) or the worker's error. */
static int call(state *st, json_t *req, json_t **reply, sono_error *err)
{
    json_t *r = NULL;
    int rc = alive(st, err);
    if (rc) {
        json_decref(req);
        return rc;
    }
    if (!req)
        return sono_fail(err, SONO_ENOMEM, "py: no memory for a request");
    rc = py_proc_call(&proc, req, &r, err);
    if (reply)
        *reply = r;
    else
        json_decref(r);
    return rc;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->id && alive(st, NULL) == 0)
        call(st, request("teardown", st), NULL, NULL);
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    const py_def *d = ctx;
    char why[1200];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "py/%s: %s", d->impl, why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "py: no memory for a state");
    st->def = d;
    /* Python starts here, once per harness process (numpy's import included): in this
     * case's setup time, never in a timed run */
    if (proc.pid <= 0) {
        if ((rc = py_proc_start(&proc, probe.python, pkgdir, "sonopy", err))) {
            free(st);
            return rc;
        }
        /* for whoever debugs a worker (attach, kill): never in describe, which must not
         * change between runs */
        fprintf(stderr, "py: python worker pid %d (%s) started in %.0f ms\n", (int)proc.pid,
                probe.python, proc.start_ms);
    }
    st->gen = proc.gen;
    json_t *r;
    char dev[32] = "cpu"; /* issue 27: the GPU itself, so torch puts the case on it */
    if (d->cuda)
        snprintf(dev, sizeof dev, "cuda:%ld", gpu_index(p));
    rc = call(st, json_pack("{s:s, s:s, s:s, s:s, s:o}", "cmd", "setup", "impl", d->impl, "op",
                            d->op, "device", dev, "params", params_json(p)),
              &r, err);
    if (rc) {
        free(st);
        return rc;
    }
    st->id = json_integer_value(json_object_get(r, "id"));
    json_decref(r);
    *stp = st;
    return 0;
}

static json_t *buf_json(json_t *req, const py_shm *s, const sono_buf *b)
{
    json_t *shape = json_array();
    for (int i = 0; shape && i < b->ndim; i++)
        json_array_append_new(shape, json_integer(b->shape[i]));
    json_object_set_new(req, "shm", json_string(s->name));
    json_object_set_new(req, "dtype", json_string(py_dtype_name(b->dtype)));
    json_object_set_new(req, "shape", shape);
    return req;
}

/* One copy into shared memory, which the worker copies into its own array (or device
 * tensor), so neither the core's buffer nor the shm is bound past the call. */
static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    py_shm s;
    int rc = py_shm_create(&s, in->nbytes, err);
    if (rc)
        return rc;
    memcpy(s.data, in->data, in->nbytes);
    json_t *req = request("load", st);
    rc = call(st, req ? buf_json(req, &s, in) : NULL, NULL, err);
    py_shm_free(&s);
    return rc;
}

static int run_k(state *st, long k, double *ns, sono_error *err)
{
    json_t *r, *req = request("run", st);
    if (req)
        json_object_set_new(req, "k", json_integer(k));
    int rc = call(st, req, &r, err);
    if (rc)
        return rc;
    json_t *v = json_object_get(r, "ns");
    int good = json_is_number(v) && json_number_value(v) >= 0;
    *ns = json_number_value(v);
    json_decref(r);
    if (!good)
        return sono_fail(err, SONO_EDEVICE, "py: the worker's run reply has no ns >= 0");
    return 0;
}

/* Direct calls (harness exec) run once; timing goes through time_runs. */
static int run(void *vst)
{
    double ns;
    return run_k(vst, 1, &ns, NULL);
}

/* The device's clock is the worker's: perf_counter_ns (CUDA events on py:cuda) around k
 * calls, so the pipe's round trip stays out of the figure. Every run is one of ours: an
 * impl on the py devices is always a py impl, so st is a state of this file. */
static int time_runs(const sono_device *d, int (*fn)(void *st), void *st, long k, double *ns,
                     sono_error *err)
{
    (void)d;
    (void)fn;
    return run_k(st, k, ns, err);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    py_shm s;
    int rc = py_shm_create(&s, out->nbytes, err);
    if (rc)
        return rc;
    json_t *req = request("store", st);
    rc = call(st, req ? buf_json(req, &s, out) : NULL, NULL, err);
    if (!rc)
        memcpy(out->data, s.data, out->nbytes);
    py_shm_free(&s);
    return rc;
}

static void get_info(state *st)
{
    json_t *r;
    if (st->have_info)
        return;
    st->have_info = 1;
    if (call(st, request("describe", st), &r, NULL) != 0)
        return;
    const char *t = json_string_value(json_object_get(r, "text"));
    snprintf(st->info, sizeof st->info, "%s", t ? t : "");
    json_int_t w = json_integer_value(json_object_get(r, "workspace"));
    st->workspace = w > 0 ? (size_t)w : 0;
    json_decref(r);
}

static int describe(void *vst, char *buf, size_t n)
{
    state *st = vst;
    get_info(st);
    /* Nothing of this process or this setup (issue 22): the worker's pid and start-up time
     * went to stderr when it started, so describe is the same in every run. */
    snprintf(buf, n, "%s; python %s %s", st->info, probe.version, probe.python);
    return 0;
}

/* What the worker's state holds (its input and output copies, window, filterbank): in
 * the Python process, so the harness's peak RSS does not see it. */
static size_t workspace(void *vst)
{
    state *st = vst;
    get_info(st);
    return st->workspace;
}

static sono_device dev_cpu = {.abi = SONO_ABI_VERSION, .name = "py:cpu", .kind = "py",
                              .time_runs = time_runs};
/* CUDA documents cudaEventElapsedTime's resolution as about 0.5 us. */
static sono_device dev_cuda = {.abi = SONO_ABI_VERSION, .name = "py:cuda", .kind = "py-cuda",
                               .resolution_ns = 500, .time_runs = time_runs};

/* issue 27: py:cuda:1 ... for the GPUs after the first, each a worker of its own */
static sono_device dev_gpus[PY_MAX_GPUS];
static char gpu_names[PY_MAX_GPUS][16];

static sono_impl impls[NDEFS];

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "py plugin built for ABI %d, harness has ABI %d",
                         SONO_ABI_VERSION, r->abi);
    sono_error e = {0};
    if (py_find_package(pkgdir, sizeof pkgdir, &e) == 0)
        py_probe_find(pkgdir, &probe);
    else
        snprintf(probe.why, sizeof probe.why, "%s", e.msg);
    dev_cpu.resolution_ns = probe.clock_resolution_ns > 0 ? probe.clock_resolution_ns : 1;
    dev_cpu.overhead_ns = probe.clock_overhead_ns;
    dev_cuda.overhead_ns = probe.clock_overhead_ns;
    int rc;
    if ((rc = r->add_device(r, &dev_cpu)) < 0 || (rc = r->add_device(r, &dev_cuda)) < 0)
        return sono_fail(err, rc, "py: registering the py:cpu and py:cuda devices failed");
    ngpus = gpu_count();
    ngpus = ngpus > PY_MAX_GPUS ? PY_MAX_GPUS : ngpus;
    for (int i = 1; i < ngpus; i++) {
        snprintf(gpu_names[i], sizeof gpu_names[i], "py:cuda:%d", i);
        dev_gpus[i] = dev_cuda;
        dev_gpus[i].name = gpu_names[i];
        dev_gpus[i].index = i;
        if ((rc = r->add_device(r, &dev_gpus[i])) < 0)
            return sono_fail(err, rc, "py: registering the device %s failed", gpu_names[i]);
    }
    const char *t = getenv("SONO_PY_TEST_IMPLS");
    int tests = t && strcmp(t, "1") == 0;
    for (size_t i = 0; i < NDEFS; i++) {
        const py_def *d = &defs[i];
        if (d->test && !tests)
            continue;
        impls[i] = (sono_impl){
            .abi = SONO_ABI_VERSION, .op = d->op, .name = d->impl, .summary = d->summary,
            .device = d->cuda ? "py:cuda" : "py:cpu", .growth = SONO_ERR_LOG, .ctx = d,
            .supports = supports, .setup = setup, .load = load, .run = run, .store = store,
            .teardown = teardown, .describe = describe, .workspace = workspace,
            .role = d->role};
        if ((rc = r->add_impl(r, &impls[i])) < 0)
            return sono_fail(err, rc, "py: registering %s/py/%s failed (%d)", d->op, d->impl,
                             rc);
    }
    if (!probe.found) {
        char why[1200];
        snprintf(why, sizeof why, "no Python with numpy: %s", probe.why);
        r->set_unavailable(r, why);
        return 0;
    }
    char v[1200];
    snprintf(v, sizeof v, "%s (%s)", probe.version, probe.python);
    r->add_lib(r, "python", v);
    r->add_lib(r, "numpy", probe.numpy);
    if (probe.threadpoolctl[0])
        r->add_lib(r, "threadpoolctl", probe.threadpoolctl);
    if (probe.torch[0]) {
        snprintf(v, sizeof v, "%s (CUDA %s)", probe.torch,
                 probe.torch_cuda[0] ? probe.torch_cuda : "none");
        r->add_lib(r, "torch", v);
    }
    if (probe.torchaudio[0])
        r->add_lib(r, "torchaudio", probe.torchaudio);
    if (probe.transformers[0]) /* issue 11 */
        r->add_lib(r, "transformers", probe.transformers);
    if (probe.torchcodec[0])
        r->add_lib(r, "torchcodec", probe.torchcodec);
    if (probe.pesq[0]) /* issue 24 */
        r->add_lib(r, "pesq", probe.pesq);
    return 0;
}

/* The worker goes with the harness process: at its exit (dlclose or exit) it is asked to
 * quit and then killed, so no Python outlives a run. */
__attribute__((destructor)) static void stop_worker(void)
{
    py_proc_stop(&proc);
}
