// The baseline: Node's http module answering 200 with a small JSON body,
// after reading the request body, as the lightest server could.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening on\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
