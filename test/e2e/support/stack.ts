// Brings the real docker-compose.yml up with testcontainers (plus a local
// webhook receiver standing in for Slack), and drives it the way an operator
// does: plain HTTP on the published 127.0.0.1 ports and the Makefile targets,
// through the host-side tools' own module (ops/stack).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DockerComposeEnvironment, Wait, type StartedDockerComposeEnvironment } from 'testcontainers';
import { loadStackSettings, runMake, servingPoolFile, type MakeOptions, type MakeRun, type StackSettings } from '../../../ops/stack/index.js';
import type { ChannelMessage, SlackApiFault, StandInCall, StandInMessage } from '../receiver/slackApi.mjs';

const execFileAsync = promisify(execFile);
export type { ChannelMessage, StandInCall, StandInMessage } from '../receiver/slackApi.mjs';

export const ROOT = path.resolve(import.meta.dirname, '../../..');

// E2E_PORT_BASE moves every published port, so two checkouts can run their
// suites side by side; each vitest worker has its own 200 ports above it, so
// the suites of the e2e-paired project (vitest.config.ts) run two at a time.
const WORKER = (Number(process.env.VITEST_POOL_ID ?? 1) - 1) % 4;
const BASE = Number(process.env.E2E_PORT_BASE ?? 18080) + WORKER * 200;
export const PORTS = {
  nginx: BASE,
  blue: BASE + 1,
  green: BASE + 2,
  receiver: BASE + 10,
  watcher: BASE + 20,
  prometheus: BASE + 30,
} as const;
export const RELEASES = { blue: 'blue-e2e-1', green: 'green-e2e-2' } as const;
// The stack's Compose files, for testcontainers and, through COMPOSE_FILE, for
// every `docker compose` a make target or the release tool runs against it:
// the same service definitions (the receiver, the probes every second), so a
// target re-creates nothing it should not and a deploy is healthy as fast.
const COMPOSE_FILES = ['docker-compose.yml', 'test/e2e/receiver.compose.yml'];

export interface Stack {
  env: StartedDockerComposeEnvironment;
  projectName: string;
  envFile: string;
  /** What a process that drives this stack needs in its environment: the project, its profiles and Compose files. */
  composeEnv: Record<string, string>;
  /** The stack's settings as the host-side tools read them. */
  settings: StackSettings;
  /** Runs `make <args>` against this stack (60 s at most); resolves with its exit code and output. */
  make(...args: string[]): Promise<MakeRun>;
  /** The same with options: a longer timeout, a callback on each chunk of output. */
  makeWith(opts: MakeOptions, ...args: string[]): Promise<MakeRun>;
  compose(...args: string[]): Promise<string>;
  down(): Promise<void>;
}

/**
 * `profiles`: Compose profiles to bring up with the stack (`monitoring` adds
 * Prometheus). `overlays`: test Compose files of the suite's own, after
 * COMPOSE_FILES (for testcontainers and every `docker compose` of the
 * stack alike). `ownImages`: the stack's images under a tag of its own, for a
 * suite that checks `make up` re-creates nothing: suites side by side build
 * the shared tag at once, and one such build can leave it naming a new image
 * id, which the next `up` would rightly re-create every container for.
 */
export async function startStack(
  name: string,
  settings: Record<string, string> = {},
  { profiles = [], overlays = [], ownImages = false }: { profiles?: string[]; overlays?: string[]; ownImages?: boolean } = {},
): Promise<Stack> {
  const composeFiles = [...COMPOSE_FILES, ...overlays];
  const projectName = `bg-e2e-${name}-${process.pid}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'bg-e2e-'));
  const envFile = path.join(dir, '.env');
  // The stack's own control volume: a switch in one suite's stack is not another's.
  const controlDir = path.join(dir, 'control');
  mkdirSync(controlDir, { mode: 0o755 });
  const values: Record<string, string> = {
    ACTIVE_POOL: 'blue',
    POOL_CONTROL_DIR: controlDir,
    NGINX_PORT: String(PORTS.nginx),
    BLUE_PORT: String(PORTS.blue),
    GREEN_PORT: String(PORTS.green),
    RECEIVER_PORT: String(PORTS.receiver),
    WATCHER_HOST_PORT: String(PORTS.watcher),
    PROMETHEUS_PORT: String(PORTS.prometheus),
    IMAGE_TAG: ownImages ? `e2e-${name}-${process.pid}` : (process.env.E2E_IMAGE_TAG ?? 'local'),
    RELEASE_ID_BLUE: RELEASES.blue,
    RELEASE_ID_GREEN: RELEASES.green,
    ALERT_COOLDOWN_SEC: '0',
    // Short, so a suite waits seconds, not the default 30 s, for each all-clear.
    RECOVERY_HOLD_SEC: '3',
    ...settings,
  };
  writeFileSync(envFile, Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join(''));

  const started = Date.now();
  console.log(`[e2e] ${name}: building and starting the stack (project ${projectName})…`);
  const env = await new DockerComposeEnvironment(ROOT, composeFiles)
    .withProjectName(projectName)
    .withEnvironmentFile(envFile)
    .withProfiles(...profiles)
    .withBuild()
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(240_000)
    .up();
  console.log(`[e2e] ${name}: stack healthy after ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const stackEnv = { COMPOSE_PROJECT_NAME: projectName, COMPOSE_PROFILES: profiles.join(','), COMPOSE_FILE: composeFiles.join(path.delimiter) };
  const childEnv = { ...process.env, ...stackEnv };
  const compose = async (...args: string[]) =>
    (
      await execFileAsync(
        'docker',
        ['compose', '--env-file', envFile, ...args],
        { cwd: ROOT, env: childEnv },
      )
    ).stdout;
  const loaded = loadStackSettings({ ENV_FILE: envFile });
  if (!loaded.ok) throw new Error(`test env file rejected: ${loaded.problems.join('; ')}`);
  const makeWith = (opts: MakeOptions, ...args: string[]) =>
    runMake(loaded.config, args, {
      timeoutMs: 60_000,
      ...opts,
      env: { ...stackEnv, ...opts.env },
    });
  return {
    env,
    projectName,
    envFile,
    composeEnv: stackEnv,
    settings: loaded.config,
    make: (...args) => makeWith({}, ...args),
    makeWith,
    compose,
    down: async () => {
      await env.down({ removeVolumes: true, timeout: 10_000 });
      if (ownImages) await execFileAsync('docker', ['image', 'rm', `bluegreen-node:${values.IMAGE_TAG}`, `bluegreen-nginx:${values.IMAGE_TAG}`]).catch(() => undefined);
    },
  };
}

