import { describe, expect, it } from 'vitest';
import { formatSlackMessage } from '../../../watcher/notify/slackMessage.js';
import type { Alert, WindowStats } from '../../../watcher/types.js';
import { record, retried } from './records.js';

const RUNBOOK = 'https://git.example.com/ops/runbook.md';
const AT = Date.UTC(2026, 10, 22, 0, 6, 32, 123);

interface TextObject {
  type: string;
  text: string;
}
interface Payload {
  text: string;
  blocks: [
    { type: 'header'; text: TextObject },
    { type: 'section'; fields: TextObject[] },
    { type: 'context'; elements: TextObject[] },
  ];
}

function window(fields: Partial<WindowStats> = {}): WindowStats {
  return {
    size: 200,
    count: 200,
    errors: 15,
    clientErrors: 1,
    upstreamErrors: 15,
    errorRate: 7.5,
    clientErrorRate: 0.5,
    upstreamErrorRate: 7.5,
    topFailingUpstream: { addr: '172.18.0.3:3000', failures: 15 },
    ...fields,
  };
}

function alert(fields: Partial<Alert> = {}): Alert {
  return {
    kind: 'failover',
    at: AT,
    from: 'blue',
    to: 'green',
    fromRelease: 'blue-v1',
    toRelease: 'green-v1',
    record: retried(),
    window: window(),
    thresholdPercent: 2,
    heldBack: 0,
    ...fields,
  };
}

function format(a: Alert, runbookUrl = RUNBOOK): Payload {
  return formatSlackMessage(a, { runbookUrl }) as unknown as Payload;
}

/** Field text by its bold label. */
function field(p: Payload, label: string): string | undefined {
  const f = p.blocks[1].fields.find((x) => x.text.startsWith(`*${label}*\n`));
  return f?.text.slice(label.length + 3);
}

describe('formatSlackMessage phrases', () => {
  it.each([
    ['failover', alert({ kind: 'failover' }), 'Failover detected: pool changed blue → green', 'failover-detected'],
    ['recovery', alert({ kind: 'recovery', from: 'green', to: 'blue' }), 'Recovered: pool changed green → blue', 'recovered'],
    ['planned_switch', alert({ kind: 'planned_switch' }), 'Planned switch: pool changed blue → green', 'planned-switch'],
    [
      'error_rate',
      alert({ kind: 'error_rate', from: undefined, to: undefined }),
      'High error rate: 7.5% of the last 200 requests failed (threshold 2%)',
      'high-error-rate',
    ],
    [
      'resolved',
      alert({ kind: 'resolved', from: undefined, to: undefined, window: window({ errorRate: 0.5 }) }),
      'Error rate resolved: 0.5% of the last 200 requests (threshold 2%)',
      'error-rate-resolved',
    ],
  ])('%s', (_, a, phrase, anchor) => {
    const p = format(a);
    expect(p.text).toBe(phrase);
    expect(p.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: phrase } });
    expect(p.blocks[2]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Runbook: ${RUNBOOK}#${anchor}` }],
    });
  });

  it('formats percentages with at most one decimal', () => {
    const p = format(alert({ kind: 'error_rate', thresholdPercent: 2.25, window: window({ errorRate: 100 / 3 }) }));
    expect(p.text).toBe('High error rate: 33.3% of the last 200 requests failed (threshold 2.3%)');
    const q = format(alert({ kind: 'error_rate', thresholdPercent: 5, window: window({ errorRate: 7.96, count: 50 }) }));
    expect(q.text).toBe('High error rate: 8% of the last 50 requests failed (threshold 5%)');
  });

  it('uses the arrow U+2192', () => {
    expect(format(alert()).text).toContain('\u2192');
  });

  it('says how many were held back, in the text and in the context', () => {
    const p = format(alert({ heldBack: 3 }));
    expect(p.text).toBe('Failover detected: pool changed blue → green (3 more held back by cooldown)');
    expect(p.blocks[0].text.text).toBe('Failover detected: pool changed blue → green');
    expect(p.blocks[2].elements.map((e) => e.text)).toContain('3 more held back by cooldown');
  });

  it('replaces a fragment already on the runbook URL', () => {
    const p = format(alert({ kind: 'recovery' }), `${RUNBOOK}#top`);
    expect(p.blocks[2].elements[0]?.text).toBe(`Runbook: ${RUNBOOK}#recovered`);
  });
});

