// The proxy benchmark's static copy of Nginx must be main's template before
// the run-time choice of the serving pool, built from the template as it is:
// one proxy_pass changed and the per-request block removed, nothing else.
import { describe, expect, it } from 'vitest';
import { DYNAMIC_PROXY_PASS, staticTemplate } from '../../bench/proxy/nginxCopy.js';
import { readTemplate } from '../watcher/core/nginxTemplate.js';

describe('staticTemplate', () => {
  const template = readTemplate();

  it('fixes proxy_pass on the pool and drops the block that chooses it per request', () => {
    const fixed = staticTemplate(template, 'green');
    expect(fixed).toContain('proxy_pass http://green_primary;');
    expect(fixed).not.toContain(DYNAMIC_PROXY_PASS);
    expect(fixed).not.toMatch(/\$bg_upstream (blue|green)_primary;|if \(-f/);
    // The variable X-Serving-Pool reads, now a constant, evaluated only where used.
    expect(fixed.split('\n')[0]).toBe('map "" $bg_upstream { default green_primary; }');
    // Only those lines differ: the rest of the template is kept, in order.
    const kept = fixed.split('\n');
    const removed = template.split('\n').filter((line) => !kept.includes(line));
    expect(removed.every((line) => line.trim() === '' || /^\s*(#|set \$bg_upstream|if \(-f|\}|proxy_pass)/.test(line)), removed.join('\n')).toBe(true);
    expect(removed.filter((line) => /^\s*(set|if)/.test(line))).toHaveLength(3);
  });

  it('refuses a template whose run-time choice it cannot find', () => {
    expect(() => staticTemplate(template.replace(DYNAMIC_PROXY_PASS, 'proxy_pass http://x;'), 'blue')).toThrow(/0 lines "proxy_pass/);
    expect(() => staticTemplate(template.replace('# END run-time choice', '# end'), 'blue')).toThrow(/0 lines "# END/);
  });
});
