// The drain recipe's wait (scripts/lib/envoy.ts drainWaitMs), from envoy.yaml's plugin configs.

import { describe, expect, it } from 'vitest';
import { devOverlay, drainWaitMs, loadEnvoyYaml } from '../../scripts/lib/envoy.js';

describe('drain recipe wait', () => {
  it('without partial publishing: flush + two windows (window end + offset) + a tick + the call timeout', () => {
    expect(drainWaitMs(loadEnvoyYaml())).toBe(1000 + 2 * 60_000 + 1000 + 10_000);
  });

  it('with a partial-publish interval: flush + that interval + a tick + the call timeout', () => {
    const config = devOverlay(loadEnvoyYaml(), {
      receiver: { partial_publish_interval_millisecond: 10_000, http_request_timeout_millisecond: 3000 },
      sender: { flush_interval_millisecond: 500 },
    });
    expect(drainWaitMs(config)).toBe(500 + 10_000 + 1000 + 3000);
  });
});
