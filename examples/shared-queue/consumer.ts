// The consumer half of a shared-queue pair: a singleton service VM that owns the queue
// "example_paths", drains it whenever it is ready, logs each message and counts them in the
// counter `example.paths_seen` (in Envoy's /stats as wasmcustom.example.paths_seen).

import { definePlugin, RootContext, type Counter } from '../../src/sdk/index.js';

const QUEUE_NAME = 'example_paths';

class Consumer extends RootContext {
  private queueId = 0;
  private seen: Counter | undefined;

  override onVmStart(): boolean {
    this.queueId = this.registerSharedQueue(QUEUE_NAME);
    this.seen = this.defineCounter('example.paths_seen');
    return true;
  }

  override onQueueReady(queueId: number): void {
    if (queueId !== this.queueId) return;
    for (let message = this.dequeueSharedQueueString(queueId); message !== undefined; message = this.dequeueSharedQueueString(queueId)) {
      this.log.info(`shared-queue consumer: got ${message}`);
      this.seen?.increment();
    }
  }
}

export default definePlugin({ name: 'shared-queue-consumer', root: Consumer });
