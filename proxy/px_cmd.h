/* The floodgate executable's subcommands: one function per subcommand, each
 * in its own file (px_cmd_<name>.c), called by main.c with the arguments
 * after the subcommand name (argv[0] is the subcommand). Each returns the
 * process exit status. */
#ifndef PX_CMD_H
#define PX_CMD_H

/* floodgate check-config FILE: validates FILE and prints the summary of its
 * effective policy. 0 valid, 1 invalid, 2 usage. */
int px_cmd_check(int argc, char **argv);

/* floodgate [run] --config FILE [--listen ADDR] [--ready-file PATH]
 * [--workers N]: serves until SIGTERM or SIGINT, then drains. 0 after a
 * clean shutdown, 1 when it cannot start, 2 on usage errors. */
int px_cmd_run(int argc, char **argv);

/* floodgate explain --config FILE [IDENTITY] [--state FILE] [--json]
 * METHOD TARGET (or --stdin): what the proxy would do with that request
 * from that identity. 0 explained, 1 an error (or a bad --stdin line),
 * 2 usage. */
int px_cmd_explain(int argc, char **argv);

/* floodgate ctl [--admin ADDR] [--token-file F] [--json] COMMAND ...: one
 * request to the admin endpoint (see proxy/ADMIN.md). 0 on success, 1 on
 * an error answer or an unreachable endpoint, 2 on usage errors. */
int px_cmd_ctl(int argc, char **argv);

#endif /* PX_CMD_H */
