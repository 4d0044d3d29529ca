import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';

const DEV_URL = 'http://127.0.0.1:5173';
const BUILD_URL = 'http://127.0.0.1:4173';
const root = new URL('..', import.meta.url).pathname;

/** The same specs run against Vite's dev server and the production build (`npm run build` + preview). */
export default defineConfig({
  testDir: './specs',
  outputDir: '../test-results/e2e',
  timeout: 120_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: '../test-results/playwright.json' }]],
  use: {
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'dev', use: { baseURL: DEV_URL } },
    { name: 'build', use: { baseURL: BUILD_URL } },
  ],
  webServer: [
    { command: 'npx vite --host 127.0.0.1 --port 5173 --strictPort', cwd: root, url: DEV_URL, reuseExistingServer: !process.env.CI, timeout: 120_000 },
    {
      command: 'npx vite build --logLevel warn && npx vite preview --host 127.0.0.1 --port 4173 --strictPort',
      cwd: root,
      url: BUILD_URL,
      reuseExistingServer: !process.env.CI,
      timeout: 300_000,
    },
  ],
});
