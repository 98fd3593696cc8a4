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
    "  history FILE.. each case's median over many runs; flags the run where it stepped slower\n"
    "  show FILE      a results file's tables as its run printed them, or as markdown,\n"
    "                 CSV or JSON (--format)\n"
    "  export FILE    a results file as Google Benchmark JSON (--format gbench) or CSV\n"
    "  compare A B..  compare results files: ratios, significance, verdicts; exit 1 on a\n"
    "                 regression\n"
    "  ab --base DIR --new DIR SUITE  two builds measured case by case in turn, then\n"
    "                 compare of the two results files\n"
    "  report FILE.. -o DIR  an HTML report with plots of one or many results files\n"
    "  results repair FILE..  rebuild killed runs' results files from their journals\n"
    "  fleet submit|status|collect  one suite on many machines through Slurm, sharded\n"
    "  dataset corpus|pack|shard|check  write the clip corpus, a packed .sbd file or tar\n"
    "                 shards; check an .sbd file's index and checksums\n"
    "  help COMMAND   details of a command\n"
    "  version        the harness's version and ABI\n"
    "\n"
    "Plugins are found in $SONO_PLUGIN_PATH, then next to the executable\n"
    "(../build/plugins, ../lib/sonobench/plugins); suites in ../suites.\n"
    "\n"
    "exit status (every command):\n"
    "  0    everything ran and passed (skipped cases included, and a suite's known\n"
    "       failures: XFAIL, or XPASS when one passes now)\n"
    "  1    a case failed, errored, crashed or timed out; compare and history: a\n"
    "       regression\n"
    "  2    bad usage, a bad or unreadable input file (a corrupt WAV, an input too short\n"
    "       for every case), an output that cannot be written or would overwrite a file\n"
    "       that is not a results/.npy file (--force), any other I/O error\n"
    "  130  stopped by Ctrl-C or SIGTERM (the results file is closed as interrupted)\n";

static const char dataset_help[] =
    "usage: harness dataset corpus -o DIR [--clips N] [--seed S] [--formats wav,flac,vorbis,opus]\n"
    "       harness dataset pack DIR -o FILE.sbd [--encoding pcm16|f32|flac] [--rate R] [--ext EXT]\n"
    "       harness dataset shard DIR -o OUTDIR [--per-shard N] [--ext EXT]\n"
    "       harness dataset check FILE.sbd\n"
    "\n"
    "corpus: the generated clip corpus, one folder per format (DIR/wav, DIR/flac, ...).\n"
    "pack: the audio files of DIR into one .sbd file (DIR may be a corpus folder: the\n"
    "format folder --ext names is used, flac for --encoding flac, else the first).\n"
    "shard: the same as WebDataset tar shards. check: an .sbd file's header, index and\n"
    "every clip's checksum. Needs no plugins; a bad option or file exits 2.\n";

static const char show_help[] =
    "usage: harness show FILE [--format table|markdown|json|csv]\n"
    "\n"
    "Prints a results file's tables: table (default) is the table its run printed at the\n"
    "end (one section per op, failures first) and its counts; markdown the same as\n"
    "markdown tables, for a pull request or a wiki; csv one table for all ops (op, then\n"
    "every column any op has; the table's text in each cell); json {\"tables\": [{\"op\",\n"
    "\"columns\", \"rows\"}]}. A file a killed run left is repaired from its journal first\n"
    "(as every reader does). Loads no plugins. `run --format` prints a run's tables the\n"
    "same ways. Exit 2 for a missing or bad file or option.\n";

