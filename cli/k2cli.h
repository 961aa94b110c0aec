/* cli/k2cli.h: commands of the command layer itself (those that combine several modules). */
#ifndef K2CLI_H
#define K2CLI_H

/* `k2 opt IN.o -o OUT.o ...` (cli/opt.c). */
int k2_cmd_opt(int argc, char **argv);

#endif
