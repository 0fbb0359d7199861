// Container healthcheck in node, since the slim images ship no curl:
//   node dist/common/probe.js [url]   (default http://127.0.0.1:$PORT/healthz)
// Exits 0 on a 2xx answer within the timeout, 1 otherwise.
const url = process.argv[2] ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}/healthz`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) {
    process.stderr.write(`probe: ${url} answered ${res.status}\n`);
    process.exit(1);
  }
} catch (err) {
  process.stderr.write(`probe: ${url} failed: ${(err as Error).message}\n`);
  process.exit(1);
}
