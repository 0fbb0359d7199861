import { describe, expect, it } from 'vitest';
import { drillReleaseIds, startingVersions } from '../../bench/drill/releasePhases.js';
import { loadStackSettings } from '../../ops/stack/index.js';
import { releaseId } from '../../watcher/history.js';

describe('drill releases', () => {
  it('names its two releases after the time, within the release id rule', () => {
    const ids = drillReleaseIds(new Date(Date.UTC(2026, 10, 22, 1, 2, 3, 456)));
    expect(ids).toEqual({ good: 'drill-20261122010203-ok', bad: 'drill-20261122010203-bad' });
    for (const id of Object.values(ids)) expect(releaseId.safeParse(id).success).toBe(true);
  });

  it('remembers the image and release each pool ran, the default image for a pool without its own', () => {
    const loaded = loadStackSettings({ ENV_FILE: '/nonexistent/.env', IMAGE_TAG: 't1', GREEN_IMAGE: 'reg/app:9', RELEASE_ID_BLUE: 'b1', RELEASE_ID_GREEN: 'g1' });
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    expect(startingVersions(loaded.config)).toEqual({
      blue: { image: 'bluegreen-node:t1', release: 'b1' },
      green: { image: 'reg/app:9', release: 'g1' },
    });
  });
});
