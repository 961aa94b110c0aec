/* smt/k2smt_cmd.h: smt/'s subcommands of `k2`, for cli/k2.c (without the solver's types). */
#ifndef K2SMT_CMD_H
#define K2SMT_CMD_H

/* `k2 safety FILE.o [-s SECTION] [--window S:E] [--save DIR] [--timeout MS] [--smt2 FILE]`. */
int k2_cmd_safety(int argc, char **argv);

#endif