static const char run_help[] =
    "usage: harness run SUITE [--filter GLOB]... [--input SPEC]... [--out FILE] [--dry-run]\n"
    "                         [--quiet] [--profile] [--shard I/N] [--device NAME]\n"
    "                         [--format table|jsonl] [--lenient] [--force]\n"
    "                         [--metric time|instructions] [--repetitions R]\n"
    "                         [--budget-s S] [--target-ci F] [--min-time-s S] [--warmup-s S]\n"
    "                         [--param K=V]...\n"
    "\n"
    "SUITE is a suite file, a folder with suite.ini, or a name under the suites folder\n"
    "(quick, suites/fft). Each case (op x impl x params x input) is checked against the\n"
    "op's float64 reference and measured: warm-up, then samples of k runs until the 95%\n"
    "CI of the median is within the suite's target_ci (default 2%) or its budget_s\n"
    "(default 2 s) is spent.\n"
    "\n"
    "  --filter GLOB  only cases whose id matches (e.g. 'fft/fftw/*'; '*' crosses '/')\n"
    "                 case ids read op/backend/impl/params/input; repeatable: a case\n"
    "                 runs if it matches any of them\n"
    "  --input SPEC   run every (op, impl, params) of the suite on this input instead of\n"
    "                 the suite's (repeatable): an audio file (WAV, FLAC, OGG; mixed to\n"
    "                 mono, resampled to an audio op's rate), a folder of them, or a\n"
    "                 generator such as speech or pink(seed=3)\n"
    "  --out FILE     results file (default results/SUITE-HOST-UTCTIME.json); each\n"
    "                 completed case is appended to FILE.journal (synced) and FILE is\n"
    "                 written whole once, at the end (Ctrl-C included); a run killed\n"
    "                 outright leaves the journal, and the next command that reads FILE\n"
    "                 (or harness results repair) rebuilds it with every completed case\n"
    "  --dry-run      print the case ids, each with why it would be skipped here (an\n"
    "                 unavailable backend, parameters the impl refuses), and exit\n"
    "  --quiet        no progress line and no live rows: only the tables at the end\n"
    "  --budget-s S, --target-ci F, --min-time-s S, --warmup-s S\n"
    "                 the suite's measurement settings, replaced for every case of this\n"
    "                 run (ranges as in a suite file); suite.overrides records them\n"
    "  --param K=V    replace parameter K's values in every group whose op has K (a\n"
    "                 value, or a sweep as in a suite file: n=1024,4096 or\n"
    "                 n=256..4096*2); the suite's limits still apply, and cases the\n"
    "                 overrides make identical run once. Case ids change only where a\n"
    "                 value does. K that no case (after --filter) has, or a bad value:\n"
    "                 exit 2 naming it. suite.overrides.params.K records the text given\n"
    "                 and each group's own value (null: the op's default). Repeatable\n"
    "                 for different K\n"
    "  --repetitions R  measure every case R times, each in a fresh worker, in R rounds\n"
    "                 over the plan; the CI is then between runs, and a case is flagged\n"
    "                 noisy when its repetitions disagree (default: the suite's\n"
    "                 repetitions, else 1)\n"
    "  --format F     table (default): a row as each case finishes, then the full\n"
    "                 tables, failures first; markdown, csv, json: the full tables at the\n"
    "                 end in that format, as harness show prints them (the counts line\n"
    "                 goes to stderr for csv and json); jsonl: one JSON object per line\n"
    "                 on stdout ({\"event\": \"begin\"}, one \"record\" per case as it\n"
    "                 finishes, the results file's case object, and \"end\" with the\n"
    "                 counts)\n"
    "  --lenient      read a WAV whose data is cut short as far as it goes, with a\n"
    "                 warning (without it: exit 2 naming the file)\n"
    "  --force        let --out replace a file that is not a results file\n"
    "  A suite's expect_fail = GLOB: REASON (in [suite] or a group; GLOB matches case\n"
    "  ids, with or without the op, or backend/impl) marks known failures: a case that\n"
    "  fails or errors reads XFAIL (status xfail, expect_fail in its record) and does not\n"
    "  make the exit status 1; one that passes reads XPASS, with a note to drop it.\n"
    "  A file input shorter than a case needs skips the case, naming the parameter to\n"
    "  change (seconds = 1); logmel zero-pads it to 30 s as Whisper does; a longer one\n"
    "  is cut to the case's length, with a note. Every case too short: exit 2.\n"
    "  --profile      for Nsight Systems/Compute: each case runs once, with no warm-up\n"
    "                 and no batching (one sample of one run, time_ns.stop \"profile\";\n"
    "                 not converged, no counter pass): one clean launch per case\n"
    "  --metric M     time (default), or instructions: each cpu case is counted, not\n"
    "                 timed, for CI: one warm-up run, then one run whose user-space\n"
    "                 instructions are counted by perf_event_open where the machine has a\n"
    "                 PMU, else by running the workers under valgrind --tool=callgrind\n"
    "                 (about 50x slower; timeouts x20), which also simulates cache misses.\n"
    "                 Record: counts.instructions per run, counters.source perf or\n"
    "                 valgrind; time_ns is that run's one sample, stop \"instructions\":\n"
    "                 not a timing. Cases on other devices (GPUs, Python) and streaming\n"
    "                 cases skip. SONO_INSTR_SOURCE=perf|valgrind insists on one.\n"
    "  --shard I/N    run only the I-th (1-based) of N parts of the cases (after --filter\n"
    "                 and --input): parts balanced by expected time (the op's cost model\n"
    "                 and the suite's budgets), the same on every machine, together exactly\n"
    "                 the suite; suite.shard in the results file says which part it is\n"
    "                 (harness fleet collect merges the parts)\n"

    "  --device NAME  run every case whose impl runs on a device of NAME's kind on NAME\n"
    "                 instead (cuda:1: all cuda cases on the second GPU); other cases are\n"
    "                 unchanged. Sets the common param device=NAME (in the case ids); an\n"
    "                 unknown device, or an impl of another kind given device=, skips\n";

