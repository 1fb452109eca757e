/** The wgcage release this source tree is. */
export const VERSION = "0.1.0";
