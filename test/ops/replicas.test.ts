// docker inspect's lines as the replica finder reads them; the finder itself
// runs against the real stack in test/e2e/replicas.test.ts.
import { describe, expect, it } from 'vitest';
import { parseReplicas } from '../../ops/stack/replicas.js';

describe('parseReplicas', () => {
  it('reads index, container, state, address and port, by index, with nothing for what a stopped replica lacks', () => {
    const out = '2|bluegreen-app_blue-2|exited||\n1|bluegreen-app_blue-1|healthy|172.19.0.7|8183\n\n';
    expect(parseReplicas(out)).toEqual([
      { index: 1, container: 'bluegreen-app_blue-1', state: 'healthy', address: '172.19.0.7', port: 8183 },
      { index: 2, container: 'bluegreen-app_blue-2', state: 'exited', address: undefined, port: undefined },
    ]);
  });

  it('refuses a line it cannot read, naming it', () => {
    expect(() => parseReplicas('Error response from daemon\n')).toThrow(/unexpected line "Error response from daemon"/);
  });
});