static const char ab_help[] =
    "usage: harness ab --base DIR --new DIR SUITE [--out-base FILE] [--out-new FILE]\n"
    "                  [--base-env VAR=VALUE]... [--new-env VAR=VALUE]...\n"
    "                  [run options] [-- COMPARE_OPTIONS...]\n"
    "\n"
    "Measures two builds in one run (an A/B duet): DIR is a build tree holding\n"
    "bin/harness and build/plugins. Each case's every repetition runs in a worker of\n"
    "the base build and one of the new build back to back, which goes first flipping\n"
    "from case to case and round to round, so both see the same machine noise instead\n"
    "of each its own whole run. Each round starts fresh workers of both builds; each\n"
    "worker is its build's own bin/harness and loads that build's plugins. The suite is\n"
    "expanded by this harness's plugins. Each side gets its own results file (env.git\n"
    "from DIR/build/gen/buildinfo.h, env.ab says which side and tree), then\n"
    "harness compare BASE NEW runs with COMPARE_OPTIONS and ab exits as it does: 0 no\n"
    "regression, 1 a regression, 2 bad usage or a results file not written, 130\n"
    "interrupted.\n"
    "\n"
    "  --base DIR, --new DIR   the two build trees (required; may be the same: A/A)\n"
    "  --out-base FILE, --out-new FILE  the results files (default\n"
    "                 results/SUITE-HOST-UTCTIME-base.json and ...-new.json)\n"
    "  --base-env VAR=VALUE, --new-env VAR=VALUE  set in that side's workers only\n"
    "                 (repeatable; e.g. SONO_PLUGIN_PATH=DIR/build/test-plugins)\n"
    "  run options    --filter, --input, --repetitions, --device, --quiet, --profile,\n"
    "                 --force, --lenient as for harness run; --repetitions 3 or more\n"
    "                 gives compare a between-repetition spread to judge by\n";

static const char list_help[] =
    "usage: harness list [ops|impls|suites|inputs]\n"
    "\n"
    "ops: each op with its parameters, ranges and defaults. impls: each impl with its\n"
    "backend's availability and, when unavailable, the loader's reason. suites: the\n"
    "suites under the suites folder with their descriptions. inputs: the generators\n"
    "and their options, files and folders.\n";

static const char exec_help[] =
    "usage: harness exec OP/IMPL [--param K=V]... [--input SPEC] [--sample-rate HZ]\n"
    "                    [--output OUT.npy] [--input-out IN.npy] [--lenient] [--force]\n"
    "\n"
    "Runs one impl once (setup, load, run, store) and checks the output against the\n"
    "reference. IMPL is backend/name or a name unique for the op (fft/radix2,\n"
    "fft/cpu/radix2). SPEC is a generator (harness list inputs: noise, pink, sine,\n"
    "chirp, sweep, clicks, square, impulse, silence, speech, with options like\n"
    "sine(freq=440)), an audio file or a folder of them (default noise); an audio op\n"
    "resamples files to its sample_rate. The output (and with --input-out the input) is\n"
    "written as a NumPy .npy file; an existing file that is not .npy is kept unless\n"
    "--force. A file shorter than the case needs exits 2 naming the parameter to change\n"
    "(--param seconds=1); logmel zero-pads it to 30 s as Whisper does. --lenient reads a\n"
    "WAV whose data is cut short as far as it goes, with a warning.\n";

