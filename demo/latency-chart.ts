import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const WINDOW = 50;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** p50/p95 of the last runs per backend, as a bar chart. */
export function createLatencyChart(canvas: HTMLCanvasElement) {
  const samples = new Map<string, number[]>();
  const chart = new Chart<'bar', number[], string>(canvas, {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'p50 ms', data: [], backgroundColor: '#0b5fff' }, { label: 'p95 ms', data: [], backgroundColor: '#8fb3ff' }] },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } } },
  });
  return {
    add(backend: string, latencyMs: number) {
      const list = samples.get(backend) ?? [];
      list.push(latencyMs);
      if (list.length > WINDOW) list.shift();
      samples.set(backend, list);
      const backends = [...samples.keys()];
      chart.data.labels = backends.map((name) => `${name} (n=${samples.get(name)!.length})`);
      const sorted = backends.map((name) => [...samples.get(name)!].sort((a, b) => a - b));
      chart.data.datasets[0]!.data = sorted.map((list) => percentile(list, 50));
      chart.data.datasets[1]!.data = sorted.map((list) => percentile(list, 95));
      chart.update();
    },
  };
}
