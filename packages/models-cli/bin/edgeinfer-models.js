#!/usr/bin/env node
// Sources are TypeScript with no build step, and Node 20 cannot strip types: tsx compiles them on import.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli.ts');
process.exitCode = await runCli(process.argv.slice(2));
