// The customer's endpoint for the delivery benchmark: answers 200 at once and
// records, for each delivery, how long after its message was committed it
// arrived. GET /stats reports and resets. RECEIVER_DELAY_MS makes it a slow
// receiver, which answers that long after a delivery arrived.
import { createServer } from 'node:http';

const delayMs = Number(process.env.RECEIVER_DELAY_MS ?? 0);

let count = 0;
let latenciesMs = [];

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count, latenciesMs }));
    count = 0;
    latenciesMs = [];
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    count++;
    const { time } = JSON.parse(Buffer.concat(chunks).toString());
    latenciesMs.push(Date.now() - time / 1000);
    if (delayMs > 0) setTimeout(() => res.writeHead(200, { 'content-length': 0 }).end(), delayMs);
    else res.writeHead(200, { 'content-length': 0 }).end();
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening on\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
