/* global process, console */
// The "web" example task: a tiny HTTP service on the port Tiffin allocated (PORT_HTTP).
// `/healthz` answers 200 for the health check; `/` says which task answered.
import { createServer } from "node:http";

const port = Number(process.env.PORT_HTTP);
const task = process.env.TASK_ID ?? "unknown";

const server = createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" }).end(`hello from ${task}\n`);
});

server.listen(port, () => console.log(`${task} listening on :${port}`));

// Tiffin stops tasks with SIGTERM and a grace period: finish in-flight requests, then leave.
process.on("SIGTERM", () => {
  console.log(`${task} stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
