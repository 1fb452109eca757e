/*
 * init_image.S — the cage's init (launcher/init/), built first, inside this
 * program: the join starts it in the cage from a memfd, as the Deno path
 * does from its embedded copy. Embedded rather than read from beside this
 * program: the init and the join speak one argv protocol (cage.c's
 * wgl_init_argv), and a package half-upgraded on disk must not pair a new
 * join with an old init; one file also has nothing to find at run time.
 * build.ts passes the init's path as WGJ_INIT_PATH.
 */
  .section .rodata
  .balign 16
  .globl wgj_init_image
wgj_init_image:
  .incbin WGJ_INIT_PATH
  .globl wgj_init_image_end
wgj_init_image_end:
  .section .note.GNU-stack, "", %progbits
