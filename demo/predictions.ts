import type { Classification, ClassifyOutput } from '@edgeinfer/runtime';

/**
 * The top-k an app should show. `model.classify()` always applies softmax, which is right for logits
 * (Fashion-MNIST) but flattens a model that already ends in softmax (content-safety's
 * "probabilities": 0.98 would show as ~0.4). When the raw output is already a distribution, it is
 * ranked as it is.
 */
export function topPredictions(result: ClassifyOutput, labels: readonly string[], k = 5): Classification[] {
  const raw = result.output.data;
  if (!(raw instanceof Float32Array) || !isDistribution(raw)) return [...result.top];
  return [...raw]
    .map((probability, index) => ({ index, probability, label: labels[index] ?? `class ${index}` }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}

function isDistribution(values: Float32Array): boolean {
  let sum = 0;
  for (const value of values) {
    if (value < 0 || value > 1) return false;
    sum += value;
  }
  return Math.abs(sum - 1) < 1e-3;
}
