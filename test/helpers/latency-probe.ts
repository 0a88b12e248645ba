import { spawn } from 'node:child_process';

/**
 * Measures an API's responsiveness from a process of its own, so that the
 * test's own work (parsing large responses, say) does not count as the
 * server's latency: `GET <url>` every 10 ms until stopped.
 */
const SCRIPT = `
const [url, token] = process.argv.slice(1);
const latencies = [];
let running = true;
process.stdin.on('data', () => { running = false; });
(async () => {
  while (running) {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: 'Bearer ' + token } });
    await response.text();
    if (response.status !== 200) throw new Error('GET answered ' + response.status);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  process.stdout.write(JSON.stringify(latencies));
  process.exit(0);
})();
`;

export interface LatencyProbe {
  /** Stops probing and resolves with every latency measured, in ms. */
  stop(): Promise<number[]>;
}

export function startLatencyProbe(url: string, token: string): LatencyProbe {
  const child = spawn(process.execPath, ['-e', SCRIPT, url, token], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    async stop() {
      child.stdin.end('stop');
      const code = await exited;
      if (code !== 0) throw new Error(`the latency probe exited ${code}`);
      return JSON.parse(out) as number[];
    },
  };
}

/** The 99th percentile of `values`. */
export function p99(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.99)]!;
}
