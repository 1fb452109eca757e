/**
 * The topics `wgcage help TOPIC` knows: apart from the help text itself
 * (usage.ts), which a run does not load.
 *
 * @module
 */

/** Topics `wgcage help TOPIC` knows. */
export const HELP_TOPICS = ["config", "exit", "cage", "ports", "live"] as const;
