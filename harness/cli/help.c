/* help.c — the text of `harness --help` and `harness help COMMAND`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const char overview[] =
    "harness " SONO_VERSION " - sonobench, benchmarks for the kernels of audio ML\n"
    "\n"
    "usage: harness COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run SUITE      run a suite's cases, check them, write a results file, print tables\n"
    "  list           ops (with parameters), impls (with availability), suites\n"
    "  exec OP/IMPL   run one impl once on one input and write its output as .npy\n"
    "  calibrate      measure this machine's peak FLOP/s and bandwidth (the roofline)\n"
    "  help COMMAND   details of a command\n"
    "  version        the harness's version and ABI\n"
    "\n"
    "Plugins are found in $SONO_PLUGIN_PATH, then next to the executable\n"
    "(../build/plugins, ../lib/sonobench/plugins); suites in ../suites.\n"
    "Exit status: 0 all passed, 1 a case failed, 2 bad usage or input file, 130 stopped.\n";

static const char run_help[] =
    "usage: harness run SUITE [--filter GLOB] [--out FILE] [--dry-run] [--quiet]\n"
    "\n"
    "SUITE is a suite file, a folder with suite.ini, or a name under the suites folder\n"
    "(quick, suites/fft). Each case (op x impl x params x input) is checked against the\n"
    "op's float64 reference and measured: warm-up, then samples of k runs until the 95%\n"
    "CI of the median is within the suite's target_ci (default 2%) or its budget_s\n"
    "(default 2 s) is spent.\n"
    "\n"
    "  --filter GLOB  only cases whose id matches (e.g. 'fft/fftw/*'; '*' crosses '/')\n"
    "                 case ids read op/backend/impl/params/input\n"
    "  --out FILE     results file (default results/SUITE-HOST-UTCTIME.json); it is\n"
    "                 rewritten atomically after every case, so a run that is stopped\n"
    "                 keeps every completed case in a valid file\n"
    "  --dry-run      print the case ids and exit\n"
    "  --quiet        no progress lines\n";

static const char list_help[] =
    "usage: harness list [ops|impls|suites]\n"
    "\n"
    "ops: each op with its parameters, ranges and defaults. impls: each impl with its\n"
    "backend's availability and, when unavailable, the loader's reason. suites: the\n"
    "suites under the suites folder with their descriptions.\n";

static const char exec_help[] =
    "usage: harness exec OP/IMPL [--param K=V]... [--input SPEC] [--sample-rate HZ]\n"
    "                    [--output OUT.npy] [--input-out IN.npy]\n"
    "\n"
    "Runs one impl once (setup, load, run, store) and checks the output against the\n"
    "reference. IMPL is backend/name or a name unique for the op (fft/radix2,\n"
    "fft/cpu/radix2). SPEC is a generator - noise, sine, chirp, impulse, silence, with\n"
    "options like sine(freq=440) - or an audio file (default noise). The output (and\n"
    "with --input-out the input) is written as a NumPy .npy file.\n";

static const char calibrate_help[] =
    "usage: harness calibrate [--quick] [--out FILE] [--quiet]\n"
    "\n"
    "Measures this machine's ceilings with 1 thread and with every core (from hwloc):\n"
    "sustained memory bandwidth with the STREAM triad (cpu/triad; arrays 4x the last-level\n"
    "cache, at least 64 MiB) and peak float32 FLOP/s with SGEMM (blas/sgemm, OpenBLAS),\n"
    "each the best median-based rate over its cases, checked against the reference like\n"
    "any case. Stores them under this host's name in the calibration file, keeping other\n"
    "hosts' entries; `run` reads it to give each case its percent of the roofline bound\n"
    "min(peak FLOP/s, flops/bytes x bandwidth). The raw records go to\n"
    "calibration-run-HOST-UTCTIME.json beside the calibration file.\n"
    "\n"
    "  --quick     small sizes and short budgets: checks the machinery in seconds; its\n"
    "              figures are not the machine's ceilings\n"
    "  --out FILE  calibration file (default $SONO_CALIBRATION, else\n"
    "              results/calibration.json under the harness's root folder)\n"
    "  --quiet     no progress line\n";

int sono_print_help(const char *cmd)
{
    const char *text = !cmd ? overview
                       : strcmp(cmd, "run") == 0 ? run_help
                       : strcmp(cmd, "list") == 0 ? list_help
                       : strcmp(cmd, "exec") == 0 ? exec_help
                       : strcmp(cmd, "calibrate") == 0 ? calibrate_help
                       : strcmp(cmd, "help") == 0 || strcmp(cmd, "version") == 0 ? overview
                                                                                  : NULL;
    if (!text)
        return -1;
    fputs(text, stdout);
    return 0;
}

int sono_cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        sono_print_help(NULL);
        return SONO_EXIT_OK;
    }
    if (sono_print_help(argv[1]) == 0)
        return SONO_EXIT_OK;
    fprintf(stderr, "harness: no command '%s'; see harness --help\n", argv[1]);
    return SONO_EXIT_USAGE;
}
