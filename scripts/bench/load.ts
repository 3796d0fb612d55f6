/**
 * The load generator of `npm run bench -- gateway`, run as a process of its
 * own: autocannon in the gateway's process would share its event loop, and
 * the figures would measure the two fighting over one thread (it halved
 * /healthz here). Reads a spec file (argv[2]: {url, connections, seconds,
 * requests}) and prints autocannon's summary as one JSON line. autocannon
 * cycles through `requests` on every connection, so a skewed mix is a long
 * pre-drawn sequence of requests.
 */
import { readFileSync } from 'node:fs';
// @ts-expect-error autocannon ships no type declarations (the part used is typed in gateway.ts)
import autocannon from 'autocannon';

interface Spec {
  url: string;
  connections: number;
  seconds: number;
  requests: { method: string; path: string; headers?: Record<string, string>; body?: string }[];
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
const r = (await (autocannon as (o: unknown) => Promise<unknown>)({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  requests: spec.requests,
})) as Record<string, unknown>;
process.stdout.write(JSON.stringify(r) + '\n');
