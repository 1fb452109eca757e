/*
 * release.h — the parent's memory that a forked child lets go of.
 *
 * The cage's init is cloned with fork semantics and never execs: left alone
 * it would share every page of wgcage's memory copy-on-write for the whole
 * run, so each page wgcage writes afterwards (the JS heap, Deno's own
 * allocations; V8 keeps the WireGuard core's memory out of forks already)
 * would be copied first (~7 us a page), and the init would pin the old
 * copies. The parent lists, before the clone, every private
 * anonymous mapping the child does not need; the child unmaps them first
 * thing, and wgcage's pages are its own again.
 */
#ifndef WGCAGE_RELEASE_H
#define WGCAGE_RELEASE_H

#include <stddef.h>
#include <stdint.h>

struct span {
  uintptr_t start, end;
};

struct release_plan {
  struct span *spans; /* a mapping of its own, which is kept */
  size_t count, cap;
};

/* Parent, before the clone: lists the private anonymous mappings that hold
 * none of the `keep` addresses and are neither the heap, the stack, nor the
 * zero-fill tail (.bss) of a file mapping. Returns 0 or -errno; on failure
 * the plan is empty (the child keeps everything). */
int release_plan_make(struct release_plan *r, const uintptr_t *keep, size_t keep_count);

/* Child: unmaps what the plan lists. Async-signal-safe. */
void release_plan_apply(const struct release_plan *r);

void release_plan_free(struct release_plan *r);

#endif