describe('formatSlackMessage fields', () => {
  it('shows pools, releases, the triggering attempt, window shares and time', () => {
    const p = format(alert());
    expect(p.blocks[1].fields.every((f) => f.type === 'mrkdwn')).toBe(true);
    expect(Object.fromEntries(p.blocks[1].fields.map((f) => f.text.split('\n')))).toEqual({
      '*From pool (release)*': 'blue (blue-v1)',
      '*To pool (release)*': 'green (green-v1)',
      '*Upstream status*': '500, 200',
      '*Upstream address*': '172.18.0.3:3000, 172.18.0.4:3000',
      '*Client-visible 5xx*': '0.5% (1 of 200)',
      '*Upstream 5xx*': '7.5% (15 of 200)',
      '*Window*': 'last 200 requests (size 200)',
      '*Top failing upstream*': '172.18.0.3:3000 (15 failed attempts)',
      '*Request*': 'GET /version → 200',
      '*Time*': '2026-11-22T00:06:32.123Z',
    });
  });

  it('shows "-" for everything unknown', () => {
    const p = format(
      alert({
        kind: 'error_rate',
        from: undefined,
        to: undefined,
        fromRelease: undefined,
        toRelease: undefined,
        record: undefined,
        window: window({ topFailingUpstream: undefined }),
        at: Number.NaN,
      }),
    );
    for (const label of ['Upstream status', 'Upstream address', 'Top failing upstream', 'Request', 'Time']) {
      expect(field(p, label)).toBe('-');
    }
    expect(field(p, 'From pool (release)')).toBe('- (-)');
    expect(field(p, 'To pool (release)')).toBe('- (-)');
  });

  it('shows "-" for empty upstream lists and a missing method and path', () => {
    const r = record({ status: 502, method: undefined, path: undefined, upstreamStatuses: [], upstreamAddrs: [] });
    const p = format(alert({ record: r }));
    expect(field(p, 'Upstream status')).toBe('-');
    expect(field(p, 'Upstream address')).toBe('-');
    expect(field(p, 'Request')).toBe('- - → 502');
  });

  it('escapes &, < and > from the log in mrkdwn, but not in the plain-text header', () => {
    const p = format(alert({ from: '<!channel>', to: 'a&b', record: record({ path: '/x?a=1&b=<2>' }) }));
    expect(p.text).toBe('Failover detected: pool changed &lt;!channel&gt; → a&amp;b');
    expect(p.blocks[0].text.text).toBe('Failover detected: pool changed <!channel> → a&b');
    expect(field(p, 'From pool (release)')).toBe('&lt;!channel&gt; (blue-v1)');
    expect(field(p, 'Request')).toBe('GET /x?a=1&amp;b=&lt;2&gt; → 200');
    expect(format(alert(), 'https://x/r?a=1&b=2').blocks[2].elements[0]?.text).toBe(
      'Runbook: https://x/r?a=1&amp;b=2#failover-detected',
    );
  });
});

describe('formatSlackMessage Block Kit limits', () => {
  const huge = 'p'.repeat(10_000);

  it('keeps the header within 150 characters', () => {
    const header = format(alert({ from: huge })).blocks[0].text.text;
    expect(header).toHaveLength(150);
    expect(header.endsWith('…')).toBe(true);
    expect(header.startsWith('Failover detected: pool changed ppp')).toBe(true);
  });

  it('keeps at most 10 fields of at most 2000 characters each', () => {
    const addrs = Array.from({ length: 2_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:3000`);
    const p = format(alert({ from: huge, record: record({ path: '&'.repeat(5_000), upstreamAddrs: addrs }) }));
    expect(p.blocks[1].fields.length).toBeLessThanOrEqual(10);
    for (const f of p.blocks[1].fields) expect(f.text.length).toBeLessThanOrEqual(2000);
    expect(field(p, 'Upstream address')?.endsWith('…')).toBe(true);
  });

  it('never cuts inside an entity or a surrogate pair', () => {
    for (let pad = 0; pad < 6; pad++) {
      const path = `${'x'.repeat(pad)}${'&'.repeat(1_000)}`;
      const text = field(format(alert({ record: record({ path }) })), 'Request') ?? '';
      expect(text).toMatch(/^GET x*(&amp;)+…$/);
    }
    for (let pad = 0; pad < 2; pad++) {
      const text = field(format(alert({ from: `${'x'.repeat(pad)}${'😀'.repeat(1_500)}` })), 'From pool (release)') ?? '';
      expect(text.length).toBeLessThanOrEqual(2000);
      expect(text).toMatch(/^x*(😀)+…$/u);
    }
  });

  it('is a pure function of its input', () => {
    const a = alert({ heldBack: 2 });
    const before = structuredClone(a);
    expect(format(a)).toEqual(format(a));
    expect(a).toEqual(before);
  });
});
