/*
 * join_terminal_filter.c — the init's terminal filter (init/terminal_filter.c),
 * compiled into the launcher library too: a joining child (join.c) installs
 * it before it enters a live cage's mount namespace, so nothing of that
 * namespace's files runs without it. One source for both binaries: the build
 * compiles the C files of launcher/ into the library and those of
 * launcher/init/ into the init, and hashes both directories, so an edit
 * there rebuilds this too.
 */
#include "init/terminal_filter.c"