static const char calibrate_help[] =
    "usage: harness calibrate [--quick] [--out FILE] [--device NAME]... [--quiet]\n"
    "\n"
    "Measures this machine's ceilings with 1 thread and with every core (from hwloc), by\n"
    "the cpu impls whose role (harness list impls) is bandwidth and peak_flops: sustained\n"
    "memory bandwidth with the STREAM triad (cpu/triad; arrays 4x the last-level cache,\n"
    "at least 64 MiB) and peak float32 FLOP/s with SGEMM (blas/sgemm, OpenBLAS),\n"
    "each the best median-based rate over its cases, checked against the reference like\n"
    "any case. Stores them under this host's name in the calibration file, keeping other\n"
    "hosts' entries; `run` reads it to give each case its percent of the roofline bound\n"
    "min(peak FLOP/s, flops/bytes x bandwidth). The raw records go to\n"
    "calibration-run-HOST-UTCTIME.json beside the calibration file.\n"
    "\n"
    "Then every other device (cuda:0, cuda:1, ...) whose backend is available, with that\n"
    "backend's own impls of those roles: copy bandwidth device to device (cuda/memcpy;\n"
    "n = 2^26 floats, 256 MiB a buffer, over 4x the GPU's L2; GB/s counts the read and\n"
    "the write) and peak FLOP/s (cuda/cublas SGEMM at 1024 and 2048, the largest its\n"
    "reference allows). They go\n"
    "into the host's entry under \"devices\", and `run` bounds a case on such a device by\n"
    "that device's figures. A device whose backend is unavailable is reported as skipped\n"
    "(\"cuda:0: skipped: no CUDA device ...\") and the CPU part is stored all the same.\n"
    "\n"
    "  --quick     small sizes and short budgets: checks the machinery in seconds; its\n"
    "              figures are not the machine's ceilings\n"
    "  --device NAME  only this device (repeatable): cuda:1, or cpu for the CPU part;\n"
    "              what is not measured keeps its earlier entry\n"
    "  --out FILE  calibration file (default $SONO_CALIBRATION, else\n"
    "              results/calibration.json under the harness's root folder)\n"
    "  --quiet     no progress line\n";

static const char history_help[] =
    "usage: harness history FILE... [--threshold 5%] [--format table|csv]\n"
    "\n"
    "Orders the runs by run.started (then env.git), prints each case's median per run and\n"
    "flags the first run where the case stepped slower beyond noise, with that run's\n"
    "commit and file. A step at run k (over the runs where the case was measured): the\n"
    "median of the medians from k on, and run k's own median, are both more than the\n"
    "threshold above the median of the medians before k and above the highest ci_hi\n"
    "before k (a simple form of airspeed velocity's step detection). One noisy run cannot\n"
    "make a step unless it is the newest. Exit 0 whatever it finds (it reports, it does not\n"
    "gate: use `harness compare` for that); 2 on bad usage or a bad file.\n"
    "\n"
    "  --threshold P  smallest step reported, in percent (default 5%)\n"
    "  --format F     table (default) or csv: one row per case and run\n";

static const char export_help[] =
    "usage: harness export FILE --format gbench|csv [--out OUT]\n"
    "\n"
    "gbench: Google Benchmark's JSON (context + benchmarks with real_time = cpu_time = the\n"
    "median in ns, iterations = runs per sample x samples; a case run with repetitions\n"
    "gives one run_type iteration entry per repetition (repetition_index 0..R-1, its\n"
    "median) and aggregates NAME_mean, _median, _stddev over them, so compare.py's U test\n"
    "runs over repetitions; our figures - gflops, gbps,\n"
    "rel_l2, ci_lo, ci_hi, ci_rel ... - as counters; failed or skipped cases with\n"
    "error_occurred and error_message), for compare.py and the dashboards that read it.\n"
    "csv: one row per case (id, op, impl, params, input, status, median_ns, ci_lo_ns,\n"
    "ci_hi_ns, n, gflops, gbps, rel_l2). Written to stdout, or atomically to OUT.\n";

