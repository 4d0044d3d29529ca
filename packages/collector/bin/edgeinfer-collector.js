#!/usr/bin/env node
// The collector is TypeScript run without a build step; Node 20 cannot strip types itself, so a
// small loader hook transpiles .ts files as they are imported.
import { register } from 'node:module';

register('./typescript-loader.js', import.meta.url);
const { runCli } = await import('../src/cli.ts');
await runCli(process.argv.slice(2), process.env);
