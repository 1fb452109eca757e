/*
 * environ.h — erasing a variable from the process's original environment.
 *
 * unsetenv(3) only drops a pointer from `environ`; the string itself stays in
 * the block the kernel copied onto the stack at exec, between env_start and
 * env_end (fields 50 and 51 of /proc/self/stat). That block is what
 * /proc/PID/environ shows, and a child cloned or forked from the process
 * starts with a copy of it. wgcage reads its config from a variable with
 * --config-env and then erases the value there too, before the cage is made.
 *
 * Returns >= 0 on success and -errno on failure; never exits the process.
 */
#ifndef WGL_ENVIRON_H
#define WGL_ENVIRON_H

/* Zeroes the value of every `name=value` string in the original environment
 * block (the `name=` stays). Call it after unsetenv(name): nothing may still
 * point at the value. Returns how many strings it changed (0 when the block
 * never held the variable), -EINVAL for an empty name or one holding '=', or
 * -errno when /proc/self/stat cannot be read or does not show the block. */
int wgl_environ_scrub(const char *name);

#endif