/** The pool the control volume's file names (what `make switch` wrote), or undefined before any switch. */
export function switchedPool(stack: Pick<Stack, 'settings'>): string | undefined {
  const file = servingPoolFile(stack.settings);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

export function envFileValue(envFile: string, key: string): string | undefined {
  const line = readFileSync(envFile, 'utf8')
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(`${key}=`));
  return line?.slice(key.length + 1);
}

export interface Sample {
  status: number;
  pool: string | null;
  release: string | null;
  ms: number;
}

/** One request to the public entry, as a client would send it (a new connection each time). */
export async function getVersion(): Promise<Sample> {
  const t0 = performance.now();
  try {
    const res = await fetch(`http://127.0.0.1:${PORTS.nginx}/version`, {
      headers: { connection: 'close' },
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return {
      status: res.status,
      pool: res.headers.get('x-app-pool'),
      release: res.headers.get('x-release-id'),
      ms: performance.now() - t0,
    };
  } catch {
    return { status: 0, pool: null, release: null, ms: performance.now() - t0 };
  }
}

/** `count` requests spread over `durationMs`, one after another, like a steady client. */
export async function sampleTraffic(count: number, durationMs: number): Promise<Sample[]> {
  const gap = durationMs / count;
  const samples: Sample[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    samples.push(await getVersion());
    const next = start + (i + 1) * gap;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return samples;
}

export function summarize(samples: Sample[]) {
  const non200 = samples.filter((s) => s.status !== 200).length;
  const share = (pool: string) => samples.filter((s) => s.pool === pool).length / samples.length;
  const slowestMs = Math.max(...samples.map((s) => s.ms));
  return { count: samples.length, non200, green: share('green'), blue: share('blue'), slowestMs };
}

export async function chaos(pool: 'blue' | 'green', query: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${PORTS[pool]}/chaos/${query}`, { method: 'POST' });
}

export interface SlackPost {
  receivedAt: number;
  body: { text: string; blocks?: unknown[] };
  /** Answered 2xx: a message Slack would show. receivedAlerts() lists only these. */
  accepted: boolean;
  /** What the receiver answered. */
  status: number;
}

/** The posts the receiver accepted, oldest first: what the channel would show. */
export async function receivedAlerts(): Promise<SlackPost[]> {
  const res = await fetch(`http://127.0.0.1:${PORTS.receiver}/messages`);
  return (await res.json()) as SlackPost[];
}

/** Every post, the refused ones too (setReceiver), oldest first. */
export async function receivedPosts(): Promise<SlackPost[]> {
  const res = await fetch(`http://127.0.0.1:${PORTS.receiver}/messages?all=1`);
  return (await res.json()) as SlackPost[];
}

/** How the receiver answers each webhook post: `status`, with a body of `bodyBytes` bytes when above 0. */
export interface ReceiverMode {
  status: number;
  bodyBytes?: number;
}

export interface ReceiverState {
  status: number;
  bodyBytes: number;
  /** Answers with a `bodyBytes` body: started, written to the end, cut short by the client closing; bytes handed to the socket. */
  huge: { started: number; finished: number; abandoned: number; maxBytesWritten: number; bytesWritten: number };
}

/**
 * Makes the receiver answer every webhook post this way until told
 * otherwise; `{ status: 200 }` is normal. The mode lives as long as the
 * stack: a suite that changes it sets it back.
 */
export async function setReceiver(mode: ReceiverMode): Promise<ReceiverState> {
  const res = await fetch(`http://127.0.0.1:${PORTS.receiver}/control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(mode),
  });
  if (res.status !== 200) throw new Error(`receiver refused ${JSON.stringify(mode)}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ReceiverState;
}

/** The Web API stand-in's channel (test/e2e/receiver/slackApi.mjs): top-level messages with their edits and threads. */
export async function slackApiMessages(): Promise<ChannelMessage[]> {
  return (await (await fetch(`http://127.0.0.1:${PORTS.receiver}/slack-api/messages`)).json()) as ChannelMessage[];
}

/** Every text a stand-in message has shown, oldest first, the current one last. */
export const versionsOf = (m: StandInMessage): string[] => [...m.versions.map((v) => v.text), m.text];

/** Every call the Web API stand-in answered, in order. */
export async function slackApiCalls(): Promise<StandInCall[]> {
  return (await (await fetch(`http://127.0.0.1:${PORTS.receiver}/slack-api/calls`)).json()) as StandInCall[];
}

/** The stand-in's next call to `method` fails once as `fault` says. */
export async function slackApiFail(method: string, fault: SlackApiFault): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${PORTS.receiver}/slack-api/fail`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method, fault }),
  });
  if (res.status !== 200) throw new Error(`stand-in refused ${method} ${JSON.stringify(fault)}: ${await res.text()}`);
}

export async function receiverState(): Promise<ReceiverState> {
  return (await (await fetch(`http://127.0.0.1:${PORTS.receiver}/control`)).json()) as ReceiverState;
}

/**
 * Tries `attempt` every `intervalMs` until it returns a value; after
 * `timeoutMs` fails with `describe(last)`, where `last` is the last miss
 * (a thrown error or undefined).
 */
export async function pollUntil<T>(
  attempt: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs: number,
  describe: (last: unknown) => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(await describe(last));
    await sleep(intervalMs);
  }
}

/** Polls the receiver until a post whose text contains `phrase` arrives after `since`. */
export function waitForAlert(phrase: string, since: number, timeoutMs: number): Promise<SlackPost> {
  return pollUntil(
    async () => (await receivedAlerts()).find((m) => m.receivedAt >= since && m.body.text.includes(phrase)),
    timeoutMs,
    200,
    async () => {
      const texts = (await receivedAlerts()).map((m) => m.body.text);
      return `no alert containing "${phrase}" within ${timeoutMs} ms; received: ${JSON.stringify(texts)}`;
    },
  );
}

/** Polls until a fresh request is answered 200 by `pool`; resolves with the wait in ms. */
export async function waitForServing(pool: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  let last: Sample | undefined;
  await pollUntil(
    async () => {
      last = await getVersion();
      return last.status === 200 && last.pool === pool ? true : undefined;
    },
    timeoutMs,
    250,
    () => `pool ${pool} not serving after ${timeoutMs} ms (last: ${JSON.stringify(last)})`,
  );
  return Date.now() - start;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until the watcher answers /stats again (after a restart), and returns them. */
export function waitForWatcher(stack: Stack, timeoutMs = 30_000): Promise<{ servingPool: string }> {
  return pollUntil(
    async () => JSON.parse(await stack.compose('exec', '-T', 'alert_watcher', 'node', 'dist/watcher/operator/ctl.js', 'stats')),
    timeoutMs,
    500,
    (last) => `watcher not answering /stats after ${timeoutMs} ms: ${(last as Error | undefined)?.message ?? 'no answer'}`,
  );
}

// ---------------------------------------------------------------------------
// Helpers of the fault and security suites (faults-serving, security,
// nginx-bad-config). Kept together here, apart from the helpers above.
// ---------------------------------------------------------------------------

/** Runs the docker CLI; resolves with its stdout, rejects on a non-zero exit. */
export async function docker(...args: string[]): Promise<string> {
  return (await execFileAsync('docker', args, { cwd: ROOT, timeout: 60_000 })).stdout;
}

/** The id of a service's container in this stack, running or not. */
export async function containerId(stack: Stack, service: string): Promise<string> {
  const id = (await stack.compose('ps', '--all', '-q', service)).trim();
  if (!/^[0-9a-f]{12,64}$/.test(id)) throw new Error(`no single container for ${service}: "${id}"`);
  return id;
}

/** A container's address on its (only) network. */
export async function containerAddress(id: string): Promise<string> {
  return (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id)).trim();
}

export interface Load {
  /** Stops sending, waits for the requests still out, returns every sample. */
  stop(): Promise<Sample[]>;
}

/**
 * Open-loop load on the public entry: `perSecond` new requests each second
 * whether or not earlier ones have answered, as independent clients would
 * send them, so a stuck pool shows up as slow or failed samples, not as a
 * slower sender.
 */
export function startLoad(perSecond: number): Load {
  const pending: Promise<Sample>[] = [];
  const timer = setInterval(() => pending.push(getVersion()), 1000 / perSecond);
  return {
    stop: async () => {
      clearInterval(timer);
      return Promise.all(pending);
    },
  };
}

/** The failed samples of a load, for assertion messages. */
export const failures = (samples: Sample[]) => samples.filter((s) => s.status !== 200);

export { rawHttp, type RawReply } from '../../support/rawHttp.js';