static const char compare_help[] =
    "usage: harness compare BASE.json NEW.json [MORE.json...] [--threshold 5%]\n"
    "                       [--alpha 0.01] [--floor-ns NS] [--format table|markdown|json|csv]\n"
    "                       [--any-suite] [--strict]\n"
    "\n"
    "Matches cases by id against BASE (the first file) and gives, for each other file, its\n"
    "median, the ratio to the base median (> 1 is slower), a CI of the ratio, the verdict\n"
    "and its basis:\n"
    "  repetitions  both sides ran with run --repetitions R >= 2: a (1 - alpha) bootstrap\n"
    "               CI of the ratio of the repetitions' medians (10,000 resamples, fixed\n"
    "               seed); slower when the CI lies above 1 and ratio - 1 exceeds the minimum\n"
    "               effect = max(threshold, each side's between-repetition CI half-width),\n"
    "               faster likewise below. The verdicts that reproduce: use these.\n"
    "  counts       both sides have the metric counts.instructions (run --metric\n"
    "               instructions): equal counts same, a change beyond the threshold (1% by\n"
    "               default for counts) slower/faster; no statistics.\n"
    "  within       a side has no repetitions: the Mann-Whitney U test on one process's\n"
    "               samples (p < alpha, |ratio - 1| > threshold, a conservative 95% CI).\n"
    "               It ignores between-run variance, so A/A pairs on a shared machine can\n"
    "               come out slower: compare warns and suggests --repetitions 5.\n"
    "Every timing verdict also needs the change to exceed --floor-ns (default 10x the base\n"
    "run's own overhead per call). Verdicts: slower / faster, same, ambiguous (fewer than 9\n"
    "samples on a side), ambiguous: noisy (either side flagged noisy by the run: busy\n"
    "machine or repetitions disagreeing; never a regression), now-failing (status or check\n"
    "error past tolerance), now-passing, still-failing, new (only in the new file), missing\n"
    "(only in the base) or plan-changed (slower/faster, but the impl chose another plan:\n"
    "its describe text, e.g. FFTW's, differs; not a regression unless --strict). A geometric\n"
    "mean of the ratios sums up each op and the whole run; environment fields that differ\n"
    "between files (host, CPU, GPUs, OS, compiler, libraries, commit) are listed above.\n"
    "Warnings (stderr, and in markdown and JSON output): a file whose run did not complete,\n"
    "a file with no cases, repetitions of unfinished cases (partial_repetitions), and\n"
    "within-process verdicts.\n"
    "Exit 1 when a case regressed (slower or now-failing; missing and plan-changed too\n"
    "with --strict),\n"
    "0 otherwise, 2 when a file is unusable or the files come from different suites.\n"
    "\n"
    "  --threshold P  smallest relative change called slower/faster (default 5%; for\n"
    "                 instruction counts 0.5% unless given)\n"
    "  --alpha A      significance of the U test; 1 - A is the repetitions' CI level\n"
    "                 (default 0.01)\n"
    "  --format F     table (default), markdown (for a pull request), json, csv\n"
    "  --any-suite    compare files from different suites\n"
    "  --strict       missing cases are regressions too\n";

static const char report_help[] =
    "usage: harness report FILE... -o DIR\n"
    "       harness report --history RUNS_DIR [FILE...] [--threshold 5%] -o DIR\n"
    "\n"
    "Writes DIR/index.html: one self-contained page (figures inline as PNG, no network\n"
    "needed) with failures and skips and their reasons first, then the figures - time vs\n"
    "size per op with the fitted exponent (log-log), GFLOP/s or GB/s vs size with the\n"
    "calibrated ceilings, the roofline (when the file has a calibration), x real time of\n"
    "the audio ops, codec quality vs bitrate, GPU upload/kernel/download and top kernels,\n"
    "and with several files each case's time ratio to the first file - then the\n"
    "environments side by side and every case. Each figure's SVG is in DIR/figures/. A\n"
    "figure whose data is absent is listed with the reason. Exponents are fitted over\n"
    "three sizes or more, and a series of one point per line is not drawn.\n"
    "\n"
    "--history RUNS_DIR: the results files of many commits (RUNS_DIR/*.json, as harness\n"
    "history reads them) as one page like airspeed velocity's: the current regressions\n"
    "on top (the cases harness history finds stepped slower, by the same rule and\n"
    "--threshold), each linked to its commit's row in the runs table; per op the\n"
    "geometric mean of its cases' times relative to their first run with the CI band,\n"
    "the steps marked; per stepped case its time vs commit with the CI band. Runs are\n"
    "ordered by run.started, then env.git.\n"
    "\n"
    "Every file is read and checked first: an empty, truncated or foreign file is named\n"
    "and nothing is written (exit 2). The page is built in a temp folder and renamed to\n"
    "DIR, replacing an earlier report there; DIR holding anything else is refused.\n"
    "\n"
    "The renderer is reports/render.py (Python 3 + matplotlib). Python is the first of\n"
    "$SONO_PYTHON, /usr/bin/python3, python3 on PATH that can import matplotlib; none:\n"
    "exit 2 and install python3-matplotlib (ci/install-deps.sh). Exit status: the\n"
    "renderer's (0 written, 2 bad usage or a bad file).\n";

