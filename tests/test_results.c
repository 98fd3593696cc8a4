/* test_results.c — sono_results_load on a file a real `harness run` wrote, and on copies of
 * it broken one way each (bad JSON, wrong schema, a case without an id or with an unknown
 * status, ...): the good file loads, each broken one is refused naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results.h"

extern char **environ;

static char rs_dir[64];
static char rs_good[PATH_MAX]; /* written by the harness in rs_setup */

static int rs_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int rs_setup(void **state)
{
    (void)state;
    snprintf(rs_dir, sizeof rs_dir, "/tmp/sono_results_XXXXXX");
    if (!mkdtemp(rs_dir))
        return -1;
    snprintf(rs_good, sizeof rs_good, "%s/good.json", rs_dir);
    const char *h = getenv("SONO_HARNESS") ? getenv("SONO_HARNESS") : "bin/harness";
    char *const argv[] = {(char *)h, "run", "tests/data/cli/tiny.ini", "--out", rs_good,
                          "--quiet", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    char errf[PATH_MAX];
    snprintf(errf, sizeof errf, "%s/run.err", rs_dir);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, h, &fa, NULL, argv, environ), st = 0;
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "test_results: cannot start %s: %s\n", h, strerror(rc));
        return -1;
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "test_results: %s run tests/data/cli/tiny.ini: status 0x%x; see %s\n",
                h, st, errf);
        return -1;
    }
    return 0;
}

static int rs_teardown(void **state)
{
    (void)state;
    return nftw(rs_dir, rs_rm, 8, FTW_DEPTH | FTW_PHYS);
}

static char *rs_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

static void rs_write(const char *path, const char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static json_t *rs_good_doc(void)
{
    json_t *d = json_load_file(rs_good, 0, NULL);
    assert_non_null(d);
    return d;
}

/* Writes doc to name in rs_dir and expects sono_results_load to refuse it with
 * SONO_EPARSE, naming the file and saying each of the given words. */
static void rs_refused(json_t *doc, const char *name, const char *w1, const char *w2)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", rs_dir, name);
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
    json_t *out = (json_t *)1;
    sono_error err = {0};
    int rc = sono_results_load(path, &out, &err);
    if (rc != SONO_EPARSE || !strstr(err.msg, path) || (w1 && !strstr(err.msg, w1)) ||
        (w2 && !strstr(err.msg, w2)))
        print_error("%s: rc %d, message: %s\n", name, rc, err.msg);
    assert_int_equal(rc, SONO_EPARSE);
    assert_int_equal(err.code, SONO_EPARSE);
    assert_null(out);
    assert_non_null(strstr(err.msg, path));
    if (w1)
        assert_non_null(strstr(err.msg, w1));
    if (w2)
        assert_non_null(strstr(err.msg, w2));
}

static void rs_good_file_loads(void **state)
{
    (void)state;
    json_t *doc = NULL;
    sono_error err = {0};
    int rc = sono_results_load(rs_good, &doc, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "schema")), SONO_RESULTS_SCHEMA);
    assert_int_equal(json_array_size(json_object_get(doc, "cases")), 4);
    json_decref(doc);
}

static void rs_bad_json(void **state)
{
    (void)state;
    size_t n;
    char *text = rs_slurp(rs_good, &n);
    char path[PATH_MAX];

    /* cut in half: an error at a line of the part that is left */
    snprintf(path, sizeof path, "%s/truncated.json", rs_dir);
    rs_write(path, text, n / 2);
    int lines = 1;
    for (size_t i = 0; i < n / 2; i++)
        lines += text[i] == '\n';
    json_t *doc = (json_t *)1;
    sono_error err = {0};
    assert_int_equal(sono_results_load(path, &doc, &err), SONO_EPARSE);
    assert_int_equal(err.code, SONO_EPARSE);
    assert_null(doc);
    char head[PATH_MAX + 8];
    snprintf(head, sizeof head, "%s:", path);
    assert_int_equal(strncmp(err.msg, head, strlen(head)), 0);
    int line = atoi(err.msg + strlen(head));
    if (line < 1 || line > lines)
        print_error("line %d outside 1..%d: %s\n", line, lines, err.msg);
    assert_true(line >= 1 && line <= lines);

    /* a broken token on a known line: the message names that very line */
    char *colon = strstr(text, "\"schema\":");
    assert_non_null(colon);
    int want = 1;
    for (char *s = text; s < colon; s++)
        want += *s == '\n';
    colon[strlen("\"schema\"")] = ';';
    snprintf(path, sizeof path, "%s/semicolon.json", rs_dir);
    rs_write(path, text, n);
    assert_int_equal(sono_results_load(path, &doc, &err), SONO_EPARSE);
    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "%s:%d:", path, want);
    if (strncmp(err.msg, where, strlen(where)) != 0)
        print_error("expected '%s' at the start of: %s\n", where, err.msg);
    assert_int_equal(strncmp(err.msg, where, strlen(where)), 0);
    free(text);

    /* no file at all is an I/O error, not a parse error */
    snprintf(path, sizeof path, "%s/absent.json", rs_dir);
    assert_int_equal(sono_results_load(path, &doc, &err), SONO_EIO);
    assert_non_null(strstr(err.msg, path));
}

static void rs_wrong_schema(void **state)
{
    (void)state;
    json_t *d = rs_good_doc();
    json_object_set_new(d, "schema", json_string("sonobench.results/0"));
    rs_refused(d, "schema0.json", "schema", SONO_RESULTS_SCHEMA);
    d = rs_good_doc();
    json_object_del(d, "schema");
    rs_refused(d, "noschema.json", "schema", NULL);
    rs_refused(json_pack("[s]", SONO_RESULTS_SCHEMA), "array.json", NULL, NULL);
    d = rs_good_doc();
    json_object_set_new(d, "cases", json_object());
    rs_refused(d, "cases-object.json", "cases", NULL);
}

static void rs_bad_cases(void **state)
{
    (void)state;
    json_t *d = rs_good_doc();
    json_object_del(json_array_get(json_object_get(d, "cases"), 0), "id");
    rs_refused(d, "noid.json", "case 0", "\"id\"");

    d = rs_good_doc();
    json_t *c = json_array_get(json_object_get(d, "cases"), 1);
    char id[256];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(c, "id")));
    json_object_set_new(c, "status", json_string("bogus"));
    rs_refused(d, "bogus.json", "case 1", id); /* names the case by index and id */

    d = rs_good_doc();
    json_object_del(json_array_get(json_object_get(d, "cases"), 2), "time_ns");
    rs_refused(d, "ok-untimed.json", "case 2", "time_ns");

    d = rs_good_doc();
    json_object_set_new(json_array_get(json_object_get(d, "cases"), 3), "params",
                        json_string("n=16"));
    rs_refused(d, "params.json", "case 3", "params");

    d = rs_good_doc();
    json_array_append_new(json_object_get(d, "cases"), json_integer(7));
    rs_refused(d, "not-object.json", "case 4", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rs_good_file_loads),
        cmocka_unit_test(rs_bad_json),
        cmocka_unit_test(rs_wrong_schema),
        cmocka_unit_test(rs_bad_cases),
    };
    return cmocka_run_group_tests(tests, rs_setup, rs_teardown);
}
