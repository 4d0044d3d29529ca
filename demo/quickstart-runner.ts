export {};
// Runs the README's quick start as written (readme-quickstart.ts is checked to equal the README block).
await document.querySelector('img')!.decode();
try {
  await import('./readme-quickstart.js');
  document.body.dataset.quickstart = 'done';
} catch (error) {
  document.body.dataset.quickstart = `failed: ${(error as Error).message}`;
}