static const char results_help[] =
    "usage: harness results repair FILE...\n"
    "\n"
    "A run appends each completed case to FILE.journal (one JSON line, synced) and writes\n"
    "FILE once, at its end. A run killed outright (kill -9, a crash, a power cut) leaves\n"
    "FILE without its cases and the journal beside it. repair rebuilds FILE from the\n"
    "journal - every whole case, \"complete\": false, \"interrupted\": true - atomically,\n"
    "then removes the journal, and prints for each FILE what it did:\n"
    "  FILE: repaired from journal: N cases (run interrupted)\n"
    "  FILE: no journal, nothing to repair\n"
    "A torn last line (no newline, or not JSON: the write the run was killed in) is\n"
    "dropped with a note. compare, history, export, report and fleet collect repair a\n"
    "file the same way before they read it; a journal whose run is still going (it holds\n"
    "the journal's lock) is left alone.\n"
    "\n"
    "Exit status: 0 done; 1 a run still writes FILE, or its folder is read-only; 2 a\n"
    "missing or bad file, or a journal whose header or a line before the last is\n"
    "unreadable (named with its line; then nothing is changed or removed).\n";

/* issue 13: fleet runs on Slurm */
static const char fleet_help[] =
    "usage: harness fleet submit SUITE [--shards N] [--partition P] [--constraint C]\n"
    "                                  [--gres gpu:TYPE:1] [--nodes LIST] [--out DIR]\n"
    "                                  [--shared] [--harness PATH] [--dry-run]\n"
    "       harness fleet submit --retry DIR [--dry-run]\n"
    "       harness fleet status DIR\n"
    "       harness fleet collect DIR -o MERGED\n"
    "\n"
    "submit writes DIR/SUITE-fleet.sbatch (a plain job array script: task i runs\n"
    "`harness run SUITE --shard i+1/N` and writes DIR/SUITE-HOST-GPU-SHARD.json, GPU \"cpu\"\n"
    "where there is none; logs in DIR/logs/JOB_TASK.out) and DIR/fleet.json (suite and its\n"
    "sha256, shards, job ids, harness path, commit), submits it with sbatch once per node\n"
    "of --nodes (else once) and prints each job id. DIR (default\n"
    "results/fleet-SUITE-UTCTIME), the harness and the suite must be on paths every node\n"
    "shares: tasks run this very build (or --harness PATH, e.g. after make install).\n"
    "Tasks get their node to themselves (--exclusive) unless --shared. --dry-run prints\n"
    "the script and the sbatch lines and writes nothing.\n"
    "  --shards N     parts of the suite, balanced by expected time (default 4)\n"
    "  --retry DIR    resubmit only the shards with no complete results file that are no\n"
    "                 longer queued or running (failed, timed out, node down, lost)\n"
    "\n"
    "status: each task's state (pending, running, done, failed, unknown) and Slurm's word\n"
    "for it, from squeue, then sacct, then scontrol, and its results file.\n"
    "\n"
    "collect: the shard files of each machine (same file name less -SHARD) are checked to\n"
    "agree on the suite's sha256, the commit and the environment and to hold exactly the\n"
    "suite's cases; each machine's are merged into MERGED/SUITE-HOST-GPU.json, an ordinary\n"
    "results file for harness compare and harness report. Missing, partial and failed\n"
    "shards are named with their Slurm state and log. Exit status 2 when anything is\n"
    "missing or disagrees (what could be merged still is), 0 otherwise.\n";

int sono_print_help(const char *cmd)
{
    const char *text = !cmd ? overview
                       : strcmp(cmd, "run") == 0 ? run_help
                       : strcmp(cmd, "ab") == 0 ? ab_help
                       : strcmp(cmd, "list") == 0 ? list_help
                       : strcmp(cmd, "exec") == 0 ? exec_help
                       : strcmp(cmd, "calibrate") == 0 ? calibrate_help
                       : strcmp(cmd, "compare") == 0 ? compare_help
                       : strcmp(cmd, "history") == 0 ? history_help
                       : strcmp(cmd, "export") == 0 ? export_help
                       : strcmp(cmd, "show") == 0 ? show_help
                       : strcmp(cmd, "report") == 0 ? report_help
                       : strcmp(cmd, "fleet") == 0 ? fleet_help
                       : strcmp(cmd, "results") == 0 ? results_help
                       : strcmp(cmd, "dataset") == 0 ? dataset_help
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
