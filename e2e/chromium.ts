import { readFileSync } from 'node:fs';

/** Debian's Chromium: Playwright's own browser download cannot work on these machines. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags that give headless Chromium WebGPU and WebGL2 on SwiftShader, and keep it off the network.
 * Kept in JSON so the consumer suite's plain .mjs scripts read the same list.
 */
export const CHROMIUM_ARGS: string[] = JSON.parse(readFileSync(new URL('./chromium-flags.json', import.meta.url), 'utf8'));
