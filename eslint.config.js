// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Package boundaries from ../shared/DESIGN.md, enforced rather than hoped for:
 * imports point down the layers only, and never into another package's internals.
 */
const LAYER_ALLOWED_IMPORTS = {
  core: [],
  loader: ['core'],
  telemetry: ['core'],
  quantize: ['core'],
  'backend-ort': ['core'],
  'backend-tfjs': ['core'],
  engine: ['core', 'loader', 'telemetry'],
  collector: ['core', 'telemetry'],
  runtime: ['core', 'loader', 'telemetry', 'engine', 'backend-ort', 'backend-tfjs'],
};
const ALL_PACKAGES = Object.keys(LAYER_ALLOWED_IMPORTS);

const internalsPattern = {
  group: ['@edgeinfer/*/src', '@edgeinfer/*/src/**', '**/packages/*/src/**', '../../*/src/**'],
  message: "Import another package by its public entry ('@edgeinfer/<name>'), never its internals.",
};

function boundaryRule(allowed) {
  const forbidden = ALL_PACKAGES.filter((name) => !allowed.includes(name));
  return [
    'error',
    {
      patterns: [
        internalsPattern,
        ...(forbidden.length === 0
          ? []
          : [
              {
                group: forbidden.flatMap((name) => [`@edgeinfer/${name}`, `@edgeinfer/${name}/**`]),
                message: 'This import points up (or sideways across) the layers in DESIGN.md. Depend only on lower layers.',
              },
            ]),
      ],
    },
  ];
}

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'test-results/**', 'playwright-report/**', 'bench-results/**', 'models/**/*.js', '**/*.tmp.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      'no-restricted-imports': ['error', { patterns: [internalsPattern] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...Object.entries(LAYER_ALLOWED_IMPORTS).map(([name, allowed]) => ({
    files: [`packages/${name}/**/*.ts`],
    rules: { 'no-restricted-imports': boundaryRule(allowed) },
  })),
  {
    // Apps and pages see only what a user of the published packages sees.
    files: ['demo/**/*.ts'],
    rules: { 'no-restricted-imports': boundaryRule(['core', 'loader', 'telemetry', 'runtime']) },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    // The consumer fixture apps run in the browser; visit.mjs passes callbacks into the page.
    files: ['e2e/consumer/fixtures/**/*.js', 'e2e/consumer/visit.mjs'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
