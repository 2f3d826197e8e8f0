/* The floodgate executable: a small dispatcher. Each subcommand lives in its
 * own px_cmd_<name>.c; this file only maps names (and the historical
 * --check-config spelling) to them. Without a subcommand (options first),
 * floodgate runs the proxy. */
#include <stdio.h>
#include <string.h>

#include "px_cmd.h"

struct px_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
};

static const struct px_command px_commands[] = {
    {"run", px_cmd_run, "[run] --config FILE [--listen ADDR] [--ready-file PATH] [--workers N]",
     "serve: the rate-limiting proxy in front of kube-apiserver (the default)"},
    {"check-config", px_cmd_check, "check-config FILE",
     "validate FILE and print the effective policy (exit 0 valid, 1 invalid)"},
    {"explain", px_cmd_explain, "explain ARGS",
     "what the policy does with one request from one identity (explain --help)"},
    {"ctl", px_cmd_ctl, "ctl COMMAND [ARGS]",
     "the admin endpoint: health, metrics, shed, mode, block, reload (ctl --help)"},
};

#define NCOMMANDS (sizeof(px_commands) / sizeof(px_commands[0]))

static void
usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: floodgate COMMAND [ARGS]\n"
               "       floodgate --check-config FILE\n"
               "       floodgate --version | --help\n\ncommands:\n");
    for (i = 0; i < NCOMMANDS; i++) {
        fprintf(f, "  %-24s %s\n", px_commands[i].usage, px_commands[i].summary);
    }
}

int
main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    size_t i;

    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("floodgate %s\n", FG_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--check-config") == 0) {
        cmd = "check-config";
    } else if (strncmp(cmd, "--", 2) == 0) {
        return px_cmd_run(argc, argv); /* `floodgate --config F` is `floodgate run --config F` */
    }
    for (i = 0; i < NCOMMANDS; i++) {
        if (strcmp(cmd, px_commands[i].name) == 0) {
            return px_commands[i].run(argc - 1, argv + 1);
        }
    }
    if (cmd[0] != '\0') {
        fprintf(stderr, "floodgate: unknown command \"%s\"\n", cmd);
    }
    usage(stderr);
    return 2;
}
