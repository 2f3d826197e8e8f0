/* floodgate-demo: the helper bench/demo.sh calls around floodgate-load and
 * floodgate-apisim. "split" cuts the storm scenario into the critical
 * populations, their informers and the fleet (each runs in its own
 * generator); "report"
 * reads both runs back and prints the side-by-side table, checks the
 * properties the demo promises, and writes demo.json and the plot data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bn_demo_report.h"
#include "bn_demo_run.h"
#include "bn_demo_split.h"

static int
usage(FILE *out, int rc)
{
    fputs("usage: floodgate-demo split STORM.json OUTDIR\n"
          "                          [--count POP=N] [--ramp POP=D] [--start POP=D]...\n"
          "       floodgate-demo report [--check] [--json OUT] [--plot-dir DIR]\n"
          "                          [--info FILE] [--waive CHECK]... DIRECT_DIR FLOODGATE_DIR\n"
          "\n"
          "split   writes OUTDIR/critical.json, fleet.json and informers.json (the\n"
          "        critical populations that watch): see bench/demo/bn_demo_split.h\n"
          "report  the side-by-side table of a direct and a floodgate run (see\n"
          "        bench/demo/bn_demo_run.h for the files a run directory holds);\n"
          "        --check exits 1 unless direct saturates and floodgate protects;\n"
          "        --info adds FILE's KEY=VALUE lines to the JSON as \"info\";\n"
          "        --waive CHECK reports CHECK (its demo.json name) but does not fail on it\n",
          out);
    return rc;
}

static int
cmd_split(int argc, char **argv)
{
    struct bn_demo_override ov[BN_DEMO_MAX_OVERRIDES];
    size_t nov = 0;
    char err[512];
    int i;

    if (argc < 3) {
        return usage(stderr, 2);
    }
    for (i = 3; i < argc; i++) {
        const char *key = strcmp(argv[i], "--count") == 0   ? "count"
                          : strcmp(argv[i], "--ramp") == 0  ? "ramp"
                          : strcmp(argv[i], "--start") == 0 ? "start"
                                                            : NULL;

        if (key == NULL || i + 1 >= argc || nov == BN_DEMO_MAX_OVERRIDES) {
            return usage(stderr, 2);
        }
        if (bn_demo_override_parse(argv[++i], key, &ov[nov++], err, sizeof(err)) != 0) {
            fprintf(stderr, "floodgate-demo: %s\n", err);
            return 2;
        }
    }
    if (bn_demo_split(argv[1], ov, nov, argv[2], err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate-demo: %s\n", err);
        return 1;
    }
    return 0;
}

/* KEY=VALUE lines as a JSON object of strings. */
static json_t *
read_info(const char *path)
{
    char line[2048], *eq, *nl;
    json_t *o = json_object();
    FILE *f = fopen(path, "r");

    if (f == NULL || o == NULL) {
        fprintf(stderr, "floodgate-demo: %s: cannot read\n", path);
        if (f != NULL) {
            fclose(f);
        }
        json_decref(o);
        return NULL;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
        }
        if ((eq = strchr(line, '=')) != NULL && eq != line) {
            *eq = '\0';
            json_object_set_new(o, line, json_string(eq + 1));
        }
    }
    fclose(f);
    return o;
}

static int
cmd_report(int argc, char **argv)
{
    const char *json = NULL, *plot = NULL, *info_path = NULL, *dirs[2] = {NULL, NULL};
    const char *waived[BN_DEMO_NCHECKS];
    size_t nwaived = 0;
    struct bn_demo_check checks[BN_DEMO_NCHECKS];
    struct bn_demo_run *d = NULL, *f = NULL;
    json_t *info = NULL;
    bool check = false;
    char err[512];
    int i, rc = 1;
    size_t k, ndirs = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json = argv[++i];
        } else if (strcmp(argv[i], "--plot-dir") == 0 && i + 1 < argc) {
            plot = argv[++i];
        } else if (strcmp(argv[i], "--info") == 0 && i + 1 < argc) {
            info_path = argv[++i];
        } else if (strcmp(argv[i], "--waive") == 0 && i + 1 < argc && nwaived < BN_DEMO_NCHECKS) {
            waived[nwaived++] = argv[++i];
        } else if (argv[i][0] != '-' && ndirs < 2) {
            dirs[ndirs++] = argv[i];
        } else {
            return usage(stderr, 2);
        }
    }
    if (ndirs != 2) {
        return usage(stderr, 2);
    }
    /* each run holds its samples: too big for the stack */
    if ((d = calloc(1, sizeof(*d))) == NULL || (f = calloc(1, sizeof(*f))) == NULL) {
        fprintf(stderr, "floodgate-demo: out of memory\n");
        goto out;
    }
    if (bn_demo_run_read(dirs[0], d, err, sizeof(err)) != 0 ||
        bn_demo_run_read(dirs[1], f, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate-demo: %s\n", err);
        goto out;
    }
    bn_demo_checks(d, f, checks);
    for (k = 0; k < nwaived; k++) {
        if (bn_demo_waive(checks, waived[k]) != 0) {
            fprintf(stderr, "floodgate-demo: --waive %s: no such check\n", waived[k]);
            goto out;
        }
    }
    bn_demo_table(stdout, d, f, checks);
    if (info_path != NULL && (info = read_info(info_path)) == NULL) {
        goto out;
    }
    if ((json != NULL && bn_demo_json(json, info, d, f, checks, err, sizeof(err)) != 0) ||
        (plot != NULL && (bn_demo_plot_data(plot, d, err, sizeof(err)) != 0 ||
                          bn_demo_plot_data(plot, f, err, sizeof(err)) != 0))) {
        fprintf(stderr, "floodgate-demo: %s\n", err);
        goto out;
    }
    rc = 0;
    for (k = 0; check && k < BN_DEMO_NCHECKS; k++) {
        if (!checks[k].pass && !checks[k].waived) {
            rc = 1;
        }
    }
out:
    json_decref(info);
    free(d);
    free(f);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "split") == 0) {
        return cmd_split(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "report") == 0) {
        return cmd_report(argc - 1, argv + 1);
    }
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        return usage(stdout, 0);
    }
    return usage(stderr, 2);
}
